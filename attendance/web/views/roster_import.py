"""The roster import pages (school admins): upload a roster file and see the preview
(nothing written; the file kept with ``web.pending_uploads``, as the other imports do),
then "Import" (or "Cancel")."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from attendance import access
from attendance.roster.imports.applying import ImportRefused, apply_plan
from attendance.roster.imports.preview import preview_import
from attendance.roster.imports.reading import RosterFileError
from attendance.web import pending_uploads
from attendance.web.import_forms import RosterImportForm, RosterUploadForm
from attendance.web.views.common import form_status, queue_error
from attendance.wiring.job_queue import QueueUnavailable

#: The kind of kept upload (``pending_uploads``) of a roster import.
ROSTER = "roster"
#: Refused rows listed on the preview page (a file in the wrong encoding refuses every row;
#: ``manage.py import_roster FILE --dry-run`` lists them all).
REFUSALS_SHOWN = 500


@login_required
def roster_import(request):
    """GET: the upload form. POST: what importing the uploaded file would change, and its
    refused rows; writes nothing but keeps the file for "Import"."""
    access.require_school_admin(request.user)
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["roster"]
        try:
            plan = preview_import(upload.name, upload.read())
        except RosterFileError as exc:
            form.add_error("roster", str(exc))
        else:
            upload.seek(0)
            try:
                pending_uploads.keep(request.session, ROSTER, upload, upload.name)
            except QueueUnavailable as exc:  # the photo store is down: no preview to import
                form.add_error(None, queue_error(exc))
            else:
                return _preview(request, plan, RosterImportForm())
    return render(request, "attendance/roster_import.html", {"form": form}, status=form_status(form))


@login_required
@require_POST
@pending_uploads.store_down_redirects("roster_import")
def roster_import_apply(request):
    """Imports the kept file (read and planned again: the database may have changed since
    the preview) in one transaction, then deletes it; or cancels and deletes it."""
    access.require_school_admin(request.user)
    kept = pending_uploads.pending(request.session, ROSTER)
    if kept is not None and pending_uploads.replaced(request.session, ROSTER, request.POST.get("upload", "")):
        messages.error(request, pending_uploads.REPLACED)
        return redirect("roster_import")
    if kept is None:
        messages.error(request, _("No roster file is waiting to be imported: upload it again."))
        return redirect("roster_import")
    stored, filename = kept
    form = RosterImportForm(request.POST)
    if form.is_valid() and form.cleaned_data["cancel"]:
        pending_uploads.discard(request.session, ROSTER)
        messages.success(request, _("Import cancelled; the uploaded file is deleted."))
        return redirect("roster_import")
    with pending_uploads.open_pending(stored) as fh:
        data = fh.read()
    try:
        plan = preview_import(filename, data)
    except RosterFileError as exc:  # the limits were lowered since the upload
        pending_uploads.discard(request.session, ROSTER)
        messages.error(request, str(exc))
        return redirect("roster_import")
    if form.is_valid():
        try:
            apply_plan(plan, request.user, skip_bad_rows=form.cleaned_data["skip_bad_rows"], source=filename)
        except ImportRefused as exc:
            form.add_error("skip_bad_rows", str(exc))
        else:
            pending_uploads.discard(request.session, ROSTER)
            messages.success(request, _("Roster imported: %(summary)s") % {"summary": plan.summary()[0]})
            return redirect("home")
    return _preview(request, plan, form, status=400)


def _preview(request, plan, form, status=200):
    return render(request, "attendance/roster_import_preview.html",
                  {"plan": plan, "counts": plan.counts(), "form": form,
                   "refusals_shown": plan.refusals[:REFUSALS_SHOWN],
                   "refusals_hidden": max(0, len(plan.refusals) - REFUSALS_SHOWN),
                   "upload_token": pending_uploads.token(request.session, ROSTER)}, status=status)
