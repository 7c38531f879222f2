"""The roster import pages (school admins): upload a roster file, see the preview, import."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from attendance import access
from attendance.roster.imports import uploads
from attendance.roster.imports.applying import ImportRefused, apply_plan
from attendance.roster.imports.preview import preview_import, read_roster
from attendance.roster.imports.reading import RosterFileError
from attendance.web.import_forms import RosterImportForm, RosterUploadForm

#: Refused rows listed on the preview page (a file in the wrong encoding refuses every row;
#: ``manage.py import_roster FILE --dry-run`` lists them all).
REFUSALS_SHOWN = 500


@login_required
def roster_import(request):
    """The upload form; a valid upload is kept and its preview shown (nothing imported yet)."""
    access.require_school_admin(request.user)
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["roster"]
        data = upload.read()
        try:
            read_roster(upload.name, data)  # a file that cannot be read at all is refused here
        except RosterFileError as exc:
            form.add_error("roster", str(exc))
        else:
            return redirect("roster_import_preview", uploads.keep_upload(data, upload.name))
    return render(request, "attendance/roster_import.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def roster_import_preview(request, token):
    """GET: what importing the kept upload would change, and the refused rows; writes nothing.
    POST: imports it (one transaction) and deletes the kept file; or cancels."""
    access.require_school_admin(request.user)
    try:
        name, data = uploads.read_upload(token)
    except uploads.UploadGone as exc:
        raise Http404(str(exc))
    form = RosterImportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and form.cleaned_data["cancel"]:
        uploads.delete_upload(token)
        messages.success(request, "Import cancelled; the uploaded file is deleted.")
        return redirect("roster_import")
    try:
        plan = preview_import(name, data)
    except RosterFileError as exc:  # the limits were lowered since the upload
        uploads.delete_upload(token)
        messages.error(request, str(exc))
        return redirect("roster_import")
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            apply_plan(plan, request.user, skip_bad_rows=form.cleaned_data["skip_bad_rows"], source=name)
        except ImportRefused as exc:
            form.add_error("skip_bad_rows", str(exc))
            status = 400
        else:
            uploads.delete_upload(token)
            messages.success(request, f"Roster imported: {plan.summary()[0]}")
            return redirect("home")
    return render(request, "attendance/roster_import_preview.html",
                  {"plan": plan, "counts": plan.counts(), "form": form, "token": token,
                   "refusals_shown": plan.refusals[:REFUSALS_SHOWN],
                   "refusals_hidden": max(0, len(plan.refusals) - REFUSALS_SHOWN)}, status=status)
