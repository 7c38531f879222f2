"""Registers: class sessions, their photos and faces, attendance codes and records."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _, gettext_lazy, gettext_noop, pgettext_lazy

from attendance import image_errors, stored_text
from attendance.dates import validate_school_date
from attendance.models.fields import NameField, class_photo_upload_to
from attendance.models.roster import SchoolClass, Student


class ClassSession(models.Model):
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField(help_text=gettext_lazy("The school's local date."), validators=[validate_school_date])
    period = NameField(max_length=50)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when photos of the session were deleted under the retention rule
    # (attendance/registers/retention.py), so the page says so instead of looking broken. The
    # records stay, and what those photos showed keeps counting (register.write_attendance).
    photos_deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    photos_retention_days = models.PositiveIntegerField(
        null=True, blank=True, editable=False,
        help_text=gettext_lazy("CLASS_PHOTO_RETENTION_DAYS when they were deleted."))
    # A person's "This register is right" (review.confirm_register): the faces they left
    # standing then become learnt templates of their students (learning.py).
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+", editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = gettext_lazy("session")
        verbose_name_plural = gettext_lazy("sessions")
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
    STATUS_CHOICES = [(PENDING, gettext_lazy("Waiting")), (PROCESSING, gettext_lazy("Processing")),
                      (DONE, gettext_lazy("Done")), (FAILED, gettext_lazy("Failed"))]
    #: The statuses of a processed photo (``is_finished``; a session is finished when all its photos are).
    FINISHED_STATUSES = (DONE, FAILED)

    session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=class_photo_upload_to)
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=PENDING)
    error = models.CharField(max_length=300, blank=True)
    #: Why it failed, as a code (``attendance.image_errors``: the engine's ImageError codes,
    #: "models", "error", "interrupted", "timeout"; blank before codes were stored): ``error``
    #: holds the English words, ``shown_error`` the reader's.
    error_code = models.CharField(max_length=30, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, help_text=gettext_lazy("When the last processing attempt began."))
    claimed_by = models.CharField(max_length=200, blank=True,
                                  help_text=gettext_lazy("host:pid of the process working on it."))
    width = models.PositiveIntegerField(null=True, help_text=gettext_lazy("Upright width in pixels."))
    height = models.PositiveIntegerField(null=True, help_text=gettext_lazy("Upright height in pixels."))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = gettext_lazy("class photo")
        verbose_name_plural = gettext_lazy("class photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return f"Photo {self.pk} of {self.session}"

    @property
    def shown_error(self) -> str:
        """Why the photo failed, in the reader's language: ``error`` (English, as the worker
        stored it) in English, else the phrase of ``error_code`` (``image_errors``), else
        ``error`` through the catalogue (``stored_text``)."""
        if not self.error or image_errors.in_english():
            return self.error
        if self.error_code in image_errors.MESSAGES:
            return image_errors.image_error_text(self.error_code, self.error)
        return stored_text.shown(self.error)

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
    def marker_radius(self) -> int:
        """Radius of the numbered marker drawn on each face, in photo pixels: 1/26 of the
        width (at least 14), so a marker is about 26 CSS px across when the photo is shown
        340 px wide on a 390 px phone: a readable number and a target a finger can hit
        (the list entry under the photo is the full-size 44 px target)."""
        return max(14, round((self.width or 0) / 26))

class DetectedFace(models.Model):
    MATCHED, UNSURE, UNKNOWN, REPEAT, PENDING = "matched", "unsure", "unknown", "repeat", "pending"
    DECISION_CHOICES = [(MATCHED, gettext_lazy("Matched")), (UNSURE, gettext_lazy("Unsure")),
                        (UNKNOWN, gettext_lazy("Unknown")), (REPEAT, gettext_lazy("Matched in another photo")),
                        (PENDING, gettext_lazy("Not matched yet"))]

    photo = models.ForeignKey(ClassPhoto, on_delete=models.CASCADE, related_name="faces")
    left = models.IntegerField()
    top = models.IntegerField()
    right = models.IntegerField()
    bottom = models.IntegerField()
    descriptor = models.BinaryField(editable=False)
    #: ``engine.model_id()`` of the model that computed ``descriptor`` (blank: no descriptor;
    #: ``UNDESCRIBED``: ``reencode`` could not describe it again). Only descriptors of the
    #: current model are compared (``manage.py reencode`` brings the others up to date).
    descriptor_model = models.CharField(max_length=64, blank=True, editable=False)
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
    REVIEW_CHOICES = [
        (CONFIRMED, gettext_lazy("Confirmed")),
        (REASSIGNED, gettext_lazy("Reassigned")),
        (NOT_STUDENT, gettext_lazy("Not a student")),
    ]
    review_action = models.CharField(max_length=12, choices=REVIEW_CHOICES, blank=True)
    reviewed_student = models.ForeignKey(
        Student, on_delete=models.CASCADE, null=True, blank=True, related_name="reviewed_faces")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # What the last person's decision changed (the face's review before it, the records it
    # changed), so ``review.undo_decision`` can put it back. None: nothing to undo.
    undo = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = gettext_lazy("detected face")
        verbose_name_plural = gettext_lazy("detected faces")
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
        decision in words (in the active language)."""
        if self.is_reviewed:
            return self.reviewed_student.name if self.reviewed_student else _("Not a student")
        if self.flagged_reason:
            return _("%(name)s? Please check") % {"name": self.student.name}
        if self.decision == self.MATCHED:
            return self.student.name
        if self.decision == self.REPEAT:
            return _("%(name)s, recognised in another photo") % {"name": self.student.name}
        if self.decision == self.UNSURE:
            if self.student:
                return _("Looks like %(name)s, not sure") % {"name": self.student.name}
            return _("Too small to recognise")
        if self.decision == self.PENDING:
            return _("Not recognised yet")
        return _("Not on this class's list")

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
    def photo_entry(self) -> str:
        """The face's line in the list under the marked photo (after its number): the
        name when settled, "Not sure: looks like …" when unsure, "Not on this class's list"
        when unknown. The words, not only the marker's colour, say which faces to check
        (in the active language)."""
        if self.is_reviewed:
            return self.reviewed_student.name if self.reviewed_student else _("Not a student")
        if self.flagged_reason and self.student:
            return _("Not sure: looks like %(name)s, please check") % {"name": self.student.name}
        if self.decision == self.MATCHED and self.student:
            return self.student.name
        if self.decision == self.UNSURE:
            if self.student:
                return _("Not sure: looks like %(name)s") % {"name": self.student.name}
            return _("Not sure: too small to recognise")
        if self.decision == self.REPEAT and self.student:
            return _("%(name)s (recognised in another photo)") % {"name": self.student.name}
        if self.decision == self.PENDING:
            return _("Not recognised yet")
        return _("Not on this class's list")

    @property
    def shown_reason(self) -> str:
        """Why the face is unsure or flagged, in the reader's language: ``flagged_reason``,
        else ``reason`` (both stored in English by the worker; ``attendance.stored_text``)."""
        return stored_text.shown(self.flagged_reason or self.reason)

    @property
    def needs_a_look(self) -> bool:
        """True when the face is unsure, flagged or not on the class's list and nobody has
        answered for it yet: its marker and list entry are drawn to stand out."""
        if self.is_reviewed:
            return False
        return self.decision in (self.UNSURE, self.UNKNOWN, self.PENDING) or bool(self.flagged_reason)

    @property
    def marker_x(self) -> int:
        """Centre of the face's numbered marker, in photo pixels: the box's horizontal
        centre, kept inside the photo's edges (by the diamond's reach, 1.25 radii)."""
        reach = round(self.photo.marker_radius * 1.25)
        return min(max((self.left + self.right) // 2, reach), max(reach, (self.photo.width or 0) - reach))

    @property
    def marker_y(self) -> int:
        """Centre of the marker, in photo pixels: just above the box (on the forehead's
        edge, hiding no eyes), or inside the box's top when the face is at the top edge."""
        radius = self.photo.marker_radius
        return max(self.top - radius, round(radius * 1.25))

    @property
    def marker_diamond(self) -> str:
        """SVG ``points`` of the diamond marker drawn on a face that needs a look (a shape,
        not only a colour, sets it apart from the round markers): corners one marker
        radius and a quarter from the marker's centre, in photo pixels."""
        x, y, reach = self.marker_x, self.marker_y, round(self.photo.marker_radius * 1.25)
        return f"{x},{y - reach} {x + reach},{y} {x},{y + reach} {x - reach},{y}"

class AttendanceCode(models.Model):
    """One of the school's attendance codes: what a record's ``status`` holds.

    Seeded with present, late, absent and excused (migration 0006). The school renames
    them and adds its own in the admin; each counts as present or absent in rates. The
    photos only ever write ``present`` and ``absent``, so those two stay active and count
    as themselves. Codes are never deleted (records keep their code): untick "active" to
    stop offering one."""

    PRESENT, ABSENT = "present", "absent"
    COUNTS_CHOICES = [(PRESENT, gettext_lazy("Present")), (ABSENT, gettext_lazy("Absent"))]

    code = models.SlugField(
        gettext_lazy("code"), max_length=10, unique=True,
        help_text=gettext_lazy("Stored in the register and in CSV files; letters, digits, - or _; cannot change "
                               "once saved."))
    label = NameField(gettext_lazy("label"), max_length=50, help_text=gettext_lazy("What the pages show, e.g. “Late”."))
    mark = models.CharField(gettext_lazy("mark"), max_length=3,
                            help_text=gettext_lazy("Short mark in the report's grid, e.g. ✓, L, ✗ or E."))
    counts_as = models.CharField(gettext_lazy("counts as"), max_length=7, choices=COUNTS_CHOICES,
                                 help_text=gettext_lazy("Whether a student with this code counts as present in "
                                                        "attendance rates."))
    needs_reason = models.BooleanField(gettext_lazy("needs a reason"), default=False,
                                       help_text=gettext_lazy("A reason must be given with this code."))
    active = models.BooleanField(gettext_lazy("active"), default=True,
                                 help_text=gettext_lazy("Offered on the register."))
    order = models.PositiveSmallIntegerField(gettext_lazy("order"), default=0,
                                             help_text=gettext_lazy("Position in the register's list."))

    class Meta:
        ordering = ["order", "code"]
        verbose_name = gettext_lazy("attendance code")
        verbose_name_plural = gettext_lazy("attendance codes")

    def __str__(self):
        return f"{self.label} ({self.code})"

    #: The seeded codes' labels and marks (migration 0007): while the school keeps one
    #: unchanged, the pages and exports show it in the reader's language (``shown_label``,
    #: ``shown_mark``); a label or mark the school typed is shown as typed.
    SEEDED_LABELS = {"present": gettext_noop("Present"), "late": gettext_noop("Late"),
                     "absent": gettext_noop("Absent"), "excused": gettext_noop("Excused")}
    SEEDED_MARKS = {"late": ("L", pgettext_lazy("attendance mark of the Late code", "L")),
                    "excused": ("E", pgettext_lazy("attendance mark of the Excused code", "E"))}

    @property
    def shown_label(self) -> str:
        """``label`` in the active language when it is the seeded English label of its
        code ("Present" shows as 出勤 in zh-hans), else ``label`` as the school typed it."""
        return _(self.label) if self.SEEDED_LABELS.get(self.code) == self.label else self.label

    @property
    def shown_mark(self) -> str:
        """``mark`` in the active language when it is the seeded mark of its code (L, E;
        ✓ and ✗ need none), else ``mark`` as typed."""
        seeded = self.SEEDED_MARKS.get(self.code)
        return str(seeded[1]) if seeded and seeded[0] == self.mark else self.mark

    @property
    def counts_present(self) -> bool:
        return self.counts_as == self.PRESENT

    @property
    def is_present(self) -> bool:
        """The present code itself (what the photos write for a recognised student)."""
        return self.code == self.PRESENT

    def clean(self):
        if self.code in (self.PRESENT, self.ABSENT):
            # What the photos write: always on offer, and counting as what it says.
            if self.counts_as != self.code:
                raise ValidationError({"counts_as": _("The %(code)s code is what the photos write: it must count "
                                                      "as %(code)s.") % {"code": self.code}})
            if not self.active:
                raise ValidationError({"active": _("The %(code)s code is what the photos write: it stays "
                                                   "active.") % {"code": self.code}})


class AttendanceRecord(models.Model):
    # What the photos decide; by hand, any active AttendanceCode's ``code``.
    PRESENT, ABSENT = AttendanceCode.PRESENT, AttendanceCode.ABSENT
    STATUS_CHOICES = [(PRESENT, gettext_lazy("Present")), (ABSENT, gettext_lazy("Absent"))]
    PHOTO, MANUAL = "photo", "manual"
    SOURCE_CHOICES = [(PHOTO, gettext_lazy("Photo")), (MANUAL, gettext_lazy("Manual"))]

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
        verbose_name = gettext_lazy("attendance record")
        verbose_name_plural = gettext_lazy("attendance records")
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
