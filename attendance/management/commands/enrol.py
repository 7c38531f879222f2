"""python manage.py enrol DIR --class NAME: enrol DIR/<Student_Name>/*.jpg onto a class roster.

A folder names the child: ``Ada_Lovelace`` (the class's, else the school's, only student of
that name, or a new one), ``Ada_Lovelace_#17`` (student id 17), ``Ada_Lovelace_@S1001``
(school id S1001; a new student with it when no one has it). A child already in the school
is added to the class, never created again. Exits non-zero when anything is refused: a
folder (nothing is stored then) or a photo that is not usable or waits for an admin."""
import unicodedata
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from attendance import access
from attendance.roster.enrolment import check_enrolment_image, enrol_photo_folders
from attendance.wiring.job_queue import QueueUnavailable, ensure_queue_reachable
from attendance.models import EnrolmentPhoto, SchoolClass
from attendance.text import counted, forbidden_character
from attendance.roster.zip_enrolment import ZipEnrolmentError, parse_student_folder, read_enrolment_folders

from ._wait import use_inline_tasks, wait_until
from .take_attendance import _date


class Command(BaseCommand):
    help = "Enrol every DIR/<Student_Name>/<photo> onto a class roster, creating the class and students as needed."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--class", dest="class_name", required=True, help="class name")
        parser.add_argument("--teacher", help="username of the teacher, when the class is new (default: first admin)")
        parser.add_argument("--consent-note", required=True,
                            help="where the signed consent forms of the students this command adds are kept (students "
                                 "are enrolled for face recognition only with recorded consent; a student already in the "
                                 "school must have consent recorded on their page, or is refused)")
        parser.add_argument("--consent-given-by", default="Parent or guardian",
                            help="who gave consent (default: %(default)s)")
        parser.add_argument("--consent-date", type=_date, default=None,
                            help="the date on the consent forms, YYYY-MM-DD (default: today)")
        parser.add_argument("--recorded-by", metavar="USERNAME", default="",
                            help="the staff account that records the consent and enrolment (default: none, with a "
                                 "warning: the consent and audit log then name no one)")
        parser.add_argument("--school-id", default="",
                            help="the school id (admission number) of the one student folder in DIR; a folder "
                                 "named Name_@SCHOOLID says it for each folder")
        parser.add_argument("--inline", action="store_true", help="encode in this process, without a worker")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker")

    def handle(self, directory, class_name, teacher, inline, timeout, consent_note, consent_given_by, school_id="",
               consent_date=None, recorded_by="", **options):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder.")
        folders = sorted(d for d in directory.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not folders:
            raise CommandError(f"{directory} has no student folders (e.g. {directory}/Ada_Lovelace/1.jpg).")
        class_name = class_name.strip()
        consent_note, consent_given_by = consent_note.strip(), consent_given_by.strip()
        if not consent_note or len(consent_note) > 300 or not consent_given_by or len(consent_given_by) > 150:
            raise CommandError("--consent-note (1 to 300 characters) and --consent-given-by (1 to 150) say where "
                               "the signed consent forms are kept and who gave consent.")
        recorder = None
        if recorded_by:
            recorder = get_user_model().objects.filter(is_active=True, username=recorded_by).first()
            if recorder is None:
                raise CommandError(f"--recorded-by: no active user named {recorded_by!r}.")
        else:
            self.stderr.write("Warning: no --recorded-by USERNAME given: the consents recorded and the audit log "
                              "name no one.")
        if not class_name or len(class_name) > SchoolClass._meta.get_field("name").max_length:
            raise CommandError("--class must be 1 to 100 characters.")
        if found := forbidden_character(class_name):
            raise CommandError(f"--class contains {found}, which a class's name cannot hold.")
        class_name = unicodedata.normalize("NFC", class_name)
        names, refused = {}, []
        for folder in folders:
            try:
                names[folder] = parse_student_folder(folder.name)  # (name, id, school id), as a zip's
            except ZipEnrolmentError as exc:
                refused.append(str(exc))
        if refused:
            raise CommandError("\n".join(refused))
        if school_id:
            school_id = school_id.strip()
            if len(folders) != 1 or names[folders[0]][1] is not None or names[folders[0]][2]:
                raise CommandError("--school-id is for a folder of one student named without an id; name each "
                                   "folder Name_@SCHOOLID instead.")
            if found := forbidden_character(school_id) or (len(school_id) > 64 and "over 64 characters"):
                raise CommandError(f"--school-id: {found}.")
            names[folders[0]] = (names[folders[0]][0], None, school_id)
        if inline:
            use_inline_tasks()
        try:  # before the class is created (enrol_photo_folders checks again, storing nothing)
            ensure_queue_reachable()
        except QueueUnavailable as exc:
            raise CommandError(str(exc))
        school_class = self._school_class(class_name, teacher)
        consent = {"given_by": consent_given_by, "given_on": consent_date or timezone.localdate(), "note": consent_note}
        # The zip upload's operation: same checks per photo and per student, all or nothing.
        try:
            result = enrol_photo_folders(
                school_class, read_enrolment_folders(names, settings.MAX_PHOTO_BYTES, check_enrolment_image), consent,
                user=recorder)
        except ZipEnrolmentError as exc:
            raise CommandError(str(exc))
        except OSError as exc:
            raise CommandError(f"{exc.filename}: cannot read the file ({exc.strerror or exc}).")
        except QueueUnavailable as exc:
            raise CommandError(str(exc))
        photo_ids = {student: [photo.pk for photo in photos] for student, photos in result.photos.items()}
        if result.already:
            self.stdout.write(f"{counted(result.already, 'photo')} left out: already enrolled (the same file).")

        all_ids = [pk for ids in photo_ids.values() for pk in ids]
        wait_until(
            lambda: not EnrolmentPhoto.objects.filter(pk__in=all_ids, status=EnrolmentPhoto.PENDING).exists(),
            timeout, "enrolment photos to be encoded",
        )
        ready = not_used = 0
        for student, ids in photo_ids.items():
            if not ids:  # every photo given was already theirs
                ready += student.photos.filter(status=EnrolmentPhoto.READY).exists()
                self.stdout.write(f"{student.name}: no new photo (the student already has these)")
                continue
            photos = list(EnrolmentPhoto.objects.filter(pk__in=ids))
            ok = sum(p.is_ready for p in photos)
            not_used += len(photos) - ok
            reasons = sorted({p.failure_reason for p in photos if p.failure_reason})
            ready += ok > 0
            line = f"{student.name}: {ok} of {len(photos)} photos ready"
            self.stdout.write(line + (f"; not used: {' / '.join(reasons)}" if reasons else ""))
        self.stdout.write(f"{ready} of {len(photo_ids)} students enrolled in {school_class.name}.")
        if not_used:
            raise CommandError(f"{counted(not_used, 'photo')} not used (failed, or waiting for an admin's decision on the "
                               "student's page): see above.")

    def _school_class(self, name, teacher_username):
        school_class = SchoolClass.objects.filter(name=name).first()
        if school_class:
            return school_class
        users = get_user_model().objects.filter(is_active=True)
        if teacher_username:
            teacher = users.filter(username=teacher_username).first()
            if teacher is None:
                raise CommandError(f"No user named {teacher_username!r}.")
        else:
            teacher = users.filter(is_staff=True).order_by("pk").first()
            if teacher is None:
                raise CommandError("The class is new and needs a teacher: pass --teacher USERNAME or create an admin first.")
        try:
            access.check_teacher(teacher)
        except ValidationError as exc:
            raise CommandError(exc.messages[0])
        return SchoolClass.objects.create(name=name, teacher=teacher)
