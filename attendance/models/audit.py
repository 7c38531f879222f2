"""Who did what: the audit log and failed sign-ins."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy
from django.utils import timezone


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
    DESCRIPTORS_REENCODED = "reencoded"
    MEMBERSHIP_CHANGED = "membership_changed"
    CLASS_CHANGED = "class_changed"
    STUDENTS_MERGED = "students_merged"
    NOT_DUPLICATES = "not_duplicates"
    STUDENT_CHANGED = "student_changed"
    STAFF_CHANGED = "staff_changed"
    IMPORTED = "imported"
    CODE_CHANGED = "code_changed"
    ACTION_CHOICES = [
        (RECORD_CHANGED, gettext_lazy("Attendance changed by hand")),
        (FACE_REVIEWED, gettext_lazy("Face reviewed")),
        (STUDENT_ENROLLED, gettext_lazy("Student enrolled")),
        (PHOTOS_ADDED, gettext_lazy("Enrolment photos added")),
        (DUPLICATE_RESOLVED, gettext_lazy("Look-alike photo decided")),
        (CONSENT_RECORDED, gettext_lazy("Consent recorded")),
        (CONSENT_WITHDRAWN, gettext_lazy("Consent withdrawn")),
        (DELETED, gettext_lazy("Deleted")),
        (MACHINE_CHANGED, gettext_lazy("Face decision changed by the machine")),
        (REGISTER_CONFIRMED, gettext_lazy("Register confirmed")),
        (TEMPLATE_REMOVED, gettext_lazy("Learnt template removed")),
        (DESCRIPTORS_REENCODED, gettext_lazy("Descriptors re-encoded")),
        (MEMBERSHIP_CHANGED, gettext_lazy("Class roster changed")),
        (CLASS_CHANGED, gettext_lazy("Class changed")),
        (STUDENTS_MERGED, gettext_lazy("Students merged")),
        (NOT_DUPLICATES, gettext_lazy("Look-alike students: different children")),
        (STUDENT_CHANGED, gettext_lazy("Student's name or school id changed")),
        (STAFF_CHANGED, gettext_lazy("Staff account changed")),
        (IMPORTED, gettext_lazy("Imported from a file")),
        (CODE_CHANGED, gettext_lazy("Attendance code added or changed")),
    ]

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    username = models.CharField(max_length=150, blank=True, help_text=gettext_lazy("Kept if the user is deleted."))
    action = models.CharField(max_length=20, choices=ACTION_CHOICES)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50, blank=True)
    summary = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("audit entry")
        verbose_name_plural = gettext_lazy("audit entries")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or 'system'}: {self.summary}"


class SignInFailure(models.Model):
    """One wrong password, for sign-in throttling (attendance/wiring/signin.py); deleted once older than the window."""

    KIND_CHOICES = [("sign_in", gettext_lazy("Sign-in")), ("password", gettext_lazy("Password change"))]

    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    username = models.CharField(max_length=150)
    #: The client's address (attendance.wiring.middleware.client_ip).
    address = models.CharField(max_length=64, blank=True)
    #: The known-device id that made the attempt, "" for an unknown device.
    device = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = gettext_lazy("failed sign-in")
        verbose_name_plural = gettext_lazy("failed sign-ins")
        indexes = [models.Index(fields=["kind", "username", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.username} from {self.address or '?'} at {self.at:%Y-%m-%d %H:%M}"
