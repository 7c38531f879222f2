"""School-wide imports for school admins: consent in bulk from a CSV and enrolment photos
by school id from a zip. Each: upload -> preview (what every line or file would do, nothing
written; the file kept in ``pending_uploads``) -> "Import" (one function of the roster room
that reads the kept file again)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_POST

from attendance import access
from attendance.models import Student
from attendance.roster import bulk_consent, photo_import
from attendance.roster.consent import ConsentMissing
from attendance.roster.zip_enrolment import ZipEnrolmentError
from attendance.web import pending_uploads
from attendance.web.school_forms import ConsentCsvForm, ImportApplyForm, PhotoZipForm
from attendance.web.views.common import form_status, queue_error
from attendance.wiring.job_queue import QueueUnavailable

CONSENT, PHOTOS = "consent", "photos"


@login_required
def consent_import(request):
    """GET: the upload form. POST: the preview of the uploaded CSV (nothing recorded)."""
    access.require_school_admin(request.user)
    form = ConsentCsvForm(request.POST or None, request.FILES or None)
    plan = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > bulk_consent.MAX_CSV_BYTES:
            form.add_error("file", _("The file is over %(limit)s.")
                           % {"limit": filesizeformat(bulk_consent.MAX_CSV_BYTES)})
        else:
            try:
                plan = bulk_consent.plan_consent_import(upload.read(), upload.name)
            except bulk_consent.ConsentFileError as exc:
                form.add_error("file", str(exc))
            else:
                upload.seek(0)
                try:
                    pending_uploads.keep(request.session, CONSENT, upload, upload.name)
                except QueueUnavailable as exc:  # the photo store is down: no preview to import
                    form.add_error(None, queue_error(exc))
                    plan = None
    return render(request, "attendance/import_consent.html", {
        "form": form, "plan": plan, "apply_form": ImportApplyForm(),
        "refused": plan.of(bulk_consent.REFUSED) if plan else [],
        "upload_token": pending_uploads.token(request.session, CONSENT),
    }, status=form_status(form))


@login_required
@require_POST
@pending_uploads.store_down_redirects("consent_import")
def consent_import_apply(request):
    """Record the consents of the previewed CSV (kept since the preview)."""
    access.require_school_admin(request.user)
    kept = pending_uploads.pending(request.session, CONSENT)
    if kept is not None and pending_uploads.replaced(request.session, CONSENT, request.POST.get("upload", "")):
        messages.error(request, pending_uploads.REPLACED)
        return redirect("consent_import")
    if kept is None:
        messages.error(request, _("No consent file is waiting to be imported: upload it again."))
        return redirect("consent_import")
    form = ImportApplyForm(request.POST)
    form.is_valid()
    name, filename = kept
    with pending_uploads.open_pending(name) as fh:
        data = fh.read()
    try:
        result = bulk_consent.apply_consent_import(data, request.user, filename,
                                                   form.cleaned_data.get("skip_bad_rows", False))
    except (bulk_consent.ConsentFileError, bulk_consent.ImportRefused) as exc:
        messages.error(request, str(exc))
        return redirect("consent_import")
    pending_uploads.discard(request.session, CONSENT)
    recorded, skipped = len(result.recorded), len(result.skipped)
    counts = {"recorded": ngettext("%(count)s student", "%(count)s students", recorded) % {"count": recorded},
              "already": result.already,
              "skipped": ngettext("%(count)s refused line", "%(count)s refused lines", skipped) % {"count": skipped}}
    if result.skipped:
        text = _("Consent recorded for %(recorded)s; %(already)s already recorded; %(skipped)s skipped.")
    else:
        text = _("Consent recorded for %(recorded)s; %(already)s already recorded.")
    messages.success(request, text % counts)
    return redirect("consent_import")


@login_required
def photos_import(request):
    """GET: the upload form and the progress of the last import's photos. POST: the
    preview of the uploaded zip (nothing stored)."""
    access.require_school_admin(request.user)
    form = PhotoZipForm(request.POST or None, request.FILES or None)
    plan = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.MAX_ZIP_BYTES:
            form.add_error("file", _("The zip is over %(limit)s.") % {"limit": filesizeformat(settings.MAX_ZIP_BYTES)})
        else:
            try:
                plan = photo_import.plan_photo_import(upload, upload.name)
            except ZipEnrolmentError as exc:
                form.add_error("file", str(exc))
            else:
                upload.seek(0)
                try:
                    pending_uploads.keep(request.session, PHOTOS, upload, upload.name)
                except QueueUnavailable as exc:  # the photo store is down: no preview to import
                    form.add_error(None, queue_error(exc))
                    plan = None
    imported = list(Student.objects.filter(pk__in=request.session.get("photo_import_students", []))
                    .prefetch_related("photos")) if plan is None else []
    return render(request, "attendance/import_photos.html", {
        "form": form, "plan": plan, "apply_form": ImportApplyForm(),
        "refused": plan.of(photo_import.REFUSED) if plan else [],
        "upload_token": pending_uploads.token(request.session, PHOTOS),
        "imported": imported,
        "has_pending": any(p.is_pending for s in imported for p in s.photos.all()),
    }, status=form_status(form))


@login_required
@require_POST
@pending_uploads.store_down_redirects("photos_import")
def photos_import_apply(request):
    """Store the previewed zip's photos and queue them; then the progress (GET photos_import)."""
    access.require_school_admin(request.user)
    kept = pending_uploads.pending(request.session, PHOTOS)
    if kept is not None and pending_uploads.replaced(request.session, PHOTOS, request.POST.get("upload", "")):
        messages.error(request, pending_uploads.REPLACED)
        return redirect("photos_import")
    if kept is None:
        messages.error(request, _("No zip is waiting to be imported: upload it again."))
        return redirect("photos_import")
    form = ImportApplyForm(request.POST)
    form.is_valid()
    name, filename = kept
    try:
        with pending_uploads.open_pending(name) as fh:
            result = photo_import.apply_photo_import(fh, request.user, filename,
                                                     form.cleaned_data.get("skip_bad_rows", False))
    except (ZipEnrolmentError, photo_import.ImportRefused, ConsentMissing) as exc:
        # ConsentMissing: withdrawn between the check and the storing; nothing was stored.
        messages.error(request, str(exc))
        return redirect("photos_import")
    except QueueUnavailable as exc:
        messages.error(request, queue_error(exc).messages[0])
        return redirect("photos_import")
    pending_uploads.discard(request.session, PHOTOS)
    request.session["photo_import_students"] = [s.pk for s in result.students]
    photos, students, skipped = len(result.photos), len(result.students), len(result.skipped)
    counts = {"photos": ngettext("%(count)s photo", "%(count)s photos", photos) % {"count": photos},
              "students": ngettext("%(count)s student", "%(count)s students", students) % {"count": students},
              "skipped": ngettext("%(count)s refused file", "%(count)s refused files", skipped) % {"count": skipped}}
    if result.skipped:
        text = _("%(photos)s stored for %(students)s; they are being processed; %(skipped)s skipped.")
    else:
        text = _("%(photos)s stored for %(students)s; they are being processed.")
    messages.success(request, text % counts)
    return redirect("photos_import")
