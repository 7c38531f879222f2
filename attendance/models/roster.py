"""The roster: students, classes, consent, enrolment photos and learnt templates (the gallery)."""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy
from django.db.models import Q
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from attendance import image_errors
from attendance.dates import validate_school_date
from attendance.models.fields import NameField, enrolment_upload_to, template_crop_upload_to
from attendance.roles import check_teacher
from attendance.text import validate_no_outer_spaces, validate_single_line_text


def school_id_field(help_text: str) -> models.CharField:
    """The school's own id of a record (admission number, SIS ``sourcedId``): up to 64
    characters on one line (``text.validate_single_line_text``), no leading or trailing
    spaces; blank when the school has none. Unique among non-blank values (a
    ``UniqueConstraint`` with ``~Q(school_id="")`` in each model's Meta)."""
    return models.CharField(max_length=64, blank=True, default="", help_text=help_text,
                            validators=[validate_single_line_text, validate_no_outer_spaces])


class SchoolIdOwner(models.Model):
    """A model with a ``school_id`` unique among non-blank values: a clash is reported on
    the ``school_id`` field (Django reports a conditional constraint on no field)."""

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict({})
            ours = {c.get_violation_error_message() for c in self._meta.constraints
                    if c.name.endswith("school_id_unique")}
            general = errors.pop(NON_FIELD_ERRORS, [])
            taken = [e for e in general if e.message in ours]
            if taken:
                errors.setdefault("school_id", []).extend(taken)
            rest = [e for e in general if e.message not in ours]
            if rest:
                errors[NON_FIELD_ERRORS] = rest
            raise ValidationError(errors)


class Student(SchoolIdOwner):
    """A child of the school, on the roster of any number of classes (``classes``); their
    enrolment photos, consent, learnt templates and records belong to them, not to a class."""

    name = NameField(max_length=150)
    school_id = school_id_field(gettext_lazy("The school's id for the child (admission number, or the information "
                                             "system's sourcedId); blank if none. Unique."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("student")
        verbose_name_plural = gettext_lazy("students")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["school_id"], condition=~Q(school_id=""),
                                               name="student_school_id_unique",
                                               violation_error_message=gettext_lazy(
                                                   "Another student already has this school id."))]

    def __str__(self):
        return self.name

    @property
    def has_ready_photo(self) -> bool:
        """At least one usable enrolment photo (``EnrolmentPhoto.READY``): the class photos
        can recognise the student."""
        return any(photo.is_ready for photo in self.photos.all())

    @property
    def enrolled_face_photo(self):
        """The first (by id) ready enrolment photo with its face box stored, whose face
        crop the roster shows, or None. Uses the prefetched ``photos`` when there are."""
        ready = [p for p in self.photos.all() if p.is_ready and p.face_left is not None]
        return min(ready, key=lambda p: p.pk) if ready else None

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

    #: ``enrolment_state`` in words, for the pages (the state itself names CSS classes and
    #: the API's value, so it stays English).
    ENROLMENT_STATE_WORDS = {"ready": gettext_lazy("ready"), "needs review": gettext_lazy("needs review"),
                             "pending": gettext_lazy("pending"), "failed": gettext_lazy("failed"),
                             "not enrolled": gettext_lazy("not enrolled")}

    @property
    def enrolment_state_display(self) -> str:
        """``enrolment_state`` in the active language ("ready", 可用)."""
        state = self.enrolment_state
        return str(self.ENROLMENT_STATE_WORDS.get(state, state))

    @property
    def enrolment_failed(self) -> bool:
        """Every enrolment photo of the student failed (``enrolment_state`` "failed")."""
        return self.enrolment_state == "failed"


class SchoolClass(SchoolIdOwner):
    """A class (a register): its main ``teacher``, its ``co_teachers`` (co-teaching, cover;
    each with the teacher's rights on the class, ``access.teaches``) and its roster
    ``students`` (membership only: removing a child keeps their records and photos)."""

    name = NameField(max_length=100, unique=True)
    school_id = school_id_field(gettext_lazy("The information system's id of the class (sourcedId); blank if none. "
                                             "Unique."))
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="classes_taught"
    )
    co_teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="classes_co_taught", blank=True,
        help_text=gettext_lazy("Other teachers of the class (co-teaching, cover), each with the teacher's rights "
                               "on it."))
    students = models.ManyToManyField(Student, related_name="classes", blank=True)

    class Meta:
        verbose_name = gettext_lazy("school class")
        verbose_name_plural = gettext_lazy("school classes")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["school_id"], condition=~Q(school_id=""),
                                               name="schoolclass_school_id_unique",
                                               violation_error_message=gettext_lazy(
                                                   "Another class already has this school id."))]

    def __str__(self):
        return self.name

    def clean(self):
        """A class's teacher must not be office staff (``roles.check_teacher``)."""
        if self.teacher_id is not None:
            try:
                check_teacher(self.teacher)
            except ValidationError as exc:
                raise ValidationError({"teacher": exc.messages})


@receiver(m2m_changed, sender=SchoolClass.co_teachers.through)
def _refuse_office_staff_co_teachers(sender, instance, action, reverse, pk_set, **kwargs):
    """Office staff are never a class's co-teacher, as never its teacher (``check_teacher``):
    refused before the rows are written, from either side (``school_class.co_teachers.add``
    or ``user.classes_co_taught.add``). Raises django.core.exceptions.ValidationError, which
    spoils the surrounding transaction (``add`` writes without a savepoint): forms and
    serializers offer only ``roles.teacher_candidates``, so this is the last guard."""
    if action != "pre_add" or not pk_set:
        return
    users = [instance] if reverse else get_user_model().objects.filter(pk__in=pk_set)
    for user in users:
        try:
            check_teacher(user)
        except ValidationError as exc:
            raise ValidationError({"co_teachers": exc.messages})


class EnrolmentPhoto(models.Model):
    PENDING, READY, FAILED, NEEDS_REVIEW = "pending", "ready", "failed", "needs_review"
    STATUS_CHOICES = [
        (PENDING, gettext_lazy("Pending")),
        (READY, gettext_lazy("Ready")),
        (FAILED, gettext_lazy("Failed")),
        (NEEDS_REVIEW, gettext_lazy("Needs review")),
    ]

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to=enrolment_upload_to)
    status = models.CharField(max_length=12, choices=STATUS_CHOICES, default=PENDING)
    failure_code = models.CharField(max_length=30, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    descriptor = models.BinaryField(null=True, editable=False)
    #: ``engine.model_id()`` of the model that computed ``descriptor`` (blank: no descriptor;
    #: ``UNDESCRIBED``: ``reencode`` could not describe it again). Only descriptors of the
    #: current model are compared (``manage.py reencode`` brings the others up to date).
    descriptor_model = models.CharField(max_length=64, blank=True, editable=False)
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
        verbose_name = gettext_lazy("enrolment photo")
        verbose_name_plural = gettext_lazy("enrolment photos")
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
    def shown_failure_reason(self) -> str:
        """Why the photo failed or waits for review, in the reader's language: the stored
        English ``failure_reason`` in English, else the phrase of its ``failure_code``
        (``attendance.image_errors``); "" when none."""
        if not self.failure_reason:
            return ""
        if self.failure_code == "duplicate" and self.duplicate_of_id and not image_errors.in_english():
            return image_errors.duplicate_text(self.duplicate_of.name)
        return image_errors.image_error_text(self.failure_code, self.failure_reason)

    @property
    def needs_review(self) -> bool:
        """Its face looks like another student's: it waits for an admin's decision."""
        return self.status == self.NEEDS_REVIEW


class LearntTemplate(models.Model):
    """An extra gallery descriptor of a student, learnt from a face a person confirmed in a
    class photo (``learning.py``): its 128-D descriptor and a small crop of the face (not
    the class photo), with where it came from. Kept when retention deletes the class
    photo; deleted with the student, when consent is withdrawn, when an admin removes it,
    or at once when a person corrects the face it came from."""

    CONFIRMED, STRONG_MATCH = "confirmed", "strong_match"
    HOW_CHOICES = [
        (CONFIRMED, gettext_lazy("Confirmed register")),
        (STRONG_MATCH, gettext_lazy("Strong machine match")),
    ]

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="templates")
    descriptor = models.BinaryField(editable=False)
    #: ``engine.model_id()`` of the model that computed ``descriptor`` (blank: no descriptor;
    #: ``UNDESCRIBED``: ``reencode`` could not describe it again). Only descriptors of the
    #: current model are compared (``manage.py reencode`` brings the others up to date).
    descriptor_model = models.CharField(max_length=64, blank=True, editable=False)
    crop = models.FileField(upload_to=template_crop_upload_to)
    how = models.CharField(max_length=12, choices=HOW_CHOICES, default=CONFIRMED)
    source_session = models.ForeignKey("ClassSession", on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="learnt_templates")
    source_photo = models.ForeignKey("ClassPhoto", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="learnt_templates")
    source_face = models.ForeignKey("DetectedFace", on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="learnt_templates")
    # Copied from the session, so the student page can say where it came from after the
    # session (or its class) is deleted.
    source_label = models.CharField(max_length=200, blank=True)
    face_width = models.PositiveIntegerField(help_text=gettext_lazy("Width of the face in the class photo, pixels."))
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    learnt_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("learnt face")
        verbose_name_plural = gettext_lazy("learnt faces")
        ordering = ["student", "learnt_at", "id"]

    def __str__(self):
        return f"Template {self.pk} of {self.student}"


class Consent(models.Model):
    """Consent to face recognition for one student: without it the student is not enrolled
    (no photo, no descriptor) and is registered by hand. Withdrawing it deletes the row
    together with the student's photos and descriptors (``consent.withdraw_consent``)."""

    student = models.OneToOneField(Student, on_delete=models.CASCADE, related_name="consent")
    given_by = models.CharField(max_length=150,
                                help_text=gettext_lazy("Who gave consent: the parent or guardian, or the student."))
    given_on = models.DateField(help_text=gettext_lazy("The date on the consent form."),
                                validators=[validate_school_date])
    note = models.CharField(max_length=300,
                            help_text=gettext_lazy("Where the signed form is kept, or how consent was given."))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("consent")
        verbose_name_plural = gettext_lazy("consents")

    def __str__(self):
        return f"Consent for {self.student} given by {self.given_by} on {self.given_on}"


class DifferentChildren(models.Model):
    """Two students an admin said are different children on the "Possible duplicates" page
    (``roster.merging``): the pair is not offered again. ``first`` has the lower id."""

    first = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("pair of different children")
        verbose_name_plural = gettext_lazy("different children")
        constraints = [models.UniqueConstraint(fields=["first", "second"], name="different_children_once")]

    def __str__(self):
        return f"{self.first} and {self.second} are different children"
