"""Who may see what. Every view gets its objects through these helpers.

Roles for now: a school admin is a staff user and sees everything; a teacher sees
the classes they teach, those classes' students, sessions and photos.
"""
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import ClassPhoto, ClassSession, DetectedFace, EnrolmentPhoto, SchoolClass, Student


def is_school_admin(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def require_school_admin(user) -> None:
    """Raises PermissionDenied unless the user is a school admin."""
    if not is_school_admin(user):
        raise PermissionDenied("Only school admins can do this.")


def visible_classes(user) -> QuerySet:
    if is_school_admin(user):
        return SchoolClass.objects.all()
    return SchoolClass.objects.filter(teacher=user)


def get_class(user, class_id: int) -> SchoolClass:
    """The class, if the user is an admin or its teacher; else 404 or PermissionDenied."""
    school_class = get_object_or_404(SchoolClass, pk=class_id)
    if not (is_school_admin(user) or school_class.teacher_id == user.pk):
        raise PermissionDenied("You do not teach this class.")
    return school_class


def get_student(user, student_id: int) -> Student:
    """The student, if the user is an admin or teaches one of the student's classes."""
    student = get_object_or_404(Student, pk=student_id)
    if not (is_school_admin(user) or student.classes.filter(teacher=user).exists()):
        raise PermissionDenied("This student is not in a class you teach.")
    return student


def get_session(user, session_id: int) -> ClassSession:
    session = get_object_or_404(ClassSession.objects.select_related("school_class"), pk=session_id)
    get_class(user, session.school_class_id)
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
