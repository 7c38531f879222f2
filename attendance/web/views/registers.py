"""Register pages: uploading class photos, the session page and its progress, the review
of faces, confirming, the manual register and the untaken registers."""
import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_GET, require_POST

from attendance import access
from attendance.registers import register
from attendance.registers import review
from attendance.registers import sessions
from attendance.registers import timetable
from attendance.web.forms import (
    ClassPhotoUploadForm,
    FaceDecisionForm,
    RecordStatusForm,
    RegisterDateForm,
    RegisterForm,
    SessionForm,
    decidable_roster,
)
from attendance.dates import parse_school_date
from attendance.wiring.job_queue import QueueUnavailable
from attendance.models import ClassPhoto, DetectedFace, EnrolmentPhoto, LearntTemplate
from attendance.web import upload_ids
from attendance.web.views.common import form_status, queue_error


@login_required
def session_upload(request, class_id):
    school_class = access.get_class(request.user, class_id)
    # "Add another photo" links here with the session's date and period filled in.
    initial, refused = _linked_initial(request)
    if refused:
        return refused
    if request.method == "POST":
        # A retry of an upload already stored (its response was lost): the same answer.
        stored = upload_ids.stored_session_id(request.session, request.POST.get("upload_id", ""), school_class.pk)
        if stored is not None:
            return redirect("session_detail", stored)
    offer = timetable.upload_offer(school_class, initial.get("date"))
    form = ClassPhotoUploadForm(request.POST or None, request.FILES or None, initial=initial,
                                periods=offer.periods, period_names=offer.period_names, preselect=offer.preselect)
    if request.method == "POST" and form.is_valid():
        try:
            session, _photos = sessions.upload_class_photos(
                school_class, form.cleaned_data["date"], form.cleaned_data["period"],
                form.cleaned_data["photos"], request.user,
            )
        except QueueUnavailable as exc:
            form.add_error(None, queue_error(exc))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            upload_ids.remember(request.session, form.cleaned_data["upload_id"], school_class.pk, session.pk)
            return redirect("session_detail", session.pk)
    context = {"school_class": school_class, "form": form, "offer": offer}
    return render(request, "attendance/session_upload.html", context, status=form_status(form))


def _linked_initial(request) -> tuple[dict, HttpResponse | None]:
    """A form's date and period filled in by a link (?date=&period=: "Add another photo",
    the registers page), the date read once (``dates.parse_school_date``); with a 400 page
    naming the problem when ``?date=`` is not a date in ``dates.FIRST_DATE``..``LAST_DATE``
    (else None)."""
    initial = {key: request.GET[key] for key in ("date", "period") if request.GET.get(key)}
    if "date" in initial:
        try:
            initial["date"] = parse_school_date(initial["date"])
        except ValueError as exc:
            return initial, render(request, "400.html", {
                "reason": _("The date in this link is refused: %(problem)s Nothing was saved.") % {"problem": exc}},
                status=400)
    return initial, None


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


@login_required
def session_detail(request, session_id):
    session = access.get_session(request.user, session_id)
    return render(request, "attendance/session_detail.html", {
        **sessions.session_summary(session), "roster": list(decidable_roster(session.school_class).values())})


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
    """Back to the page the answer came from, at the face just decided: the session page's
    marked photo (``back=session``), else the review page (keeping ?all=1)."""
    if request.POST.get("back") == "session":
        return redirect(f"{reverse('session_detail', args=[face.photo.session_id])}#photo-face-{face.pk}")
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
                   _("Saved. Register updated for %(names)s."), _("Saved. The register did not need to change."))


@login_required
@require_POST
def face_undo(request, face_id):
    face = access.get_face(request.user, face_id)
    return _answer(request, face, lambda: review.undo_decision(face, request.user),
                   _("Answer undone. Register put back for %(names)s."), _("Answer undone."))


def _answer(request, face, operation, changed: str, unchanged: str):
    """Run a review operation (it returns the students whose record changed), say what it
    did or why it could not, and go back to the face on the review page."""
    try:
        students = operation()
    except review.ReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, changed % {"names": _(", ").join(s.name for s in students)} if students
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
        messages.success(request, ngettext(
            "Register confirmed. %(count)d face will help recognise this student next time.",
            "Register confirmed. %(count)d faces will help recognise these students next time.", learnt)
            % {"count": learnt} if learnt else _("Register confirmed."))
    return redirect("session_detail", session.pk)


@login_required
@require_POST
def record_set(request, session_id, student_id):
    session = access.get_session(request.user, session_id)
    student = get_object_or_404(session.school_class.students, pk=student_id)
    form = RecordStatusForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Unknown attendance code. Nothing was saved."))
    try:
        record = register.set_record(session, student, form.cleaned_data["status"], request.user,
                                     reason=form.cleaned_data["reason"])
    except register.RegisterError as exc:
        return HttpResponseBadRequest(_("%(problem)s Nothing was saved.") % {"problem": exc})
    label = dict(form.fields["status"].choices)[record.status]
    messages.success(request, _("%(name)s marked %(status)s.") % {
        "name": student.name, "status": label.lower() if label.lower() == record.status else label})
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
            form.add_error(None, _("%(problem)s Nothing was saved.") % {"problem": exc})
        else:
            messages.success(request, ngettext("Register saved: %(count)d student changed.",
                                               "Register saved: %(count)d students changed.", count)
                             % {"count": count} if count else _("Register saved: nothing needed to change."))
            return redirect("session_detail", session.pk)
    context = {"session": session, "form": form, "rows": form.rows(),
               "codes": [c for c in form.codes.values() if c.active],
               "has_photos": session.photos.exists() or session.photos_deleted_at is not None,
               "anyone_not_taken": form.anyone_not_taken()}
    return render(request, "attendance/session_register.html", context, status=400 if form.errors else 200)


@login_required
def register_by_hand(request, class_id):
    """Open (or create) the session for a date and period without a photo, and go to its
    manual register."""
    school_class = access.get_class(request.user, class_id)
    initial, refused = _linked_initial(request)
    if refused:
        return refused
    form = SessionForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        session = sessions.get_or_create_session(school_class, form.cleaned_data["date"],
                                                 form.cleaned_data["period"], request.user)
        return redirect("session_register", session.pk)
    return render(request, "attendance/register_new.html", {"school_class": school_class, "form": form},
                  status=form_status(form))
