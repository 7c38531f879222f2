"""Retention: class photos and their faces go N days after processing; the register stays.

Real photos from ../shared/faces, processed by the real pipeline; the clock is moved by
setting ``processed_at`` in the past and by the ``now`` argument.
"""
import csv
import datetime
import html
import io
import logging
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import timezone

from attendance.reports import building as reports
from attendance.reports import exports
from attendance.registers import retention
from attendance import tasks
from attendance.wiring.celery import app as celery_app
from attendance.wiring.env import env_days
from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, DetectedFace
from attendance.registers.recognition import process_class_photo
from attendance.registers.register import set_record

from .conftest import REPO
from .factories import class_photo, committed, enrolled_students, make_class

pytestmark = pytest.mark.django_db

NOTICE = "Photos deleted after 30 days under the school's retention rule; the register is kept."


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - timedelta(days=days)


def finished_days_ago(photo: ClassPhoto, days: float, status=ClassPhoto.DONE) -> ClassPhoto:
    ClassPhoto.objects.filter(pk=photo.pk).update(status=status, processed_at=days_ago(days))
    photo.refresh_from_db()
    return photo


def register(session: ClassSession) -> list[dict]:
    """Everything a record says: status, source, what the photos said, who and when."""
    return list(session.records.order_by("student__name").values(
        "pk", "student__name", "status", "source", "machine_status", "changed_by", "changed_at"))


@pytest.fixture
def processed_session(users, photo):
    """Obama, Biden and Bush enrolled from real photos; a session whose class photo
    (Obama and Biden) was processed, and Bush marked present by hand by the teacher."""
    students = enrolled_students(photo)
    school_class = make_class(users["teacher"], students=students.values())
    session = ClassSession.objects.create(school_class=school_class, date=datetime.date(2026, 10, 5), period="1")
    stored = class_photo(session, photo("groups/obama_and_biden.jpg"))
    assert process_class_photo(stored.pk) == ClassPhoto.DONE
    set_record(session, students["George Bush"], AttendanceRecord.PRESENT, users["teacher"])
    stored.refresh_from_db()
    return session, stored, students


class TestExpiredPhotos:
    def test_photo_its_faces_and_file_go_and_the_register_stays(self, processed_session):
        session, stored, _ = processed_session
        name, face_ids = stored.image.name, list(stored.faces.values_list("pk", flat=True))
        assert default_storage.exists(name) and len(face_ids) == 3  # Obama, Biden and one in the background
        before = register(session)
        assert {r["student__name"]: (r["status"], r["source"]) for r in before} == {
            "Barack Obama": ("present", "photo"), "Joe Biden": ("present", "photo"),
            "George Bush": ("present", "manual")}
        finished_days_ago(stored, 31)
        now = timezone.now()

        assert committed(retention.delete_expired_class_photos, now=now) == 1

        assert not default_storage.exists(name)
        assert not ClassPhoto.objects.filter(pk=stored.pk).exists()
        # The faces' boxes (what crops are cut from) and descriptors are rows: gone.
        assert not DetectedFace.objects.filter(pk__in=face_ids).exists()
        assert not DetectedFace.objects.filter(photo__session=session).exists()
        session.refresh_from_db()
        assert session.photos_deleted_at == now and session.photos_retention_days == 30
        assert register(session) == before

    def test_failed_photos_expire_too_and_each_session_is_marked(self, processed_session, photo):
        session, stored, _ = processed_session
        other = ClassSession.objects.create(school_class=session.school_class, date=datetime.date(2026, 10, 6),
                                            period="1")
        failed = finished_days_ago(class_photo(other, photo("groups/two_people.jpg")), 45, ClassPhoto.FAILED)
        finished_days_ago(stored, 31)
        assert committed(retention.delete_expired_class_photos) == 2
        assert not default_storage.exists(failed.image.name)
        assert ClassSession.objects.filter(photos_deleted_at__isnull=False).count() == 2

    def test_recent_pending_and_processing_photos_are_kept(self, processed_session, photo):
        session, stored, _ = processed_session
        now = timezone.now()
        # Processed 30 days ago less a minute: not yet expired.
        ClassPhoto.objects.filter(pk=stored.pk).update(processed_at=now - timedelta(days=30) + timedelta(minutes=1))
        pending = class_photo(session, photo("identities/George_W_Bush/2.jpg"))
        processing = class_photo(session, photo("identities/Joe_Biden/2.jpg"))
        ClassPhoto.objects.filter(pk=pending.pk).update(uploaded_at=days_ago(400))
        ClassPhoto.objects.filter(pk=processing.pk).update(
            status=ClassPhoto.PROCESSING, uploaded_at=days_ago(400), started_at=days_ago(400),
            processed_at=days_ago(400))
        faces = DetectedFace.objects.count()

        assert committed(retention.delete_expired_class_photos, now=now) == 0

        assert set(ClassPhoto.objects.values_list("pk", flat=True)) == {stored.pk, pending.pk, processing.pk}
        assert all(default_storage.exists(p.image.name) for p in ClassPhoto.objects.all())
        assert DetectedFace.objects.count() == faces
        session.refresh_from_db()
        assert session.photos_deleted_at is None
        # A minute later the processed one expires; the unfinished ones still never do.
        assert committed(retention.delete_expired_class_photos, now=now + timedelta(minutes=2)) == 1
        assert set(ClassPhoto.objects.values_list("pk", flat=True)) == {pending.pk, processing.pk}

    def test_retention_zero_keeps_everything(self, processed_session, settings):
        settings.CLASS_PHOTO_RETENTION_DAYS = 0
        session, stored, _ = processed_session
        finished_days_ago(stored, 3650)
        assert committed(retention.delete_expired_class_photos) == 0
        assert tasks.delete_expired_class_photos_task() == 0
        assert ClassPhoto.objects.filter(pk=stored.pk).exists() and default_storage.exists(stored.image.name)
        assert stored.faces.count() == 3

    def test_running_twice_is_harmless(self, processed_session):
        session, stored, _ = processed_session
        finished_days_ago(stored, 31)
        before = register(session)
        first_run = timezone.now()
        assert committed(retention.delete_expired_class_photos, now=first_run) == 1
        assert committed(retention.delete_expired_class_photos) == 0
        session.refresh_from_db()
        assert session.photos_deleted_at == first_run
        assert register(session) == before

    def test_many_photos_are_deleted_in_batches(self, processed_session, photo):
        session, stored, _ = processed_session
        finished_days_ago(stored, 31)
        more = [finished_days_ago(class_photo(session, photo("groups/obama_and_biden.jpg")), 31 + i)
                for i in range(4)]
        assert committed(retention.delete_expired_class_photos, batch_size=2) == 5
        assert not ClassPhoto.objects.exists()
        assert not any(default_storage.exists(p.image.name) for p in [stored, *more])

    def test_photos_changed_by_another_run_meanwhile_are_skipped(self, processed_session, photo, monkeypatch):
        """Between finding a batch and locking it, another run deleted one photo and an
        admin sent a failed one to the worker again: the first is not counted twice, the
        second is kept."""
        session, stored, _ = processed_session
        gone = finished_days_ago(class_photo(session, photo("identities/Joe_Biden/2.jpg")), 31)
        retried = finished_days_ago(class_photo(session, photo("groups/two_people.jpg")), 31, ClassPhoto.FAILED)
        finished_days_ago(stored, 31)
        real, calls = retention.expired_class_photos, []

        def meanwhile(cutoff):
            calls.append(cutoff)
            if len(calls) == 2:  # the re-check under the lock
                ClassPhoto.objects.get(pk=gone.pk).delete()
                ClassPhoto.objects.filter(pk=retried.pk).update(status=ClassPhoto.PENDING)
            return real(cutoff)

        monkeypatch.setattr(retention, "expired_class_photos", meanwhile)
        assert committed(retention.delete_expired_class_photos) == 1
        assert list(ClassPhoto.objects.values_list("pk", flat=True)) == [retried.pk]
        assert default_storage.exists(retried.image.name)
        assert not default_storage.exists(gone.image.name) and not default_storage.exists(stored.image.name)

    def test_files_go_through_the_storage_api_not_local_paths(self, processed_session, photo, settings,
                                                               monkeypatch):
        """Photos in a storage that is not a folder (in memory here, a bucket in S3) are
        deleted all the same, and no local path is ever asked for."""
        session, _, _ = processed_session
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
        in_memory = class_photo(session, photo("identities/Barack_Obama/2.jpg"))
        assert default_storage.exists(in_memory.image.name)
        ClassPhoto.objects.exclude(pk=in_memory.pk).delete()
        finished_days_ago(in_memory, 31)

        def no_local_path(field_file):
            raise AssertionError(f"a local path was asked for {field_file.name}")

        monkeypatch.setattr(FieldFile, "path", property(no_local_path))
        assert committed(retention.delete_expired_class_photos) == 1
        assert not default_storage.exists(in_memory.image.name)

    def test_each_run_that_deletes_logs_what_it_did(self, processed_session):
        session, stored, _ = processed_session
        finished_days_ago(stored, 31)
        lines = []
        handler = logging.Handler()
        handler.emit = lines.append
        logger = logging.getLogger("attendance.registers.retention")
        logger.addHandler(handler)
        saved_level, logger.level = logger.level, logging.INFO
        try:
            retention.delete_expired_class_photos()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved_level)
        [line] = lines
        assert (line.photos, line.faces, line.sessions, line.retention_days) == (1, 3, [session.pk], 30)
        # and in the audit log, for the school admins
        from attendance.models import AuditEntry

        entry = AuditEntry.objects.get(action=AuditEntry.DELETED)
        assert entry.user is None and entry.before == {"photos": 1, "faces": 3, "sessions": [session.pk]}
        assert entry.summary.startswith("Retention: 1 class photo(s) and 3 face(s) processed more than 30 days ago")

    def test_negative_days_or_batch_are_refused(self):
        with pytest.raises(ValueError, match="0 or more"):
            retention.delete_expired_class_photos(days=-1)
        with pytest.raises(ValueError, match="1 or more"):
            retention.delete_expired_class_photos(batch_size=0)


class TestRegisterAfterDeletion:
    def test_report_and_csv_still_list_the_records(self, processed_session, client, users):
        session, stored, _ = processed_session
        finished_days_ago(stored, 31)
        retention.delete_expired_class_photos()
        report = reports.class_report(session.school_class)
        assert report.sessions == [session]
        assert {row.student.name: (row.statuses[0].status, row.present) for row in report.rows} == {
            "Barack Obama": ("present", 1), "Joe Biden": ("present", 1), "George Bush": ("present", 1)}
        out = io.StringIO()
        exports.write_class_csv(out, report)
        csv_lines = out.getvalue().splitlines()
        rows = {row[0]: dict(zip(rows_header := next(csv.reader([csv_lines[0]])), row))
                for row in csv.reader(csv_lines[1:])}
        cell = rows_header[1]  # the session's column
        assert {name: (row[cell], row["Counted present"], row["Recorded"], row["Rate"]) for name, row in rows.items()} == {
            "Barack Obama": ("present", "1", "1", "100%"), "George Bush": ("present (manual)", "1", "1", "100%"),
            "Joe Biden": ("present", "1", "1", "100%")}
        client.force_login(users["teacher"])
        page = client.get(reverse("class_report", args=[session.school_class.pk])).content.decode()
        assert "Barack Obama" in page and page.count('class="status present counts-present"') == 3
        response = client.get(reverse("class_report_csv", args=[session.school_class.pk]))
        assert response.content.decode().splitlines()[1:] == csv_lines[1:]

    def test_session_page_says_the_photos_were_deleted(self, processed_session, client, users):
        session, stored, _ = processed_session
        face = stored.faces.first()
        client.force_login(users["teacher"])
        page = html.unescape(client.get(reverse("session_detail", args=[session.pk])).content.decode())
        assert NOTICE not in page and "Recognising faces" not in page
        finished_days_ago(stored, 31)
        retention.delete_expired_class_photos()

        response = client.get(reverse("session_detail", args=[session.pk]))
        page = html.unescape(response.content.decode())
        assert response.status_code == 200
        assert NOTICE in page
        assert "No photos in this session" not in page and "Recognising faces" not in page
        assert all(name in page for name in ("Barack Obama", "Joe Biden", "George Bush"))
        # The photo and the face crop are gone for good.
        assert client.get(reverse("class_photo_image", args=[stored.pk])).status_code == 404
        assert client.get(reverse("face_crop", args=[face.pk])).status_code == 404

    def test_a_photo_added_later_does_not_undo_what_the_deleted_photos_showed(self, processed_session, photo, client,
                                                                                users):
        session, stored, students = processed_session
        finished_days_ago(stored, 31)
        retention.delete_expired_class_photos()
        before = register(session)
        # Nobody is recognisable in this one: on its own it would mark everyone absent.
        later = class_photo(session, photo("misc/dogs.jpg"))
        assert process_class_photo(later.pk) == ClassPhoto.DONE
        assert register(session) == before
        client.force_login(users["teacher"])
        page = html.unescape(client.get(reverse("session_detail", args=[session.pk])).content.decode())
        assert NOTICE in page and "the photos below were added later" in page

    def test_the_notice_names_the_rule_in_force_when_they_were_deleted(self, processed_session, settings):
        session, stored, _ = processed_session
        settings.CLASS_PHOTO_RETENTION_DAYS = 7
        finished_days_ago(stored, 8)
        retention.delete_expired_class_photos()
        settings.CLASS_PHOTO_RETENTION_DAYS = 90
        session.refresh_from_db()
        from attendance.registers.sessions import retention_notice

        assert retention_notice(session) == ("Photos deleted after 7 days under the school's retention rule; "
                                             "the register is kept.")


class TestCeleryTask:
    def test_task_deletes_expired_photos(self, processed_session):
        session, stored, _ = processed_session
        finished_days_ago(stored, 31)
        assert tasks.delete_expired_class_photos_task() == 1
        assert tasks.delete_expired_class_photos_task.apply().get() == 0
        assert not ClassPhoto.objects.exists() and session.records.count() == 3

    def test_beat_runs_it_regularly(self, settings):
        entry = settings.CELERY_BEAT_SCHEDULE["delete-expired-class-photos"]
        assert entry["task"] in celery_app.tasks
        assert celery_app.tasks[entry["task"]].name == tasks.delete_expired_class_photos_task.name
        assert timedelta(hours=1) <= entry["schedule"] <= timedelta(days=1)


class TestSetting:
    def test_days_from_the_environment(self, monkeypatch):
        monkeypatch.delenv("CLASS_PHOTO_RETENTION_DAYS", raising=False)
        assert env_days("CLASS_PHOTO_RETENTION_DAYS", 30) == 30
        monkeypatch.setenv("CLASS_PHOTO_RETENTION_DAYS", "0")
        assert env_days("CLASS_PHOTO_RETENTION_DAYS", 30) == 0
        monkeypatch.setenv("CLASS_PHOTO_RETENTION_DAYS", "365")
        assert env_days("CLASS_PHOTO_RETENTION_DAYS", 30) == 365

    @pytest.mark.parametrize("value, words", [("-1", "must be 0 or more days"), ("thirty", "must be a whole number")])
    def test_bad_values_are_refused(self, monkeypatch, value, words):
        monkeypatch.setenv("CLASS_PHOTO_RETENTION_DAYS", value)
        with pytest.raises(ImproperlyConfigured, match=f"CLASS_PHOTO_RETENTION_DAYS {words}"):
            env_days("CLASS_PHOTO_RETENTION_DAYS", 30)

    def test_settings_refuse_a_negative_value_at_start(self):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        result = subprocess.run([sys.executable, "-c", "import attendance.wiring.settings"], cwd=REPO,
                                env={**env, "CLASS_PHOTO_RETENTION_DAYS": "-5"}, capture_output=True, text=True)
        assert result.returncode != 0
        assert "ImproperlyConfigured: CLASS_PHOTO_RETENTION_DAYS must be 0 or more days" in result.stderr

