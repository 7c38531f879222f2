"""The audit log: one call per manual change, enrolment, consent decision or deletion."""
from attendance.models import AuditEntry


#: The actor of decisions the face matching made by itself (``username`` of its entries).
MACHINE = "machine"


def record(user, action: str, obj, summary: str, before: dict | None = None,
           after: dict | None = None, actor: str = "") -> AuditEntry:
    """Write one audit entry: ``user`` (None for the system) did ``action`` to ``obj`` (a
    model instance, or a model class for an action on many rows). ``actor`` names a
    non-person actor when ``user`` is None (``MACHINE`` for the face matching).

    ``before`` and ``after`` are JSON-serialisable dicts of the values that changed
    (None when the object did not exist before, or no longer exists after).
    """
    entry = unsaved(user, action, obj, summary, before, after, actor)
    entry.save()
    return entry


def unsaved(user, action: str, obj, summary: str, before: dict | None = None,
            after: dict | None = None, actor: str = "") -> AuditEntry:
    """The entry ``record`` writes, not saved: for ``AuditEntry.objects.bulk_create`` when one
    operation writes many (a roster import). The same arguments as ``record``."""
    return AuditEntry(
        user=user if getattr(user, "pk", None) else None,
        username=user.get_username() if getattr(user, "pk", None) else actor,
        action=action,
        object_type=obj._meta.verbose_name,
        object_id="" if isinstance(obj, type) else str(obj.pk or ""),
        summary=summary[:300],
        before=before,
        after=after,
    )
