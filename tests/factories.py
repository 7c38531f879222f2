"""Small helpers that build app objects from real photos (no fake data)."""
from django.core.files.base import ContentFile

from attendance.models import ClassPhoto, ClassSession, EnrolmentPhoto, SchoolClass, Student


def make_class(teacher, name="7A", students=()):
    school_class = SchoolClass.objects.create(name=name, teacher=teacher)
    for student in students:
        school_class.students.add(student)
    return school_class


def enrolment_photo(student: Student, path, status=EnrolmentPhoto.PENDING) -> EnrolmentPhoto:
    return EnrolmentPhoto.objects.create(
        student=student, image=ContentFile(path.read_bytes(), name=path.name), status=status
    )


def class_photo(session: ClassSession, path) -> ClassPhoto:
    return ClassPhoto.objects.create(session=session, image=ContentFile(path.read_bytes(), name=path.name))
