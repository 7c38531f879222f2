"""What the roster imports remember of the school's information system between imports."""
from django.db import models
from django.utils.translation import gettext_lazy


class ImportedRecord(models.Model):
    """The newest version of one row of the school's information system that a roster
    import applied (``attendance/roster/imports``): a row of an older ``dateLastModified``
    is ignored by later imports (OneRoster delta files may arrive out of order), and the
    app object it became (``object_id``: a teacher's user or a term, whose rows have no
    school id of their own)."""

    USERS, CLASSES, ENROLLMENTS, TERMS = "users", "classes", "enrollments", "academicSessions"
    KIND_CHOICES = [
        (USERS, gettext_lazy("User")),
        (CLASSES, gettext_lazy("Class")),
        (ENROLLMENTS, gettext_lazy("Enrolment")),
        (TERMS, gettext_lazy("Term")),
    ]

    kind = models.CharField(max_length=20, choices=KIND_CHOICES)
    source_id = models.CharField(max_length=255, help_text=gettext_lazy("The information system's sourcedId."))
    last_modified = models.DateTimeField(null=True, blank=True,
                                         help_text=gettext_lazy("dateLastModified of the applied row."))
    object_id = models.CharField(max_length=50, blank=True,
                                 help_text=gettext_lazy("The id of the user or term it became."))
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("imported record")
        verbose_name_plural = gettext_lazy("imported records")
        constraints = [models.UniqueConstraint(fields=["kind", "source_id"], name="imported_record_unique")]

    def __str__(self):
        return f"{self.kind} {self.source_id}"
