"""Small helpers that build app objects from real photos (no fake data)."""
import datetime

from django.core.files.base import ContentFile

from attendance.models import ClassPhoto, ClassSession, Consent, EnrolmentPhoto, SchoolClass, Student


def make_class(teacher, name="7A", students=()):
    school_class = SchoolClass.objects.create(name=name, teacher=teacher)
    for student in students:
        school_class.students.add(student)
    return school_class


def enrolment_photo(student: Student, path, status=EnrolmentPhoto.PENDING) -> EnrolmentPhoto:
    """An enrolment photo of ``student``, whose consent is recorded first (as the app requires)."""
    Consent.objects.get_or_create(student=student, defaults={
        "given_by": "Parent or guardian", "given_on": datetime.date(2026, 9, 1), "note": "test photos (LFW, public)"})
    return EnrolmentPhoto.objects.create(
        student=student, image=ContentFile(path.read_bytes(), name=path.name), status=status
    )


def class_photo(session: ClassSession, path) -> ClassPhoto:
    return ClassPhoto.objects.create(session=session, image=ContentFile(path.read_bytes(), name=path.name))
