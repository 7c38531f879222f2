"""Roster pages: classes, students, enrolment (one by one or from a zip), consent, and an
enrolment photo's duplicate decision and learnt faces' removal."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_POST

from attendance import access
from attendance.roster import learning
from attendance.reports import building
from attendance.roster import consent as consents
from attendance.roster.enrolment import (
    StudentAmbiguous,
    add_enrolment_photos,
    enrol_from_zip,
    enrol_student,
    resolve_duplicate,
)
from attendance.web.forms import (
    AddStudentsForm,
    ConsentForm,
    RosterChangeForm,
    DuplicateDecisionForm,
    EnrolmentPhotosForm,
    SchoolClassForm,
    SessionForm,
    StudentEnrolForm,
    WithdrawConsentForm,
    ZipEnrolForm,
)
from attendance.wiring.job_queue import QueueUnavailable
from attendance.wiring.photo_store import store_health
from attendance.models import Consent, SchoolClass
from attendance.roster import membership
from attendance.roster.zip_enrolment import ZipEnrolmentError
from attendance.web.views.common import form_status, queue_error


@login_required
def class_create(request):
    access.require_school_admin(request.user)
    form = SchoolClassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        school_class = form.save_class(request.user)
        messages.success(request, _("Class %(name)s created.") % {"name": school_class.name})
        return redirect("class_detail", school_class.pk)
    return render(request, "attendance/class_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def class_edit(request, class_id):
    """A school admin changes a class's name, school id, teacher and co-teachers."""
    access.require_school_admin(request.user)
    school_class = access.get_class(request.user, class_id)
    form = SchoolClassForm(request.POST or None, instance=school_class)
    if request.method == "POST" and form.is_valid():
        form.save_class(request.user)
        messages.success(request, _("Class %(name)s saved.") % {"name": school_class.name})
        return redirect("class_detail", school_class.pk)
    return render(request, "attendance/class_form.html", {"form": form, "school_class": school_class},
                  status=400 if form.errors else 200)


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
                                consent=form.consent(), user=request.user, school_id=form.cleaned_data["school_id"])
    except QueueUnavailable as exc:
        form.add_error(None, queue_error(exc))
        return _class_page_with_errors(request, school_class, enrol_form=form)
    except (StudentAmbiguous, consents.ConsentMissing) as exc:
        form.add_error(None, str(exc))
        return _class_page_with_errors(request, school_class, enrol_form=form)
    if not student.created:
        names = {"name": student.name, "id": student.pk, "class": school_class.name}
        if form.cleaned_data["photos"]:
            messages.success(request, _("%(name)s (#%(id)s) was already in the school: added to %(class)s, with the "
                                        "new photos being processed.") % names)
        else:
            messages.success(request, _("%(name)s (#%(id)s) was already in the school: added to %(class)s.") % names)
    elif form.cleaned_data["photos"]:
        messages.success(request, _("%(name)s added; their photos are being processed.") % {"name": student.name})
    else:
        messages.success(request, _("%(name)s added without face recognition: registered by hand.")
                         % {"name": student.name})
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
        enrolled = enrol_from_zip(school_class, form.cleaned_data["archive"], consent=form.consent(),
                                  user=request.user)
    except ZipEnrolmentError as exc:
        form.add_error("archive", str(exc))
        return _class_page_with_errors(request, school_class, zip_form=form)
    except QueueUnavailable as exc:
        form.add_error(None, queue_error(exc))
        return _class_page_with_errors(request, school_class, zip_form=form)
    text = ngettext("%(count)d student added or updated from the zip; photos are being processed.",
                    "%(count)d students added or updated from the zip; photos are being processed.",
                    len(enrolled.photos)) % {"count": len(enrolled.photos)}
    if enrolled.already:
        text += " " + ngettext("%(count)d photo was left out: already enrolled (the same file).",
                               "%(count)d photos were left out: already enrolled (the same files).",
                               enrolled.already) % {"count": enrolled.already}
    messages.success(request, text)
    return redirect("class_detail", school_class.pk)


def _class_page_with_errors(request, school_class, **forms):
    return render(request, "attendance/class_detail.html", _class_context(request, school_class, **forms),
                  status=max(form_status(form) for form in forms.values()))


def _class_context(request, school_class, **forms):
    students = list(school_class.students.select_related("consent").prefetch_related("photos"))
    is_admin = access.is_school_admin(request.user)
    query = request.GET.get("q", "").strip()[:100] if is_admin else ""
    return {
        "school_class": school_class,
        "co_teachers": list(school_class.co_teachers.all()),
        "students": students,
        "query": query,
        "found": list(membership.search_students(query, exclude_class=school_class).prefetch_related("classes"))
        if query else [],
        "other_classes": SchoolClass.objects.exclude(pk=school_class.pk) if is_admin else [],
        "has_pending": any(p.is_pending for s in students for p in s.photos.all()),
        "sessions": school_class.sessions.all()[:20],
        "is_admin": is_admin,
        "enrol_form": StudentEnrolForm(),
        "zip_form": ZipEnrolForm(),
        "register_form": SessionForm(auto_id="register_%s"),
        **forms,
    }


@login_required
@require_POST
def class_students_add(request, class_id):
    """A school admin puts existing students (ticked from the search) on the class's roster."""
    access.require_school_admin(request.user)
    school_class = access.get_class(request.user, class_id)
    form = AddStudentsForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("students", [_("Tick at least one student to add.")])))
        return redirect("class_detail", school_class.pk)
    added = membership.add_students(school_class, form.cleaned_data["students"], request.user)
    messages.success(request, ngettext("%(count)d student added to %(class)s.",
                                       "%(count)d students added to %(class)s.", len(added))
                     % {"count": len(added), "class": school_class.name})
    return redirect("class_detail", school_class.pk)


@login_required
@require_POST
def class_students_change(request, class_id):
    """A school admin removes ticked students from the roster ("remove", confirmed; their
    records stay) or moves them to another class ("move")."""
    access.require_school_admin(request.user)
    school_class = access.get_class(request.user, class_id)
    moving = request.POST.get("action") == "move"
    form = RosterChangeForm(request.POST, school_class=school_class, moving=moving)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("class_detail", school_class.pk)
    students = list(form.cleaned_data["students"])
    if moving:
        to_class = form.cleaned_data["to_class"]
        try:
            membership.move_students(school_class, to_class, students, request.user)
        except membership.MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, ngettext("%(count)s student moved to %(class)s.",
                                               "%(count)s students moved to %(class)s.", len(students))
                             % {"count": len(students), "class": to_class.name})
    else:
        removed = membership.remove_students(school_class, students, request.user)
        messages.success(request, ngettext(
            "%(count)s student removed from %(class)s; their records, photos and consent are kept.",
            "%(count)s students removed from %(class)s; their records, photos and consent are kept.",
            len(removed)) % {"count": len(removed), "class": school_class.name})
    return redirect("class_detail", school_class.pk)


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
                messages.success(request, _("Photos added; they are being processed."))
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
        "records": building.student_history(student, access.visible_classes(request.user)),
        "is_admin": access.is_school_admin(request.user),
        "form": EnrolmentPhotosForm(),
        "consent_form": ConsentForm(),
        "withdraw_form": WithdrawConsentForm(),
        **forms,
    }
    return render(request, "attendance/student_detail.html", context,
                  status=max([form_status(form) for form in forms.values()] or [200]))


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
    messages.success(request, _("Consent recorded for %(name)s; enrolment photos can now be added.")
                     % {"name": student.name})
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
    if store_health() != "ok":  # the rows would go and the photos stay in the store
        messages.error(request, _("The photo store is not reachable just now, so nothing was deleted and the consent "
                                  "stays recorded. Please try again in a minute; if it keeps happening, tell your IT "
                                  "administrator."))
        return redirect("student_detail", student.pk)
    try:
        deleted = consents.withdraw_consent(student, request.user)
    except consents.ConsentMissing:
        messages.error(request, _("No consent is recorded for %(name)s; nothing was changed.") % {"name": student.name})
    else:
        messages.success(request, ngettext(
            "Consent withdrawn: %(count)s photo and all face data of %(name)s deleted. They are now registered by hand.",
            "Consent withdrawn: %(count)s photos and all face data of %(name)s deleted. They are now registered by hand.",
            deleted) % {"count": deleted, "name": student.name})
    return redirect("student_detail", student.pk)


@login_required
@require_POST
def enrolment_photo_resolve(request, photo_id):
    access.require_school_admin(request.user)
    photo = access.get_enrolment_photo(request.user, photo_id)
    form = DuplicateDecisionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose keep or delete."))
    if not resolve_duplicate(photo, form.cleaned_data["keep"], user=request.user):
        messages.error(request, _("This photo is not waiting for a decision; nothing was changed."))
    else:
        messages.success(request, _("Photo kept as ready.") if form.cleaned_data["keep"] else _("Photo deleted."))
    return redirect("student_detail", photo.student_id)


@login_required
@require_POST
def template_remove(request, template_id):
    """An admin removes a learnt template (row and crop; the faces it matched are flagged)."""
    access.require_school_admin(request.user)
    template = access.get_template(request.user, template_id)
    flagged = learning.remove_template(template, request.user, "removed by an admin on the student page")
    messages.success(request, ngettext(
        "Learnt face removed. %(count)d recognition that relied on it is flagged for review.",
        "Learnt face removed. %(count)d recognitions that relied on it are flagged for review.", flagged)
        % {"count": flagged} if flagged else _("Learnt face removed."))
    return redirect("student_detail", template.student_id)
