"""The register: classes, rosters, enrolment photos, class sessions, photos, faces and records."""
import unicodedata
import uuid
from pathlib import PurePath

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from .dates import validate_school_date
from .text import validate_single_line_text


class NameField(models.CharField):
    """A single-line name people type (student, class, period, term, holiday, code):
    refused with a message when it holds a control, bidi-control or noncharacter
    (``text.validate_single_line_text``: model ``full_clean``, so the admin, ModelForms and
    ModelSerializers), and stored in Unicode NFC whatever path saves it."""

    default_validators = [validate_single_line_text]

    def pre_save(self, instance, add):
        value = getattr(instance, self.attname)
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
            setattr(instance, self.attname, value)
        return value


def _generated_name(folder: str, original: str) -> str:
    # Never trust an uploaded name: it may hold "../" or an absolute path. Keep only a
    # known image extension, so the stored file is recognisable when inspecting disk.
    suffix = PurePath(original.replace("\\", "/")).suffix.lower()
    if suffix not in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"):
        suffix = ".img"
    return f"{folder}/{uuid.uuid4().hex}{suffix}"


def enrolment_upload_to(instance, filename):
    return _generated_name("enrolment", filename)


def class_photo_upload_to(instance, filename):
    return _generated_name("class-photos", filename)


def template_crop_upload_to(instance, filename):
    return _generated_name("templates", filename)


def descriptor_to_bytes(descriptor: np.ndarray) -> bytes:
    """Serialise a ``(128,)`` descriptor as 512 bytes of little-endian float32."""
    return np.asarray(descriptor, dtype="<f4").reshape(128).tobytes()


def descriptor_from_bytes(data: bytes) -> np.ndarray:
    """The ``(128,) float32`` descriptor stored by ``descriptor_to_bytes``."""
    return np.frombuffer(bytes(data), dtype="<f4").astype(np.float32)


class Student(models.Model):
    name = NameField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @property
    def has_ready_photo(self) -> bool:
        """At least one usable enrolment photo (``EnrolmentPhoto.READY``): the class photos
        can recognise the student."""
        return any(photo.is_ready for photo in self.photos.all())

    @property
    def enrolment_state(self) -> str:
        """'ready' (at least one usable photo), 'pending', 'failed' or 'not enrolled'."""
        statuses = {photo.status for photo in self.photos.all()}
        if EnrolmentPhoto.READY in statuses:
            return "ready"
        if EnrolmentPhoto.NEEDS_REVIEW in statuses:
            return "needs review"
        if EnrolmentPhoto.PENDING in statuses:
            return "pending"
        if EnrolmentPhoto.FAILED in statuses:
            return "failed"
        return "not enrolled"

    @property
    def enrolment_failed(self) -> bool:
        """Every enrolment photo of the student failed (``enrolment_state`` "failed")."""
        return self.enrolment_state == "failed"


class SchoolClass(models.Model):
    name = NameField(max_length=100, unique=True)
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="classes_taught"
    )
    students = models.ManyToManyField(Student, related_name="classes", blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "school classes"

    def __str__(self):
        return self.name

    def clean(self):
        """A class's teacher must not be office staff (``access.check_teacher``)."""
        from .access import check_teacher

        if self.teacher_id is not None:
            try:
                check_teacher(self.teacher)
            except ValidationError as exc:
                raise ValidationError({"teacher": exc.messages})


WEEKDAY_CHOICES = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
                   (5, "Saturday"), (6, "Sunday")]


class TimetablePeriod(models.Model):
    """One recurring period of a class's week (``timetable.py``). Its name is the session's
    period, so a register taken from the timetable is found again by (class, date, name)."""

    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAY_CHOICES)
    name = NameField(max_length=50, help_text="E.g. Period 1. It becomes the session's period.")
    starts_at = models.TimeField("starts", help_text="The school's local time, e.g. 09:00.")
    ends_at = models.TimeField("ends", help_text="The school's local time, e.g. 09:50.")

    class Meta:
        ordering = ["school_class", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(starts_at__lt=models.F("ends_at")),
                                   name="period_starts_before_it_ends",
                                   violation_error_message="A period must end after it starts."),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="period_weekday_0_to_6"),
            # Two periods of one day with one name would share a session.
            models.UniqueConstraint(fields=["school_class", "weekday", "name"], name="one_period_name_per_class_day",
                                    violation_error_message="The class already has a period of this name that day."),
        ]

    def __str__(self):
        return f"{self.school_class} {self.get_weekday_display()} {self.name} {self.times}"

    @property
    def times(self) -> str:
        return f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    def overlaps(self, other) -> bool:
        return (self.weekday == other.weekday and self.starts_at < other.ends_at
                and other.starts_at < self.ends_at)

    def clean(self):
        # The admin's inline of a class's periods checks them together instead (a change
        # to two periods at once must be judged on the new times of both).
        if getattr(self, "_overlap_checked_by_formset", False) or not (self.starts_at and self.ends_at):
            return
        if self.starts_at >= self.ends_at:
            return  # the constraint period_starts_before_it_ends says so
        if self.school_class_id is None or self.weekday is None:
            return
        others = TimetablePeriod.objects.filter(school_class_id=self.school_class_id, weekday=self.weekday)
        for other in others.exclude(pk=self.pk):
            if self.overlaps(other):
                raise ValidationError(overlap_message(self, other))


def overlap_message(period, other) -> str:
    return (f"{period.name or 'This period'} ({period.times}) overlaps {other.name} ({other.times}) "
            f"on {period.get_weekday_display()}: periods of a class may not overlap.")


LAST_DAY = "The last day must not be before the first day."


class Term(models.Model):
    """A term of the school year. Registers are expected on term days that are not holidays;
    with no term entered at all, every day counts as term time."""

    name = NameField(max_length=100, help_text="E.g. Autumn term 2026.")
    starts_on = models.DateField("first day", validators=[validate_school_date])
    ends_on = models.DateField("last day", validators=[validate_school_date])

    class Meta:
        ordering = ["starts_on"]
        constraints = [models.CheckConstraint(condition=models.Q(starts_on__lte=models.F("ends_on")),
                                              name="term_starts_before_it_ends", violation_error_message=LAST_DAY)]

    def __str__(self):
        return f"{self.name} ({self.starts_on:%d %b %Y} – {self.ends_on:%d %b %Y})"

    def clean(self):
        if self.starts_on and self.ends_on and self.starts_on <= self.ends_on:
            overlapping = Term.objects.filter(starts_on__lte=self.ends_on, ends_on__gte=self.starts_on)
            other = overlapping.exclude(pk=self.pk).first()
            if other:
                raise ValidationError(f"These dates overlap {other}.")


class Holiday(models.Model):
    """Days without registers: a half term inside a term, a bank holiday, a training day.
    It may lie inside or outside a term; one day has the same first and last day."""

    name = NameField(max_length=100, help_text="E.g. Half term, or Staff training day.")
    starts_on = models.DateField("first day", validators=[validate_school_date])
    ends_on = models.DateField("last day", validators=[validate_school_date])

    class Meta:
        ordering = ["starts_on"]
        constraints = [models.CheckConstraint(condition=models.Q(starts_on__lte=models.F("ends_on")),
                                              name="holiday_starts_before_it_ends", violation_error_message=LAST_DAY)]

    def __str__(self):
        if self.starts_on == self.ends_on:
            return f"{self.name} ({self.starts_on:%d %b %Y})"
        return f"{self.name} ({self.starts_on:%d %b %Y} – {self.ends_on:%d %b %Y})"


class EnrolmentPhoto(models.Model):
    PENDING, READY, FAILED, NEEDS_REVIEW = "pending", "ready", "failed", "needs_review"
    STATUS_CHOICES = [(PENDING, "Pending"), (READY, "Ready"), (FAILED, "Failed"), (NEEDS_REVIEW, "Needs review")]

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=enrolment_upload_to)
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=PENDING)
    failure_code = models.CharField(max_length=30, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    descriptor = models.BinaryField(null=True, editable=False)
    face_left = models.IntegerField(null=True)
    face_top = models.IntegerField(null=True)
    face_right = models.IntegerField(null=True)
    face_bottom = models.IntegerField(null=True)
    sharpness = models.FloatField(null=True)
    yaw = models.FloatField(null=True)
    # Set when the face looks like another enrolled student: the photo waits for an
    # admin's decision instead of becoming ready (a mix-up would mark the wrong child).
    duplicate_of = models.ForeignKey(
        "Student", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    duplicate_distance = models.FloatField(null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return f"Photo {self.pk} of {self.student}"

    @property
    def is_pending(self) -> bool:
        """Not encoded yet: the pages do not decode it (the worker stores its rendition)."""
        return self.status == self.PENDING

    @property
    def is_ready(self) -> bool:
        return self.status == self.READY

    @property
    def needs_review(self) -> bool:
        """Its face looks like another student's: it waits for an admin's decision."""
        return self.status == self.NEEDS_REVIEW


class ClassSession(models.Model):
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField(help_text="The school's local date.", validators=[validate_school_date])
    period = NameField(max_length=50)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when photos of the session were deleted under the retention rule
    # (attendance/retention.py), so the page says so instead of looking broken. The
    # records stay, and what those photos showed keeps counting (register.write_attendance).
    photos_deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    photos_retention_days = models.PositiveIntegerField(
        null=True, blank=True, editable=False, help_text="CLASS_PHOTO_RETENTION_DAYS when they were deleted.")
    # A person's "This register is right" (review.confirm_register): the faces they left
    # standing then become learnt templates of their students (learning.py).
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-date", "period"]
        constraints = [
            models.UniqueConstraint(fields=["school_class", "date", "period"], name="one_session_per_class_period")
        ]

    def __str__(self):
        return f"{self.school_class} {self.date} {self.period}"

    @property
    def is_finished(self) -> bool:
        """Every photo of the session processed (``ClassPhoto.is_finished``; True with none):
        what the session page, its status.json and the API's status call report. Reads
        ``prefetch_related("photos")`` when the session was loaded with it, else one query."""
        return all(photo.is_finished for photo in self.photos.all())


class ClassPhoto(models.Model):
    PENDING, PROCESSING, DONE, FAILED = "pending", "processing", "done", "failed"
    STATUS_CHOICES = [(PENDING, "Waiting"), (PROCESSING, "Processing"), (DONE, "Done"), (FAILED, "Failed")]
    #: The statuses of a processed photo (``is_finished``; a session is finished when all its photos are).
    FINISHED_STATUSES = (DONE, FAILED)

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=class_photo_upload_to)
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=PENDING)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, help_text="When the last processing attempt began.")
    claimed_by = models.CharField(max_length=200, blank=True, help_text="host:pid of the process working on it.")
    width = models.PositiveIntegerField(null=True, help_text="Upright width in pixels.")
    height = models.PositiveIntegerField(null=True, help_text="Upright height in pixels.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return f"Photo {self.pk} of {self.session}"

    @property
    def is_finished(self) -> bool:
        """Processed: done or failed (``FINISHED_STATUSES``); never decoded again by the worker."""
        return self.status in self.FINISHED_STATUSES

    @property
    def is_pending(self) -> bool:
        return self.status == self.PENDING

    @property
    def is_done(self) -> bool:
        return self.status == self.DONE

    @property
    def is_failed(self) -> bool:
        return self.status == self.FAILED

    @property
    def label_size(self) -> int:
        """Font size of the names drawn on the photo, in photo pixels: about 1/60 of the
        width, so they stay readable when the photo is shown phone-sized."""
        return max(12, round((self.width or 0) / 60))


class DetectedFace(models.Model):
    MATCHED, UNSURE, UNKNOWN, REPEAT, PENDING = "matched", "unsure", "unknown", "repeat", "pending"
    DECISION_CHOICES = [(MATCHED, "Matched"), (UNSURE, "Unsure"), (UNKNOWN, "Unknown"),
                        (REPEAT, "Matched in another photo"), (PENDING, "Not matched yet")]

    photo = models.ForeignKey(ClassPhoto, on_delete=models.CASCADE, related_name="faces")
    left = models.IntegerField()
    top = models.IntegerField()
    right = models.IntegerField()
    bottom = models.IntegerField()
    descriptor = models.BinaryField(editable=False)
    decision = models.CharField(max_length=10, choices=DECISION_CHOICES)
    # The matched student, or for an unsure face the most likely one. Deleting the
    # student deletes the face's descriptor too (biometric data of that child).
    student = models.ForeignKey(Student, on_delete=models.CASCADE, null=True, related_name="detected_faces")
    distance = models.FloatField(null=True)
    # Why an unsure face was not matched, in words for the teacher.
    reason = models.CharField(max_length=200, blank=True)
    # The learnt template the machine's match relied on (its nearest gallery row), so the
    # faces a template influenced can be flagged when it turns out to be wrong.
    matched_template = models.ForeignKey("LearntTemplate", on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="matched_faces")
    # Students within the threshold, nearest first (ids), when the machine decided.
    candidates = models.JSONField(default=list, blank=True)
    # Set when the machine's match should be checked again by a person (a template it
    # relied on was corrected); in words for the teacher. Cleared by a person's decision.
    flagged_reason = models.CharField(max_length=200, blank=True)
    # The teacher's review. The machine's decision above is kept as it was, for the audit.
    CONFIRMED, REASSIGNED, NOT_STUDENT = "confirmed", "reassigned", "not_student"
    REVIEW_CHOICES = [(CONFIRMED, "Confirmed"), (REASSIGNED, "Reassigned"), (NOT_STUDENT, "Not a student")]
    review_action = models.CharField(max_length=12, choices=REVIEW_CHOICES, blank=True)
    reviewed_student = models.ForeignKey(
        Student, on_delete=models.CASCADE, null=True, blank=True, related_name="reviewed_faces")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # What the last person's decision changed (the face's review before it, the records it
    # changed), so ``review.undo_decision`` can put it back. None: nothing to undo.
    undo = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["left", "top"]

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def is_reviewed(self) -> bool:
        return bool(self.review_action)

    @property
    def final_student_id(self) -> int | None:
        """Id of the student this face counts for: the teacher's choice, else the machine's match."""
        if self.is_reviewed:
            return self.reviewed_student_id
        return self.student_id if self.decision == self.MATCHED else None

    @property
    def status_class(self) -> str:
        """CSS class for the box: matched, unsure, unknown, repeat, pending, or reviewed."""
        if self.is_reviewed:
            return "reviewed" if self.reviewed_student_id else "unknown"
        return self.decision

    @property
    def decided_by(self) -> str:
        """"machine", or the username of the person who decided the face."""
        if self.is_reviewed:
            return self.reviewed_by.get_username() if self.reviewed_by else "a deleted user"
        return "machine"

    @property
    def api_decision(self) -> str:
        """The face's decision as the API names it: matched, unsure, unknown or not_a_student."""
        if self.is_reviewed:
            return "matched" if self.reviewed_student_id else "not_a_student"
        if self.decision in (self.MATCHED, self.UNKNOWN):
            return self.decision
        return self.UNSURE  # unsure, matched in another photo, or not matched yet

    @property
    def verdict(self) -> str:
        """What the review page says of the face: the person's answer, else the machine's
        decision in words."""
        if self.is_reviewed:
            return self.reviewed_student.name if self.reviewed_student else "Not a student"
        if self.flagged_reason:
            return f"{self.student.name}? Please check"
        if self.decision == self.MATCHED:
            return self.student.name
        if self.decision == self.REPEAT:
            return f"{self.student.name}, recognised in another photo"
        if self.decision == self.UNSURE:
            return f"Looks like {self.student.name}, not sure" if self.student else "Too small to recognise"
        if self.decision == self.PENDING:
            return "Not recognised yet"
        return "Not on this class's list"

    @property
    def label(self) -> str:
        """The name drawn on the photo: the student, "Name?" when unsure, or "Unknown"."""
        if self.is_reviewed:
            return self.reviewed_student.name if self.reviewed_student else "Not a student"
        if self.decision == self.MATCHED and self.student:
            return self.student.name
        if self.decision == self.UNSURE and self.student:
            return f"{self.student.name}?"
        if self.decision == self.REPEAT and self.student:
            return f"{self.student.name} (other photo)"
        if self.decision == self.PENDING:
            return "…"
        return "Unknown"

    @property
    def label_x(self) -> int:
        """Centre of the label (text-anchor middle), so long names spill evenly."""
        return (self.left + self.right) // 2

    @property
    def label_y(self) -> int:
        """Baseline of the label: just under the box, where it hides no face."""
        return self.bottom + self.photo.label_size


class LearntTemplate(models.Model):
    """An extra gallery descriptor of a student, learnt from a face a person confirmed in a
    class photo (``learning.py``): its 128-D descriptor and a small crop of the face (not
    the class photo), with where it came from. Kept when retention deletes the class
    photo; deleted with the student, when consent is withdrawn, when an admin removes it,
    or at once when a person corrects the face it came from."""

    CONFIRMED, STRONG_MATCH = "confirmed", "strong_match"
    HOW_CHOICES = [(CONFIRMED, "Confirmed register"), (STRONG_MATCH, "Strong machine match")]

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="templates")
    descriptor = models.BinaryField(editable=False)
    crop = models.FileField(upload_to=template_crop_upload_to)
    how = models.CharField(max_length=12, choices=HOW_CHOICES, default=CONFIRMED)
    source_session = models.ForeignKey(ClassSession, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="learnt_templates")
    source_photo = models.ForeignKey(ClassPhoto, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="learnt_templates")
    source_face = models.ForeignKey(DetectedFace, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="learnt_templates")
    # Copied from the session, so the student page can say where it came from after the
    # session (or its class) is deleted.
    source_label = models.CharField(max_length=200, blank=True)
    face_width = models.PositiveIntegerField(help_text="Width of the face in the class photo, pixels.")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    learnt_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["student", "learnt_at", "id"]

    def __str__(self):
        return f"Template {self.pk} of {self.student}"


class AttendanceCode(models.Model):
    """One of the school's attendance codes: what a record's ``status`` holds.

    Seeded with present, late, absent and excused (migration 0006). The school renames
    them and adds its own in the admin; each counts as present or absent in rates. The
    photos only ever write ``present`` and ``absent``, so those two stay active and count
    as themselves. Codes are never deleted (records keep their code): untick "active" to
    stop offering one."""

    PRESENT, ABSENT = "present", "absent"
    COUNTS_CHOICES = [(PRESENT, "Present"), (ABSENT, "Absent")]

    code = models.SlugField(
        max_length=10, unique=True,
        help_text="Stored in the register and in CSV files; letters, digits, - or _; cannot change once saved.")
    label = NameField(max_length=50, help_text="What the pages show, e.g. “Late”.")
    mark = models.CharField(max_length=3, help_text="Short mark in the report's grid, e.g. ✓, L, ✗ or E.")
    counts_as = models.CharField(max_length=7, choices=COUNTS_CHOICES,
                                 help_text="Whether a student with this code counts as present in attendance rates.")
    needs_reason = models.BooleanField(default=False, help_text="A reason must be given with this code.")
    active = models.BooleanField(default=True, help_text="Offered on the register.")
    order = models.PositiveSmallIntegerField(default=0, help_text="Position in the register's list.")

    class Meta:
        ordering = ["order", "code"]

    def __str__(self):
        return f"{self.label} ({self.code})"

    @property
    def counts_present(self) -> bool:
        return self.counts_as == self.PRESENT

    @property
    def is_present(self) -> bool:
        """The present code itself (what the photos write for a recognised student)."""
        return self.code == self.PRESENT

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.code in (self.PRESENT, self.ABSENT):
            # What the photos write: always on offer, and counting as what it says.
            if self.counts_as != self.code:
                raise ValidationError({"counts_as": f"The {self.code} code is what the photos write: it must "
                                                    f"count as {self.code}."})
            if not self.active:
                raise ValidationError({"active": f"The {self.code} code is what the photos write: it stays active."})


class AttendanceRecord(models.Model):
    # What the photos decide; by hand, any active AttendanceCode's ``code``.
    PRESENT, ABSENT = AttendanceCode.PRESENT, AttendanceCode.ABSENT
    STATUS_CHOICES = [(PRESENT, "Present"), (ABSENT, "Absent")]
    PHOTO, MANUAL = "photo", "manual"
    SOURCE_CHOICES = [(PHOTO, "Photo"), (MANUAL, "Manual")]

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="records")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="attendance_records")
    # The AttendanceCode's ``code`` (present or absent when the photos set it).
    status = models.CharField(max_length=10)
    # Why, for codes that need a reason (excused) or when the person gave one.
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10, choices=SOURCE_CHOICES, default=PHOTO)
    # What the photos said before a person changed the record (blank: never changed).
    machine_status = models.CharField(max_length=10, choices=STATUS_CHOICES, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session", "student"]
        constraints = [
            models.UniqueConstraint(fields=["session", "student"], name="one_record_per_student_per_session")
        ]

    @property
    def is_manual(self) -> bool:
        """Set or changed by a person (the manual register, the session page, the API)."""
        return self.source == self.MANUAL

    @property
    def has_other_code(self) -> bool:
        """A code other than the two the photos write (present, absent): late, excused or the school's own."""
        return self.status not in (self.PRESENT, self.ABSENT)


def delete_stored_files(rows) -> None:
    """Remove the photo files of rows whose transaction rolled back, so no photo of a
    child is left on disk without its database row. (Such rows never got renditions: the
    worker makes those after the upload committed.)"""
    for row in rows:
        if row.image:
            row.image.storage.delete(row.image.name)


@receiver(post_delete, sender=LearntTemplate)
def _delete_template_crop(sender, instance, **kwargs):
    # Runs for cascades too (deleting a student), so no crop outlives its template.
    if instance.crop:
        instance.crop.storage.delete(instance.crop.name)


@receiver(post_delete, sender=EnrolmentPhoto)
@receiver(post_delete, sender=ClassPhoto)
def _delete_photo_file(sender, instance, **kwargs):
    # Runs for cascades too (deleting a student or a class), so no photo of a child
    # outlives its database row.
    if instance.image:
        instance.image.storage.delete(instance.image.name)
        from .renditions import delete_renditions

        delete_renditions(instance.image.storage, instance.image.name)


class Consent(models.Model):
    """Consent to face recognition for one student: without it the student is not enrolled
    (no photo, no descriptor) and is registered by hand. Withdrawing it deletes the row
    together with the student's photos and descriptors (``consent.withdraw_consent``)."""

    student = models.OneToOneField(Student, on_delete=models.CASCADE, related_name="consent")
    given_by = models.CharField(max_length=150, help_text="Who gave consent: the parent or guardian, or the student.")
    given_on = models.DateField(help_text="The date on the consent form.", validators=[validate_school_date])
    note = models.CharField(max_length=300, help_text="Where the signed form is kept, or how consent was given.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Consent for {self.student} given by {self.given_by} on {self.given_on}"


class AuditEntry(models.Model):
    """Who did what, when, with the values before and after: every manual change to the
    register, every enrolment, consent and deletion. Kept when the user or the student
    is deleted (no foreign key to the student; the user's name is copied)."""

    RECORD_CHANGED = "record_changed"
    FACE_REVIEWED = "face_reviewed"
    STUDENT_ENROLLED = "student_enrolled"
    PHOTOS_ADDED = "photos_added"
    DUPLICATE_RESOLVED = "duplicate_resolved"
    CONSENT_RECORDED = "consent_recorded"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    DELETED = "deleted"
    MACHINE_CHANGED = "machine_changed"
    REGISTER_CONFIRMED = "register_confirmed"
    TEMPLATE_REMOVED = "template_removed"
    ACTION_CHOICES = [
        (RECORD_CHANGED, "Attendance changed by hand"), (FACE_REVIEWED, "Face reviewed"),
        (STUDENT_ENROLLED, "Student enrolled"), (PHOTOS_ADDED, "Enrolment photos added"),
        (DUPLICATE_RESOLVED, "Look-alike photo decided"), (CONSENT_RECORDED, "Consent recorded"),
        (CONSENT_WITHDRAWN, "Consent withdrawn"), (DELETED, "Deleted"),
        (MACHINE_CHANGED, "Face decision changed by the machine"), (REGISTER_CONFIRMED, "Register confirmed"),
        (TEMPLATE_REMOVED, "Learnt template removed"),
    ]

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, help_text="Kept if the user is deleted.")
    action = models.CharField(max_length=20, choices=ACTION_CHOICES)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50, blank=True)
    summary = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or 'system'}: {self.summary}"


class SignInFailure(models.Model):
    """One wrong password, for sign-in throttling (attendance/signin.py); deleted once older than the window."""

    KIND_CHOICES = [("sign_in", "Sign-in"), ("password", "Password change")]

    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    username = models.CharField(max_length=150)
    #: The client's address (attendance.middleware.client_ip).
    address = models.CharField(max_length=64, blank=True)
    #: The known-device id that made the attempt, "" for an unknown device.
    device = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "username", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.username} from {self.address or '?'} at {self.at:%Y-%m-%d %H:%M}"
