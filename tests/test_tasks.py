"""The task functions called directly, on real photos with the real models."""
import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from attendance.roster.enrolment import encode_enrolment_photo, encode_enrolment_photo_task
from attendance.models import (
    AttendanceRecord,
    ClassPhoto,
    ClassSession,
    DetectedFace,
    EnrolmentPhoto,
    Student,
)
from attendance.registers.recognition import MAX_ATTEMPTS, process_class_photo, process_class_photo_task
from attendance.wiring.job_queue import MODEL_FILES_BROKEN
from faces import model_files
from faces.errors import ModelFileError

from .factories import class_photo, enrolled_students, enrolment_photo, make_class

pytestmark = pytest.mark.django_db


class TestEnrolment:
    def test_photo_of_one_person_becomes_ready_with_a_descriptor(self, photo):
        stored = enrolment_photo(Student.objects.create(name="Joe"), photo("identities/Joe_Biden/1.jpg"))
        assert encode_enrolment_photo(stored.pk) == "ready"
        stored.refresh_from_db()
        assert stored.status == "ready" and len(stored.descriptor) == 512
        assert stored.face_right > stored.face_left

    @pytest.mark.parametrize("relative, code, words", [
        ("misc/dogs.jpg", "no_face", "No face was found"),
        ("groups/two_people.jpg", "multiple_faces", "2 faces"),
    ])
    def test_unusable_photo_fails_with_reason_in_words(self, photo, relative, code, words):
        stored = enrolment_photo(Student.objects.create(name="Joe"), photo(relative))
        assert encode_enrolment_photo(stored.pk) == "failed"
        stored.refresh_from_db()
        assert stored.failure_code == code and words in stored.failure_reason
        assert stored.descriptor is None

    def test_file_that_is_not_an_image_fails_as_unreadable(self):
        stored = EnrolmentPhoto.objects.create(
            student=Student.objects.create(name="Joe"), image=ContentFile(b"%PDF-1.7\n", name="scan.jpg"))
        assert encode_enrolment_photo_task(stored.pk) == "failed"
        stored.refresh_from_db()
        assert stored.failure_code == "not_an_image" and "not a readable image" in stored.failure_reason

    def test_running_twice_changes_nothing(self, photo):
        stored = enrolment_photo(Student.objects.create(name="Joe"), photo("identities/Joe_Biden/1.jpg"))
        encode_enrolment_photo(stored.pk)
        first = EnrolmentPhoto.objects.get(pk=stored.pk)
        assert encode_enrolment_photo(stored.pk) == "ready"
        again = EnrolmentPhoto.objects.get(pk=stored.pk)
        assert bytes(again.descriptor) == bytes(first.descriptor) and again.processed_at == first.processed_at


@pytest.fixture
def obama_biden_class(users, photo):
    """A class of Obama, Biden and Bush (not in the photo), all enrolled from real photos."""
    students = enrolled_students(photo)
    school_class = make_class(users["teacher"], students=students.values())
    session = ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 11, 2), period="1")
    return session, students


class TestClassPhoto:
    def test_faces_matched_and_one_record_per_rostered_student(self, obama_biden_class, photo):
        session, students = obama_biden_class
        stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
        assert process_class_photo(stored.pk) == "done"
        stored.refresh_from_db()
        assert stored.width and stored.height
        matched = {f.student.name for f in stored.faces.filter(decision=DetectedFace.MATCHED)}
        assert matched == {"Barack Obama", "Joe Biden"}
        records = {r.student.name: r.status for r in session.records.all()}
        assert records == {"Barack Obama": "present", "Joe Biden": "present", "George Bush": "absent"}

    def test_running_twice_and_a_second_photo_keep_one_record_each(self, obama_biden_class, photo):
        session, students = obama_biden_class
        first = class_photo(session, photo("groups/obama_and_biden.jpg"))
        process_class_photo(first.pk)
        faces_before = list(first.faces.values_list("pk", flat=True))
        assert process_class_photo(first.pk) == "done"
        assert list(first.faces.values_list("pk", flat=True)) == faces_before
        second = class_photo(session, photo("identities/George_W_Bush/2.jpg"))
        process_class_photo(second.pk)
        assert AttendanceRecord.objects.filter(session=session).count() == 3
        assert set(session.records.values_list("status", flat=True)) == {"present"}

    def test_class_photo_with_no_face_is_finished_with_everyone_absent(self, obama_biden_class, photo):
        session, _ = obama_biden_class
        stored = class_photo(session, photo("misc/dogs.jpg"))
        assert process_class_photo(stored.pk) == "done"
        assert set(session.records.values_list("status", flat=True)) == {"absent"}
        assert session.records.count() == 3

    def test_unreadable_class_photo_fails_with_reason(self, obama_biden_class):
        session, _ = obama_biden_class
        stored = ClassPhoto.objects.create(session=session, image=ContentFile(b"hello", name="class.jpg"))
        assert process_class_photo_task(stored.pk) == "failed"
        stored.refresh_from_db()
        assert "not a readable image" in stored.error
        assert not session.records.exists()

    def test_manual_record_is_not_overwritten_by_photos(self, obama_biden_class, photo):
        session, students = obama_biden_class
        AttendanceRecord.objects.create(session=session, student=students["George Bush"], status="present",
                                        source=AttendanceRecord.MANUAL)
        process_class_photo(class_photo(session, photo("groups/obama_and_biden.jpg")).pk)
        record = session.records.get(student=students["George Bush"])
        # The person's mark stands; what the photos said is kept beside it for the audit,
        # although the mark was made before the photo was processed.
        assert record.status == "present" and record.source == AttendanceRecord.MANUAL
        assert record.machine_status == "absent"

    def test_photo_interrupted_too_often_is_failed_not_stuck(self, obama_biden_class, photo):
        session, _ = obama_biden_class
        stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
        ClassPhoto.objects.filter(pk=stored.pk).update(status=ClassPhoto.PROCESSING, attempts=MAX_ATTEMPTS)
        assert process_class_photo(stored.pk) == "failed"
        stored.refresh_from_db()
        assert stored.status == "failed" and "interrupted" in stored.error


class TestDuplicateEnrolment:
    def test_face_of_another_enrolled_student_is_flagged_not_ready(self, photo):
        obama = Student.objects.create(name="Barack Obama")
        encode_enrolment_photo(enrolment_photo(obama, photo("identities/Barack_Obama/1.jpg")).pk)
        mix_up = Student.objects.create(name="Someone Else")
        flagged = enrolment_photo(mix_up, photo("identities/Barack_Obama/2.jpg"))
        assert encode_enrolment_photo(flagged.pk) == "needs_review"
        flagged.refresh_from_db()
        assert flagged.duplicate_of == obama and flagged.duplicate_distance < 0.45
        assert "looks like Barack Obama" in flagged.failure_reason
        assert mix_up.enrolment_state == "needs review"

    def test_second_photo_of_the_same_student_is_not_flagged(self, photo):
        obama = Student.objects.create(name="Barack Obama")
        encode_enrolment_photo(enrolment_photo(obama, photo("identities/Barack_Obama/1.jpg")).pk)
        second = enrolment_photo(obama, photo("identities/Barack_Obama/2.jpg"))
        assert encode_enrolment_photo(second.pk) == "ready"

    def test_admin_keeps_or_deletes_a_flagged_photo(self, photo):
        from attendance.roster.enrolment import resolve_duplicate

        obama = Student.objects.create(name="Barack Obama")
        encode_enrolment_photo(enrolment_photo(obama, photo("identities/Barack_Obama/1.jpg")).pk)
        twin = Student.objects.create(name="Twin")
        kept = enrolment_photo(twin, photo("identities/Barack_Obama/2.jpg"))
        deleted = enrolment_photo(twin, photo("identities/Barack_Obama/3.jpg"))
        encode_enrolment_photo(kept.pk)
        encode_enrolment_photo(deleted.pk)
        resolve_duplicate(EnrolmentPhoto.objects.get(pk=kept.pk), keep=True)
        resolve_duplicate(EnrolmentPhoto.objects.get(pk=deleted.pk), keep=False)
        assert EnrolmentPhoto.objects.get(pk=kept.pk).status == "ready"
        assert not EnrolmentPhoto.objects.filter(pk=deleted.pk).exists()


class TestSessionMatching:
    def test_student_in_two_photos_of_a_session_is_given_to_one_face(self, obama_biden_class, photo):
        session, students = obama_biden_class
        process_class_photo(class_photo(session, photo("identities/Barack_Obama/2.jpg")).pk)
        process_class_photo(class_photo(session, photo("identities/Barack_Obama/3.jpg")).pk)
        faces = DetectedFace.objects.filter(photo__session=session)
        assert faces.count() == 2
        # One face is the match; the other is the same student photographed twice, shown
        # as such and kept out of the teacher's review list.
        assert sorted(faces.values_list("decision", flat=True)) == ["matched", "repeat"]
        repeat = faces.get(decision="repeat")
        assert repeat.student == students["Barack Obama"] and "another photo" in repeat.reason
        assert session.records.get(student=students["Barack Obama"]).status == "present"
        from attendance.registers.review import faces_to_review

        assert faces_to_review(session) == []

    def test_faces_too_small_to_judge_go_to_review_with_the_reason(self, obama_biden_class, photo, settings):
        settings.FACE_MIN_PROBE_PX = 10_000
        session, students = obama_biden_class
        stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
        process_class_photo(stored.pk)
        assert set(stored.faces.values_list("decision", flat=True)) == {"unsure"}
        assert all("too small to judge" in f.reason for f in stored.faces.all())
        assert set(session.records.values_list("status", flat=True)) == {"absent"}


@pytest.mark.engine  # the real engine must meet the damaged file, not the descriptor cache
class TestDamagedModelFiles:
    @pytest.fixture
    def damaged_models(self, tmp_path, monkeypatch):
        """A copy of the model files with one byte of the ResNet changed, used via FACE_MODELS_DIR."""
        good = model_files.models_dir()
        for name in (model_files.LANDMARKS_5_MODEL, model_files.RECOGNITION_MODEL):
            data = bytearray((good / name).read_bytes())
            if name == model_files.RECOGNITION_MODEL:
                data[len(data) // 2] ^= 0x01
            (tmp_path / name).write_bytes(bytes(data))
        monkeypatch.setenv("FACE_MODELS_DIR", str(tmp_path))
        model_files.verified_path.cache_clear()
        model_files._load.cache_clear()
        yield
        monkeypatch.delenv("FACE_MODELS_DIR")
        model_files.verified_path.cache_clear()
        model_files._load.cache_clear()

    def test_system_check_names_the_damaged_file(self, damaged_models):
        with pytest.raises(SystemCheckError, match=r"attendance.E001.*dlib_face_recognition_resnet_model_v1.dat"):
            call_command("check")

    def test_class_photo_fails_with_a_message_for_people_not_a_class_name(self, obama_biden_class, photo,
                                                                           damaged_models):
        session, _ = obama_biden_class
        stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
        with pytest.raises(ModelFileError):
            process_class_photo_task(stored.pk)
        stored.refresh_from_db()
        assert stored.status == "failed" and stored.error == MODEL_FILES_BROKEN
        assert not session.records.exists()
