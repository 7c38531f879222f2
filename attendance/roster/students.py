"""Changing a student's own details (name, school id): one function for the API and the pages."""
from django.db import transaction

from attendance import audit
from attendance.models import AuditEntry, Student


def change_student(student: Student, user=None, **changes) -> bool:
    """Set ``name`` and/or ``school_id`` of ``student`` (keyword arguments; others refused
    with TypeError), checked by the model (``full_clean``: single-line text, no outer
    spaces in the school id, the school id unique among students). Returns True when
    something changed (audit-logged with the values before and after).

    Raises:
        django.core.exceptions.ValidationError: a value is refused (``message_dict`` by
            field); nothing changed.
    """
    unknown = set(changes) - {"name", "school_id"}
    if unknown:
        raise TypeError(f"change_student() cannot change {', '.join(sorted(unknown))}")
    before = {key: getattr(student, key) for key in changes}
    changed = {key: value for key, value in changes.items() if before[key] != value}
    if not changed:
        return False
    with transaction.atomic():
        for key, value in changed.items():
            setattr(student, key, value)
        try:
            student.full_clean()
        except Exception:
            for key in changed:
                setattr(student, key, before[key])
            raise
        student.save(update_fields=list(changed))
        audit.record(user, AuditEntry.STUDENT_CHANGED, student, f"{student.name} (#{student.pk}) changed: "
                     + ", ".join(sorted(changed)), before={k: before[k] for k in changed}, after=changed)
    return True
