"""Web pages. Each view: check access, validate a form, call one function, respond."""
import datetime
import io

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent, ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from faces.errors import ImageError

from attendance import access
from attendance import crops
from attendance.roster import learning
from attendance.registers import register
from attendance import renditions
from attendance.reports import building as reports
from attendance.registers import review
from attendance.registers import sessions
from attendance.wiring import signin
from attendance.registers import timetable
from attendance.roster import consent as consents
from attendance.wiring import health as health_checks
from attendance.roster.enrolment import (
    add_enrolment_photos,
    enrol_from_zip,
    enrol_student,
    resolve_duplicate,
)
from attendance.web.forms import (
    ClassPhotoUploadForm,
    ConsentForm,
    DuplicateDecisionForm,
    EnrolmentPhotosForm,
    FaceDecisionForm,
    RecordStatusForm,
    RegisterDateForm,
    RegisterForm,
    ReportRangeForm,
    SchoolClassForm,
    SessionForm,
    StudentEnrolForm,
    WithdrawConsentForm,
    ZipEnrolForm,
    decidable_roster,
)
from attendance.dates import parse_school_date
from attendance.wiring.job_queue import QueueUnavailable
from attendance.models import ClassPhoto, Consent, DetectedFace, EnrolmentPhoto, LearntTemplate
from attendance.roster.zip_enrolment import ZipEnrolmentError


@login_required
def home(request):
    classes = access.report_classes(request.user).select_related("teacher")
    # "Today": the timetabled periods of the classes the user teaches, taken or not.
    today = timezone.localdate()
    taught = access.taught_classes(request.user)
    has_timetable = taught.filter(periods__isnull=False).exists()
    return render(request, "attendance/home.html", {
        "classes": classes, "today": today, "has_timetable": has_timetable,
        "today_registers": timetable.registers_on(today, taught) if has_timetable else [],
        "day_off": timetable.day_off(today) if has_timetable else None,
    })


@login_required
def class_create(request):
    access.require_school_admin(request.user)
    form = SchoolClassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        school_class = form.save()
        messages.success(request, f"Class {school_class.name} created.")
        return redirect("class_detail", school_class.pk)
    return render(request, "attendance/class_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def class_detail(request, class_id):
    school_class = access.get_class(request.user, class_id)
    return render(request, "attendance/class_detail.html", _class_context(request, school_class))


@login_required
@require_POST
def student_enrol(request, class_id):
    access.require_school_admin(request.user)
    school_class = access.get_class(request.user, class_id)
    form = StudentEnrolForm(request.POST, request.FILES)
    if not form.is_valid():
        return _class_page_with_errors(request, school_class, enrol_form=form)
    try:
        student = enrol_student(school_class, form.cleaned_data["name"], form.cleaned_data["photos"],
                                consent=form.consent(), user=request.user)
    except QueueUnavailable as exc:
        form.add_error(None, queue_error(exc))
        return _class_page_with_errors(request, school_class, enrol_form=form)
    if form.cleaned_data["photos"]:
        messages.success(request, f"{student.name} added; their photos are being processed.")
    else:
        messages.success(request, f"{student.name} added without face recognition: registered by hand.")
    return redirect("class_detail", school_class.pk)


@login_required
@require_POST
def roster_zip(request, class_id):
    access.require_school_admin(request.user)
    school_class = access.get_class(request.user, class_id)
    form = ZipEnrolForm(request.POST, request.FILES)
    if not form.is_valid():
        return _class_page_with_errors(request, school_class, zip_form=form)
    try:
        students = enrol_from_zip(school_class, form.cleaned_data["archive"], consent=form.consent(),
                                  user=request.user)
    except ZipEnrolmentError as exc:
        form.add_error("archive", str(exc))
        return _class_page_with_errors(request, school_class, zip_form=form)
    except QueueUnavailable as exc:
        form.add_error(None, queue_error(exc))
        return _class_page_with_errors(request, school_class, zip_form=form)
    count = f"{len(students)} student{'s' if len(students) != 1 else ''}"
    messages.success(request, f"{count} added or updated from the zip; photos are being processed.")
    return redirect("class_detail", school_class.pk)


def _class_page_with_errors(request, school_class, **forms):
    return render(request, "attendance/class_detail.html", _class_context(request, school_class, **forms),
                  status=max(_form_status(form) for form in forms.values()))


def _class_context(request, school_class, **forms):
    students = list(school_class.students.select_related("consent").prefetch_related("photos"))
    return {
        "school_class": school_class,
        "students": students,
        "has_pending": any(p.is_pending for s in students for p in s.photos.all()),
        "sessions": school_class.sessions.all()[:20],
        "is_admin": access.is_school_admin(request.user),
        "enrol_form": StudentEnrolForm(),
        "zip_form": ZipEnrolForm(),
        "register_form": SessionForm(auto_id="register_%s"),
        **forms,
    }


@login_required
def student_detail(request, student_id):
    student = access.get_student(request.user, student_id)
    form = EnrolmentPhotosForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        access.require_school_admin(request.user)
        if form.is_valid():
            try:
                add_enrolment_photos(student, form.cleaned_data["photos"], user=request.user)
            except QueueUnavailable as exc:
                form.add_error(None, queue_error(exc))
            except consents.ConsentMissing as exc:
                form.add_error("photos", str(exc))
            else:
                messages.success(request, "Photos added; they are being processed.")
                return redirect("student_detail", student.pk)
    return _student_page(request, student, form=form)


def _student_page(request, student, **forms):
    context = {
        "student": student,
        "consent": Consent.objects.filter(student=student).select_related("recorded_by").first(),
        "photos": student.photos.all(),
        "templates": access.visible_templates(request.user, student).select_related("source_session", "confirmed_by"),
        "template_limit": settings.TEMPLATE_MAX_PER_STUDENT,
        "drift": learning.drift(student),
        "consent_scope": consents.CONSENT_SCOPE,
        "records": reports.student_history(student, access.visible_classes(request.user)),
        "is_admin": access.is_school_admin(request.user),
        "form": EnrolmentPhotosForm(),
        "consent_form": ConsentForm(),
        "withdraw_form": WithdrawConsentForm(),
        **forms,
    }
    return render(request, "attendance/student_detail.html", context,
                  status=max([_form_status(form) for form in forms.values()] or [200]))


@login_required
@require_POST
def consent_record(request, student_id):
    """A school admin records (or replaces) a student's consent to face recognition."""
    access.require_school_admin(request.user)
    student = access.get_student(request.user, student_id)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        return _student_page(request, student, consent_form=form)
    consents.record_consent(student, user=request.user, **form.consent())
    messages.success(request, f"Consent recorded for {student.name}; enrolment photos can now be added.")
    return redirect("student_detail", student.pk)


@login_required
@require_POST
def consent_withdraw(request, student_id):
    """A school admin withdraws consent: the student's photos and face data go at once."""
    access.require_school_admin(request.user)
    student = access.get_student(request.user, student_id)
    form = WithdrawConsentForm(request.POST)
    if not form.is_valid():
        return _student_page(request, student, withdraw_form=form)
    try:
        deleted = consents.withdraw_consent(student, request.user)
    except consents.ConsentMissing:
        messages.error(request, f"No consent is recorded for {student.name}; nothing was changed.")
    else:
        messages.success(request, f"Consent withdrawn: {deleted} photo(s) and all face data of {student.name} "
                                  "deleted. They are now registered by hand.")
    return redirect("student_detail", student.pk)


@login_required
def session_upload(request, class_id):
    school_class = access.get_class(request.user, class_id)
    # "Add another photo" links here with the session's date and period filled in.
    initial = {key: request.GET[key] for key in ("date", "period") if request.GET.get(key)}
    if refused := _refuse_linked_date(request, initial.get("date")):
        return refused
    offer = timetable.upload_offer(school_class, initial.get("date"))
    form = ClassPhotoUploadForm(request.POST or None, request.FILES or None, initial=initial,
                                periods=offer.periods, period_names=offer.period_names, preselect=offer.preselect)
    if request.method == "POST" and form.is_valid():
        try:
            session, _ = sessions.upload_class_photos(
                school_class, form.cleaned_data["date"], form.cleaned_data["period"],
                form.cleaned_data["photos"], request.user,
            )
        except QueueUnavailable as exc:
            form.add_error(None, queue_error(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("session_detail", session.pk)
    context = {"school_class": school_class, "form": form, "offer": offer}
    return render(request, "attendance/session_upload.html", context, status=_form_status(form))


def _refuse_linked_date(request, date_text: str | None):
    """A 400 page naming the problem when a link's ``?date=`` (filling in a form) is not a
    date in ``dates.FIRST_DATE``..``LAST_DATE``; None when it is, or is absent."""
    if not date_text:
        return None
    try:
        parse_school_date(date_text)
    except ValueError as exc:
        return render(request, "400.html", {"reason": f"The date in this link is refused: {exc} Nothing was saved."},
                      status=400)
    return None


@login_required
@require_GET
def untaken_registers(request):
    """Today's (or ?date=) timetabled periods of every class whose register is not taken."""
    access.require_registers_overview(request.user)
    form = RegisterDateForm({"date": request.GET.get("date") or timezone.localdate().isoformat()})
    if not form.is_valid():
        return render(request, "attendance/untaken_registers.html", {"form": form}, status=400)
    date = form.chosen_date()
    return render(request, "attendance/untaken_registers.html", {
        "form": form, "date": date, "today": timezone.localdate(),
        "previous_day": date - datetime.timedelta(days=1), "next_day": date + datetime.timedelta(days=1),
        "day_off": timetable.day_off(date), "registers": timetable.untaken_registers(date),
        "timetabled": timetable.has_periods_on(date.weekday()), "no_terms": not timetable.terms_entered(),
    })


def queue_error(exc: QueueUnavailable) -> ValidationError:
    return ValidationError(str(exc), code="queue_unavailable")


def _form_status(form) -> int:
    """200, 400 for a form with errors, 503 when the job queue was down (try again later)."""
    if not form.errors:
        return 200
    return 503 if any(error.code == "queue_unavailable" for error in form.non_field_errors().as_data()) else 400


@login_required
def session_detail(request, session_id):
    session = access.get_session(request.user, session_id)
    return render(request, "attendance/session_detail.html", sessions.session_summary(session))


@login_required
@require_GET
def session_status(request, session_id):
    session = access.get_session(request.user, session_id)
    return JsonResponse(sessions.photo_progress(session))


@login_required
def session_review(request, session_id):
    """One card per face to decide (or, with ?all=1, every face), each with its own buttons."""
    session = access.get_session(request.user, session_id)
    show_all = bool(request.GET.get("all"))
    if show_all:
        faces = list(DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE)
                     .select_related("student", "reviewed_student", "reviewed_by", "photo")
                     .order_by("photo_id", "left", "pk"))
    else:
        decided = (DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE,
                                               undo__isnull=False)
                   .select_related("student", "reviewed_student", "reviewed_by", "photo").order_by("-reviewed_at"))
        faces = review.faces_to_review(session) + list(decided)
    return render(request, "attendance/session_review.html", {
        **sessions.session_summary(session), "faces": faces, "show_all": show_all,
        "roster": list(decidable_roster(session.school_class).values()),
        "reference_students": _reference_students({f.student_id for f in faces} - {None}),
    })


def _reference_students(student_ids) -> set[int]:
    """The students with a reference face to show beside a face (an enrolment photo or a template)."""
    with_photo = EnrolmentPhoto.objects.filter(student_id__in=student_ids, status=EnrolmentPhoto.READY)
    with_template = LearntTemplate.objects.filter(student_id__in=student_ids)
    return set(with_photo.values_list("student_id", flat=True)) | set(with_template.values_list("student_id", flat=True))


def _back_to_review(request, face):
    """Back to the review page (keeping ?all=1), at the face just decided."""
    url = reverse("session_review", args=[face.photo.session_id])
    return redirect(f"{url}{'?all=1' if request.POST.get('all') else ''}#face-{face.pk}")


@login_required
@require_POST
def face_review(request, face_id):
    """A person's answer for one face (one tap: each button posts its own form)."""
    face = access.get_face(request.user, face_id)
    form = FaceDecisionForm(request.POST, face=face)
    if not form.is_valid():
        messages.error(request, form.errors["student"][0])
        return _back_to_review(request, face)
    return _answer(request, face, lambda: review.decide_face(face, request.user, form.cleaned_data["student"]),
                   "Saved. Register updated for {names}.", "Saved. The register did not need to change.")


@login_required
@require_POST
def face_undo(request, face_id):
    face = access.get_face(request.user, face_id)
    return _answer(request, face, lambda: review.undo_decision(face, request.user),
                   "Answer undone. Register put back for {names}.", "Answer undone.")


def _answer(request, face, operation, changed: str, unchanged: str):
    """Run a review operation (it returns the students whose record changed), say what it
    did or why it could not, and go back to the face on the review page."""
    try:
        students = operation()
    except review.ReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, changed.format(names=", ".join(s.name for s in students)) if students
                         else unchanged)
    return _back_to_review(request, face)


@login_required
@require_POST
def session_confirm(request, session_id):
    """"This register is right": one tap, with who and when."""
    session = access.get_session(request.user, session_id)
    try:
        templates = review.confirm_register(session, request.user)
    except register.RegisterError as exc:
        messages.error(request, str(exc))
    else:
        learnt = len(templates)
        messages.success(request, "Register confirmed." + (
            f" {learnt} face{'s' if learnt != 1 else ''} will help recognise {'these' if learnt != 1 else 'this'} "
            f"student{'s' if learnt != 1 else ''} next time." if learnt else ""))
    return redirect("session_detail", session.pk)


@login_required
@require_POST
def record_set(request, session_id, student_id):
    session = access.get_session(request.user, session_id)
    student = get_object_or_404(session.school_class.students, pk=student_id)
    form = RecordStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown attendance code. Nothing was saved.")
    try:
        record = register.set_record(session, student, form.cleaned_data["status"], request.user,
                                     reason=form.cleaned_data["reason"])
    except register.RegisterError as exc:
        return HttpResponseBadRequest(f"{exc} Nothing was saved.")
    label = dict(form.fields["status"].choices)[record.status]
    messages.success(request, f"{student.name} marked {label.lower() if label.lower() == record.status else label}.")
    return redirect("session_detail", session.pk)


@login_required
def session_register(request, session_id):
    """The manual register: every rostered student with a code and a reason, in one form.

    Saves the rows the person changed (``register.save_register``: one transaction, each
    change audit logged); any error: 400, nothing saved."""
    session = access.get_session(request.user, session_id)
    form = RegisterForm(request.POST if request.method == "POST" else None, session=session)
    if request.method == "POST" and form.is_valid():
        try:
            count = register.save_register(session, form.changes(), request.user)
        except register.RegisterError as exc:
            form.add_error(None, f"{exc} Nothing was saved.")
        else:
            messages.success(request, f"Register saved: {count} student{'s' if count != 1 else ''} changed."
                             if count else "Register saved: nothing needed to change.")
            return redirect("session_detail", session.pk)
    context = {"session": session, "form": form, "rows": form.rows(),
               "codes": [c for c in form.codes.values() if c.active],
               "has_photos": session.photos.exists() or session.photos_deleted_at is not None}
    return render(request, "attendance/session_register.html", context, status=400 if form.errors else 200)


@login_required
def register_by_hand(request, class_id):
    """Open (or create) the session for a date and period without a photo, and go to its
    manual register."""
    school_class = access.get_class(request.user, class_id)
    initial = {key: request.GET[key] for key in ("date", "period") if request.GET.get(key)}
    if refused := _refuse_linked_date(request, initial.get("date")):
        return refused
    form = SessionForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        session = sessions.get_or_create_session(school_class, form.cleaned_data["date"],
                                                 form.cleaned_data["period"], request.user)
        return redirect("session_register", session.pk)
    return render(request, "attendance/register_new.html", {"school_class": school_class, "form": form},
                  status=_form_status(form))


@login_required
@require_POST
def enrolment_photo_resolve(request, photo_id):
    access.require_school_admin(request.user)
    photo = access.get_enrolment_photo(request.user, photo_id)
    form = DuplicateDecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choose keep or delete.")
    if not resolve_duplicate(photo, form.cleaned_data["keep"], user=request.user):
        messages.error(request, "This photo is not waiting for a decision; nothing was changed.")
    else:
        messages.success(request, "Photo kept as ready." if form.cleaned_data["keep"] else "Photo deleted.")
    return redirect("student_detail", photo.student_id)


@login_required
@require_GET
def face_crop(request, face_id):
    face = access.get_face(request.user, face_id)
    try:  # a photo still being processed is never decoded here (the worker stores its crops)
        return _private_jpeg(crops.face_crop_jpeg(face, make=face.photo.is_finished))
    except (renditions.NotReady, renditions.Busy) as exc:
        return _try_again(exc)


@login_required
@require_GET
def student_face(request, student_id):
    """The student's reference face for the review page: their first ready enrolment
    photo's face, else their latest learnt template's crop the user may see (``access.get_template``'s
    rule; 404 when neither exists)."""
    student = access.get_student(request.user, student_id)
    photo = student.photos.filter(status=EnrolmentPhoto.READY).order_by("pk").first()
    if photo is not None:
        try:
            return _private_jpeg(crops.enrolment_face_jpeg(photo))
        except renditions.Busy as exc:
            return _try_again(exc)
    template = access.visible_templates(request.user, student).order_by("-learnt_at").first()
    if template is None:
        return HttpResponse("No reference photo.", status=404, content_type="text/plain")
    with template.crop.open("rb") as fh:
        return _private_jpeg(fh.read())


@login_required
@require_GET
def template_crop(request, template_id):
    template = access.get_template(request.user, template_id)
    with template.crop.open("rb") as fh:
        return _private_jpeg(fh.read())


@login_required
@require_POST
def template_remove(request, template_id):
    """An admin removes a learnt template (row and crop; the faces it matched are flagged)."""
    access.require_school_admin(request.user)
    template = access.get_template(request.user, template_id)
    flagged = learning.remove_template(template, request.user, "removed by an admin on the student page")
    messages.success(request, "Learnt face removed." + (
        f" {flagged} recognition{'s' if flagged != 1 else ''} that relied on it {'are' if flagged != 1 else 'is'} "
        "flagged for review." if flagged else ""))
    return redirect("student_detail", template.student_id)


def _try_again(exc) -> HttpResponse:
    """503 with Retry-After for a photo or crop not ready yet (``renditions.NotReady``: still
    being processed; ``renditions.Busy``: another photo is being prepared): the request does
    not decode it or hold a server thread waiting."""
    response = HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response


def _private_jpeg(data: bytes) -> HttpResponse:
    """A face JPEG for a signed-in, authorised user: never cached by shared proxies."""
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def class_photo_image(request, photo_id):
    photo = access.get_class_photo(request.user, photo_id)
    return _photo_response(photo.image, renditions.CLASS_PHOTO_DISPLAY_PX, photo.is_finished)


@login_required
@require_GET
def enrolment_photo_image(request, photo_id):
    photo = access.get_enrolment_photo(request.user, photo_id)
    return _photo_response(photo.image, renditions.ENROLMENT_PHOTO_DISPLAY_PX, not photo.is_pending)


def _photo_response(field_file, max_side: int, finished: bool):
    """The photo's stored upright JPEG (``renditions``, made once): its bytes, or with
    ``PHOTO_SENDFILE`` a header telling the web server which file to send. A photo not
    ``finished`` processing is never decoded here (503 until the worker stored its
    rendition), nor is any photo while another is decoded for longer than
    ``renditions.DECODING_WAIT_SECONDS`` (503)."""
    try:
        if settings.PHOTO_SENDFILE:
            name = renditions.stored_rendition(field_file, max_side, make=finished)
            response = HttpResponse(content_type="image/jpeg")
            if settings.PHOTO_SENDFILE == "x-accel-redirect":
                response["X-Accel-Redirect"] = settings.PHOTO_SENDFILE_PREFIX + name
            else:
                response["X-Sendfile"] = field_file.storage.path(name)
        else:
            response = HttpResponse(renditions.rendition_bytes(field_file, max_side, make=finished),
                                    content_type="image/jpeg")
    except (renditions.NotReady, renditions.Busy) as exc:
        return _try_again(exc)
    except (ImageError, FileNotFoundError):
        return HttpResponse("This photo cannot be shown: its file is missing or unreadable.",
                            status=404, content_type="text/plain")
    # Photos of children: never cached by shared proxies, never sniffed as another type.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _report_range(request) -> tuple[ReportRangeForm, reports.DateRange]:
    """The date range a report page or download covers: the one asked for (?from=&to=),
    else (none asked for, or a wrong one) the default (the current term, else all dates).
    A wrong one leaves the form's errors: the page shows them with the default, HTTP 400."""
    if "from" in request.GET or "to" in request.GET:
        form = ReportRangeForm(request.GET)
        if form.is_valid():
            return form, reports.DateRange(form.cleaned_data["from"], form.cleaned_data["to"])
        return form, reports.default_range()
    date_range = reports.default_range()
    return ReportRangeForm(initial={"from": date_range.start, "to": date_range.end}), date_range


class _WrongRange(Exception):
    """A download asked for a wrong range (?from=&to=): answered 400 with the form's errors."""

    def __init__(self, form):
        super().__init__("; ".join(m for messages in form.errors.values() for m in messages))


def _download_range(request) -> reports.DateRange:
    """The range of a CSV or XLSX download; raises _WrongRange for a wrong one (never a
    file of another range than asked)."""
    form, date_range = _report_range(request)
    if form.errors:
        raise _WrongRange(form)
    return date_range


def _wrong_range_response(exc: _WrongRange) -> HttpResponse:
    return HttpResponse(f"Wrong date range: {exc}", status=400, content_type="text/plain; charset=utf-8")


def _range_query(date_range: reports.DateRange) -> str:
    """The query string giving a download the page's range."""
    return urlencode({"from": date_range.start or "", "to": date_range.end or ""})


def _report_filename(name: str, fallback, date_range: reports.DateRange, extension: str) -> str:
    parts = ["attendance", slugify(name) or str(fallback), date_range.slug()]
    return "-".join(p for p in parts if p) + "." + extension


@login_required
def class_report(request, class_id):
    school_class = access.get_class_for_report(request.user, class_id)
    form, date_range = _report_range(request)
    report = reports.class_report(school_class, date_range)
    return render(request, "attendance/class_report.html", {
        "school_class": school_class, "report": report, "sessions": report.sessions, "rows": report.rows,
        "codes": report.codes, "form": form, "range_query": _range_query(date_range),
        "threshold": reports.threshold(), "chart_data": report.chart_data(), "days": report.rate_by_date(),
    }, status=_form_status(form))


@login_required
def class_report_csv(request, class_id):
    school_class = access.get_class_for_report(request.user, class_id)
    try:
        date_range = _download_range(request)
    except _WrongRange as exc:
        return _wrong_range_response(exc)
    out = io.StringIO()
    reports.write_class_csv(out, reports.class_report(school_class, date_range))
    return _csv_response(out.getvalue(), _report_filename(school_class.name, school_class.pk, date_range, "csv"))


@login_required
def class_report_xlsx(request, class_id):
    school_class = access.get_class_for_report(request.user, class_id)
    try:
        date_range = _download_range(request)
    except _WrongRange as exc:
        return _wrong_range_response(exc)
    return _xlsx_response(reports.class_xlsx(reports.class_report(school_class, date_range)),
                          _report_filename(school_class.name, school_class.pk, date_range, "xlsx"))


@login_required
def student_report(request, student_id):
    """A student's attendance over a date range, in the classes whose reports the user reads."""
    student = access.get_student_for_report(request.user, student_id)
    form, date_range = _report_range(request)
    report = reports.student_report(student, access.report_classes(request.user), date_range)
    return render(request, "attendance/student_report.html", {
        "student": student, "report": report, "form": form, "range_query": _range_query(date_range),
        "threshold": reports.threshold(), "chart_data": report.chart_data(),
        "can_open_sessions": access.role(request.user) != "office",
    }, status=_form_status(form))


@login_required
def student_report_csv(request, student_id):
    student = access.get_student_for_report(request.user, student_id)
    try:
        date_range = _download_range(request)
    except _WrongRange as exc:
        return _wrong_range_response(exc)
    out = io.StringIO()
    reports.write_student_csv(out, reports.student_history(student, access.report_classes(request.user), date_range))
    return _csv_response(out.getvalue(), _report_filename(student.name, student.pk, date_range, "csv"))


@login_required
def student_report_xlsx(request, student_id):
    student = access.get_student_for_report(request.user, student_id)
    try:
        date_range = _download_range(request)
    except _WrongRange as exc:
        return _wrong_range_response(exc)
    report = reports.student_report(student, access.report_classes(request.user), date_range)
    return _xlsx_response(reports.student_xlsx(report), _report_filename(student.name, student.pk, date_range, "xlsx"))


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_response(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def health(request):
    """Database, job queue and worker reachability for monitoring: 200 when all answer, else 503."""
    result = health_checks.check_health()
    response = JsonResponse(result, status=200 if health_checks.is_healthy(result) else 503)
    response["Cache-Control"] = "no-store"
    return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """/password/: Django's form, throttled like sign-in (attendance/wiring/signin.py).

    Wrong old passwords count per user; after settings.LOGIN_FAILURE_LIMIT within
    LOGIN_COOLOFF_MINUTES the form is refused with 429, even with the right one. A change
    revokes the user's API tokens (attendance.wiring.signin, on every path that saves a password).
    """

    success_url = "/"

    def post(self, request, *args, **kwargs):
        refusal = signin.password_change_refusal(request.user)
        if refusal:
            return signin.refused_response(request, refusal)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error("old_password", "password_incorrect"):
            signin.record_failure(self.request, signin.PASSWORD_CHANGE, self.request.user.get_username())
            refusal = signin.password_change_refusal(self.request.user)
            if refusal:
                return signin.refused_response(self.request, refusal)
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        signin.clear_failures(self.request, signin.PASSWORD_CHANGE, self.request.user.get_username())
        messages.success(self.request, "Password changed. Any API tokens of yours were revoked: ask an admin "
                                       "for a new one if you use the API.")
        return response


def bad_request(request, exception):
    """The 400 page (handler400), naming the problem for the limits a person can run into."""
    status, reason = 400, ""
    if isinstance(exception, TooManyFilesSent):
        reason = (f"Too many files in one upload: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} at a time. "
                  "Nothing was saved; upload them in smaller groups.")
    elif isinstance(exception, TooManyFieldsSent):
        reason = "The form sent too many fields. Nothing was saved."
    elif isinstance(exception, RequestDataTooBig):
        status, reason = 413, "The form sent too much data. Nothing was saved."
    return render(request, "400.html", {"reason": reason}, status=status)
