"""Small helpers that build app objects from real photos (no fake data)."""
import datetime

from django.test import TestCase
from django.core.files.base import ContentFile

from attendance.models import ClassPhoto, ClassSession, Consent, EnrolmentPhoto, SchoolClass, Student


def make_class(teacher, name="7A", students=()):
    school_class = SchoolClass.objects.create(name=name, teacher=teacher)
    for student in students:
        school_class.students.add(student)
    return school_class


def give_consent(student: Student) -> Consent:
    """Record consent to face recognition for ``student`` (test photos: public LFW photos)."""
    return Consent.objects.get_or_create(student=student, defaults={
        "given_by": "Parent or guardian", "given_on": datetime.date(2026, 9, 1), "note": "test photos (LFW, public)"})[0]


def enrolment_photo(student: Student, path, status=EnrolmentPhoto.PENDING) -> EnrolmentPhoto:
    """An enrolment photo of ``student``, whose consent is recorded first (as the app requires)."""
    give_consent(student)
    return EnrolmentPhoto.objects.create(
        student=student, image=ContentFile(path.read_bytes(), name=path.name), status=status
    )


def class_photo(session: ClassSession, path) -> ClassPhoto:
    return ClassPhoto.objects.create(session=session, image=ContentFile(path.read_bytes(), name=path.name))


#: People of ../shared/faces many tests enrol: the first two are in groups/obama_and_biden.jpg.
OBAMA_BIDEN_BUSH = [("Barack Obama", "identities/Barack_Obama/1.jpg"), ("Joe Biden", "identities/Joe_Biden/1.jpg"),
                    ("George Bush", "identities/George_W_Bush/1.jpg")]


def enrolled_students(photo, people=OBAMA_BIDEN_BUSH) -> dict[str, Student]:
    """Students enrolled from real photos (``[(name, photo path)]``), encoded in this process."""
    from attendance.roster.enrolment import encode_enrolment_photo

    students = {}
    for name, relative in people:
        students[name] = Student.objects.create(name=name)
        encode_enrolment_photo(enrolment_photo(students[name], photo(relative)).pk)
    return students


def zip_of_folders(photo, folders) -> bytes:
    """A zip holding one real face photo (Joe Biden's) as ``<folder>/1.jpg`` for each of
    ``folders``, names as given (zipfile sets the UTF-8 flag for non-ASCII names)."""
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for folder in folders:
            zf.write(photo("identities/Joe_Biden/1.jpg"), f"{folder}/1.jpg")
    return archive.getvalue()


def learnt_template(student: Student, session=None, source_photo=None, with_crop=True):
    """A learnt template of ``student`` from ``session``/``source_photo`` (None: their
    session was deleted), with a zero descriptor and a plain grey 50 px crop: for access
    tests, which need the row and its crop file, not a real face."""
    import numpy as np

    from attendance.crops import crop_jpeg
    from attendance.engine import model_id
    from attendance.models import LearntTemplate, descriptor_to_bytes

    crop = ContentFile(crop_jpeg(np.full((60, 60, 3), 128, np.uint8), 10, 10, 50, 50), name="face.jpg") \
        if with_crop else None
    return LearntTemplate.objects.create(
        student=student, descriptor=descriptor_to_bytes(np.zeros(128, np.float32)), descriptor_model=model_id(),
        face_width=50, source_session=session, source_photo=source_photo, crop=crop)


def committed(function, *args, **kwargs):
    """``function(*args, **kwargs)`` as if its transaction committed: the files of the rows
    it deleted are removed on commit (``transaction.on_commit``), which a test's own
    transaction never does by itself."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return function(*args, **kwargs)
