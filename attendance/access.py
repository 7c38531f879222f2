"""Who may see what. Every view gets its objects through these helpers.

Roles:
- school admin: a staff user; sees and does everything.
- teacher: any other signed-in user; sees the classes they teach (as the class's teacher
  or one of its co-teachers: co-teaching and cover, with the same rights), those
  classes' students, sessions, photos and reports. Changing a class's roster
  (``roster.membership``) is for school admins.
- office staff: a member of the "Office staff" group; reads every class's reports
  and CSV/XLSX downloads and the untaken registers (to chase them), never a photo, a face
  or a session page.

The roles do not combine: a class's teacher must not be office staff (``check_teacher``,
enforced by the class forms, the admin and the ``enrol`` command; a teacher of a class is
not added to the office staff), and should such a row exist all the same (made before
this rule, or in the database directly) office staff still get no photo, face or session
page of it: the checks below ask the role, not only the class's teacher column.
"""
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext

from attendance.models import ClassPhoto, ClassSession, DetectedFace, EnrolmentPhoto, LearntTemplate, SchoolClass, Student
# The roles themselves live in attendance.roles (models.py asks them without importing
# this module, which imports models); callers keep asking them here, as access.role etc.
from attendance.roles import (
    OFFICE_STAFF_GROUP,
    check_teacher,
    is_office_staff,
    is_school_admin,
    role,
    teacher_candidates,
)

#: The roles (attendance.roles) and who may see what, as callers ask them: access.role etc.
__all__ = [
    "OFFICE_STAFF_GROUP",
    "check_teacher",
    "is_office_staff",
    "is_school_admin",
    "role",
    "teacher_candidates",
    "taught_classes",
    "teaches",
    "require_school_admin",
    "require_registers_overview",
    "require_school_exports",
    "visible_classes",
    "report_classes",
    "get_class_for_report",
    "get_student_for_report",
    "get_class",
    "get_student",
    "get_session",
    "get_session_for_report",
    "get_class_photo",
    "get_enrolment_photo",
    "get_face",
    "get_template",
    "visible_templates",
]


def taught_classes(user) -> QuerySet:
    """The classes ``user`` teaches, as main teacher or co-teacher (``SchoolClass.co_teachers``:
    co-teaching and cover, with the same rights); none for office staff, whatever the
    teacher columns say. Distinct rows."""
    if not user.is_authenticated or is_office_staff(user):
        return SchoolClass.objects.none()
    return SchoolClass.objects.filter(Q(teacher=user) | Q(co_teachers=user)).distinct()


def teaches(user, school_class: SchoolClass) -> bool:
    """True when ``school_class`` is one of ``taught_classes(user)``: its teacher (decided from
    the loaded class) or one of its co-teachers (one query); never office staff."""
    if not user.is_authenticated:
        return False
    if school_class.teacher_id != user.pk and not school_class.co_teachers.filter(pk=user.pk).exists():
        return False
    return not is_office_staff(user)


def require_school_admin(user) -> None:
    """Raises PermissionDenied unless the user is a school admin."""
    if not is_school_admin(user):
        raise PermissionDenied(gettext("Only school admins can do this."))


def require_registers_overview(user) -> None:
    """Raises PermissionDenied unless the user may see which registers of the school are
    untaken: school admins, and office staff, who chase missing registers in many schools
    (the page names classes, teachers and periods; no student, photo or face)."""
    if not (is_school_admin(user) or is_office_staff(user)):
        raise PermissionDenied(gettext("Only school admins and office staff can see the untaken registers."))


def require_school_exports(user) -> None:
    """Raises PermissionDenied unless the user may download the whole school's register
    (the export for the information system): school admins and office staff, who read
    every class's report."""
    if not (is_school_admin(user) or is_office_staff(user)):
        raise PermissionDenied(gettext("Only school admins and office staff can export the school's registers."))


def visible_classes(user) -> QuerySet:
    """Classes whose photos and sessions the user may see: all for an admin, else those taught."""
    if is_school_admin(user):
        return SchoolClass.objects.all()
    return taught_classes(user)


def report_classes(user) -> QuerySet:
    """Classes whose reports the user may read: all for admins and office staff."""
    if is_school_admin(user) or is_office_staff(user):
        return SchoolClass.objects.all()
    return taught_classes(user)


def get_class_for_report(user, class_id: int) -> SchoolClass:
    """The class, if the user may read its report; else 404 or PermissionDenied."""
    school_class = get_object_or_404(SchoolClass, pk=class_id)
    if not report_classes(user).filter(pk=school_class.pk).exists():
        raise PermissionDenied(gettext("You do not teach this class."))
    return school_class


def get_student_for_report(user, student_id: int) -> Student:
    """The student, if the user may read their attendance history; else 404 or PermissionDenied."""
    student = get_object_or_404(Student, pk=student_id)
    if not student.classes.filter(pk__in=report_classes(user)).exists():
        raise PermissionDenied(gettext("This student is not in a class you teach."))
    return student


def get_class(user, class_id: int) -> SchoolClass:
    """The class, if the user is an admin or its teacher; else 404 or PermissionDenied."""
    school_class = get_object_or_404(SchoolClass, pk=class_id)
    if not (is_school_admin(user) or teaches(user, school_class)):
        raise PermissionDenied(gettext("You do not teach this class."))
    return school_class


def get_student(user, student_id: int) -> Student:
    """The student, if the user is an admin or teaches one of the student's classes."""
    student = get_object_or_404(Student, pk=student_id)
    if not (is_school_admin(user) or student.classes.filter(pk__in=taught_classes(user)).exists()):
        raise PermissionDenied(gettext("This student is not in a class you teach."))
    return student


def get_session(user, session_id: int) -> ClassSession:
    session = get_object_or_404(ClassSession.objects.select_related("school_class"), pk=session_id)
    get_class(user, session.school_class_id)
    return session


def get_session_for_report(user, session_id: int) -> ClassSession:
    """The session, if the user may read its class's report: its register, never its photos
    (``get_session`` for those); else 404 or PermissionDenied."""
    session = get_object_or_404(ClassSession.objects.select_related("school_class"), pk=session_id)
    get_class_for_report(user, session.school_class_id)
    return session


def get_class_photo(user, photo_id: int) -> ClassPhoto:
    photo = get_object_or_404(ClassPhoto.objects.select_related("session"), pk=photo_id)
    get_class(user, photo.session.school_class_id)
    return photo


def get_enrolment_photo(user, photo_id: int) -> EnrolmentPhoto:
    photo = get_object_or_404(EnrolmentPhoto, pk=photo_id)
    get_student(user, photo.student_id)
    return photo


def get_face(user, face_id: int) -> DetectedFace:
    face = get_object_or_404(DetectedFace.objects.select_related("photo__session__school_class"), pk=face_id)
    get_class(user, face.photo.session.school_class_id)
    return face


def get_template(user, template_id: int) -> LearntTemplate:
    """A learnt template (a child's face cut from a class photo), if the user may see it:
    an admin, or someone who may see its source session's photos (``get_session``: the
    session's class's teacher). Teaching the child in another class is not enough: the
    crop comes from a photo of a class the user does not teach. A template whose session
    is deleted is an admin's alone.

    Raises:
        Http404: no such template, or the user may not see it, whether or not they teach
            the child: the same answer as for a template that does not exist, so it never
            tells that a face of the child was learnt.
    """
    templates = LearntTemplate.objects.all()
    if not is_school_admin(user):
        taught = taught_classes(user)  # none for office staff
        templates = templates.filter(source_session__school_class__in=taught,  # visible_templates' rule
                                     student__in=Student.objects.filter(classes__in=taught))  # get_student's rule
    try:  # one query (and one for the user's groups, if not an admin)
        return templates.get(pk=template_id)
    except LearntTemplate.DoesNotExist:
        raise Http404(gettext("No such learnt face."))


def visible_templates(user, student: Student) -> QuerySet:
    """The student's learnt templates the user may see (the rule of ``get_template``)."""
    templates = student.templates.all()
    if is_school_admin(user):
        return templates
    return templates.filter(source_session__school_class__in=taught_classes(user))
