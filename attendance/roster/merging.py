"""Merging two students who are the same child (enrolled twice, e.g. once per class).

One function per operation, used by the "Possible duplicates" page, the
``merge_students`` command and migration 0015 (which merges students whose enrolment
photos are byte-identical):

- ``merge_students(a, b)``: everything of the newer student moves to the older one (the
  first enrolled): class memberships, attendance records, enrolment photos, learnt
  templates, detected faces, consent, school id; the newer student row goes. Where both
  have a record of the same session the one changed last is kept, and the other is
  written to the audit entry. Nothing else is lost.
- ``possible_duplicates()``: pairs of students whose enrolment descriptors are within
  the match threshold, nearest first, less the pairs an admin called different children.
- ``mark_different(a, b)``: the admin's "Different children": the pair is not offered again.

The merge works on the models of a registry (``django.apps.apps``, or a migration's
``apps``), so the data migration runs this same code on its historical models.
"""
from dataclasses import dataclass

import numpy as np
from django.apps import apps as current_apps
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from faces.matching import distance_matrix

from attendance.renditions import delete_renditions
from attendance.roster.photo_hashes import file_sha256


class MergeError(Exception):
    """Two students that cannot be merged (the message says why); nothing changed."""


def _model(registry, name):
    return registry.get_model("attendance", name)


def oldest_first(a, b) -> tuple:
    """``(older, newer)`` of two students: the first enrolled (created_at, then id)."""
    return (a, b) if (a.created_at, a.pk) <= (b.created_at, b.pk) else (b, a)


def merge_students(a, b, user=None, registry=None, how: str = "confirmed by an admin") -> dict:
    """Merge two students who are the same child into the older one (``oldest_first``).

    Args:
        a, b: the two students (``Student`` rows of ``registry``).
        user: who decided (None: the system, e.g. the data migration).
        registry: the app registry whose models to use (a migration's ``apps``); default
            the running app's.
        how: why they are one child, for the audit entry.

    Returns:
        A summary dict: ``kept`` and ``merged`` (ids), ``classes``, ``records``,
        ``photos``, ``identical_photos_dropped``, ``records_dropped`` (the records of
        sessions both had that lost to the one changed last, as dicts), and counts of the
        other rows moved by model name.

    Raises:
        MergeError: the same student twice, or two different non-blank school ids.
    """
    registry = registry or current_apps
    Student = _model(registry, "Student")
    keep, other = oldest_first(a, b)
    if keep.pk == other.pk:
        raise MergeError(gettext("A student cannot be merged with themselves."))
    if keep.school_id and other.school_id and keep.school_id != other.school_id:
        raise MergeError(gettext("%(first)s (#%(first_id)s) and %(second)s (#%(second_id)s) have different school "
                                 "ids (%(first_school_id)s, %(second_school_id)s): the school's records say they are "
                                 "two children. Correct the school id first if they are one.")
                         % {"first": keep.name, "first_id": keep.pk, "second": other.name, "second_id": other.pk,
                            "first_school_id": keep.school_id, "second_school_id": other.school_id})
    summary = {"kept": keep.pk, "merged": other.pk, "records_dropped": []}
    with transaction.atomic():
        keep = Student.objects.select_for_update().get(pk=keep.pk)
        other = Student.objects.select_for_update().get(pk=other.pk)
        before = {"kept": _describe(keep), "merged": _describe(other)}
        for relation in _relations_to(Student):
            model = relation.related_model
            if relation.many_to_many:
                summary[relation.name] = _move_memberships(relation, keep, other)
            elif model._meta.model_name == "attendancerecord":
                summary["records"] = _move_records(model, keep, other, summary["records_dropped"])
            elif model._meta.model_name == "consent":
                summary["consent"] = _move_consent(model, keep, other)
            elif model._meta.model_name == "differentchildren":
                model.objects.filter(**{relation.field.name: other}).delete()
            elif model._meta.model_name == "enrolmentphoto" and relation.field.name == "student":
                summary["photos"], summary["identical_photos_dropped"] = _move_photos(model, keep, other)
            elif relation.one_to_many or relation.one_to_one:
                moved = model.objects.filter(**{relation.field.name: other}).update(**{relation.field.name: keep})
                summary[f"{model._meta.model_name}.{relation.field.name}"] = moved
        # A look-alike flag between the two is answered: they are one child.
        Photo = _model(registry, "EnrolmentPhoto")
        Photo.objects.filter(student=keep, status="needs_review", duplicate_of=keep).update(
            status="ready", duplicate_of=None, duplicate_distance=None, failure_code="", failure_reason="")
        if other.school_id and not keep.school_id:
            school_id, other.school_id = other.school_id, ""
            other.save(update_fields=["school_id"])
            keep.school_id = school_id
            keep.save(update_fields=["school_id"])
        summary["classes"] = summary.pop("classes", 0)
        _audit(registry, user, keep, other, before, summary, how)
        other.delete()
    return summary


def _relations_to(Student) -> list:
    """Every relation pointing at Student, hidden ones (``related_name="+"``) included,
    less the rows of automatic many-to-many tables (moved through their many-to-many)."""
    return [f for f in Student._meta.get_fields(include_hidden=True)
            if f.auto_created and not f.concrete and not f.related_model._meta.auto_created]


def _describe(student) -> dict:
    return {"id": student.pk, "name": student.name, "school_id": student.school_id,
            "created_at": student.created_at.isoformat() if student.created_at else None}


def _move_memberships(relation, keep, other) -> int:
    """Rows of a many-to-many to Student (a class's roster): the other's become keep's."""
    through = relation.through
    owner = relation.field.m2m_field_name()
    student = relation.field.m2m_reverse_field_name()
    kept = set(through.objects.filter(**{student: keep}).values_list(f"{owner}_id", flat=True))
    moved = 0
    for row in list(through.objects.filter(**{student: other})):
        if getattr(row, f"{owner}_id") in kept:
            row.delete()
        else:
            through.objects.filter(pk=row.pk).update(**{student: keep})
            moved += 1
    return moved


def _move_records(Record, keep, other, dropped: list) -> int:
    """The other's attendance records become keep's; of two records of one session, the
    one changed last (``updated_at``) stays and the other is appended to ``dropped``."""
    kept = {r.session_id: r for r in Record.objects.filter(student=keep)}
    moved = 0
    for record in list(Record.objects.filter(student=other)):
        mine = kept.get(record.session_id)
        if mine is not None:
            loser, winner = (mine, record) if record.updated_at > mine.updated_at else (record, mine)
            dropped.append({"session": record.session_id, "student": loser.student_id, "status": loser.status,
                            "reason": loser.reason, "source": loser.source,
                            "updated_at": loser.updated_at.isoformat(), "kept_status": winner.status})
            loser.delete()
            if winner is mine:
                continue
        Record.objects.filter(pk=record.pk).update(student=keep)
        moved += 1
    return moved


def _move_consent(Consent, keep, other) -> str:
    """Keep's consent stays; without one, the other's becomes keep's."""
    theirs = Consent.objects.filter(student=other).first()
    if theirs is None:
        return "kept"
    if Consent.objects.filter(student=keep).exists():
        theirs.delete()
        return "kept (the merged student's copy removed)"
    Consent.objects.filter(pk=theirs.pk).update(student=keep)
    return "moved"


def _move_photos(Photo, keep, other) -> tuple[int, int]:
    """The other's enrolment photos become keep's, but for files byte-identical to one of
    keep's (the same photo enrolled twice), which are deleted with their files."""
    known = {file_sha256(p.image) for p in Photo.objects.filter(student=keep)} - {None}
    moved = dropped = 0
    for photo in list(Photo.objects.filter(student=other)):
        digest = file_sha256(photo.image)
        if digest is not None and digest in known:
            name, storage = photo.image.name, photo.image.storage
            photo.delete()
            storage.delete(name)  # also without the post_delete receiver (a migration's models)
            delete_renditions(storage, name)
            dropped += 1
            continue
        known.add(digest)
        Photo.objects.filter(pk=photo.pk).update(student=keep)
        moved += 1
    return moved, dropped


def _audit(registry, user, keep, other, before, summary, how) -> None:
    entry = _model(registry, "AuditEntry")
    who = user if getattr(user, "pk", None) else None
    entry.objects.create(
        user_id=who.pk if who else None, username=who.get_username() if who else "",
        action="students_merged", object_type="student", object_id=str(keep.pk),
        summary=f"{other.name} (#{other.pk}) merged into {keep.name} (#{keep.pk}): {how}"[:300],
        before=before, after={key: value for key, value in summary.items()})


@dataclass
class PossibleDuplicate:
    """Two students whose enrolment photos look alike: ``distance`` between their nearest
    descriptors (Euclidean, 128-D), ``first`` the older."""

    first: object
    second: object
    distance: float

    @property
    def students(self) -> tuple:
        """``(first, second)``, for the page's loop."""
        return self.first, self.second


def possible_duplicates(threshold: float | None = None, limit: int = 200) -> list[PossibleDuplicate]:
    """Pairs of students with ready (or look-alike) enrolment photos (current model) within ``threshold``
    (default ``settings.FACE_MATCH_THRESHOLD``: the distance at which recognition would
    take one for the other), nearest first, at most ``limit``; pairs an admin called
    different children (``mark_different``) are left out."""
    from attendance import engine
    from attendance.models import DifferentChildren, EnrolmentPhoto, Student, descriptor_from_bytes

    threshold = settings.FACE_MATCH_THRESHOLD if threshold is None else threshold
    # Photos waiting as look-alikes (needs review) are the likeliest duplicates of all.
    rows = list(EnrolmentPhoto.objects.filter(status__in=[EnrolmentPhoto.READY, EnrolmentPhoto.NEEDS_REVIEW],
                                              descriptor_model=engine.model_id())
                .exclude(descriptor=None).values_list("student_id", "descriptor"))
    if len(rows) < 2:
        return []
    owners = np.array([s for s, _ in rows])
    gallery = np.array([descriptor_from_bytes(d) for _, d in rows], dtype=np.float32)
    decided = set(DifferentChildren.objects.values_list("first_id", "second_id"))
    nearest: dict[tuple[int, int], float] = {}
    for start in range(0, len(rows), 512):  # 512 x N distances at a time
        distances = distance_matrix(gallery[start:start + 512], gallery)
        for i, j in zip(*np.nonzero(distances <= threshold)):
            a, b = int(owners[start + i]), int(owners[j])
            if a < b and (a, b) not in decided:
                nearest[(a, b)] = min(nearest.get((a, b), np.inf), float(distances[i, j]))
    pairs = sorted(nearest.items(), key=lambda item: item[1])[:limit]
    students = Student.objects.in_bulk({pk for pair, _ in pairs for pk in pair})
    return [PossibleDuplicate(*oldest_first(students[a], students[b]), distance) for (a, b), distance in pairs]


def mark_different(a, b, user=None) -> None:
    """An admin's "Different children": the pair is no longer offered as possible duplicates
    (audit-logged).

    Raises MergeError: the same student twice (nothing recorded)."""
    from attendance import audit
    from attendance.models import AuditEntry, DifferentChildren

    if a.pk == b.pk:
        raise MergeError(gettext("A student cannot be set apart from themselves."))
    first, second = (a, b) if a.pk < b.pk else (b, a)
    with transaction.atomic():
        DifferentChildren.objects.get_or_create(first=first, second=second, defaults={"decided_by": user})
        audit.record(user, AuditEntry.NOT_DUPLICATES, first, f"{first.name} (#{first.pk}) and {second.name} "
                     f"(#{second.pk}) are different children", after={"students": [first.pk, second.pk]})


def merge_identical_enrolments(registry=None) -> list[dict]:
    """Merge every set of students whose enrolment photos include a byte-identical file
    (same SHA-256 of the stored file): the same photo enrolled for two students is one
    child enrolled twice. Each set goes to its oldest student. Returns the merges'
    summaries. Used by migration 0015 (with its ``apps``) and safe to run again."""
    registry = registry or current_apps
    Photo = _model(registry, "EnrolmentPhoto")
    Student = _model(registry, "Student")
    owner_of: dict[str, int] = {}
    parent: dict[int, int] = {}

    def root(pk):
        while parent.get(pk, pk) != pk:
            pk = parent[pk]
        return pk

    for photo in Photo.objects.order_by("pk"):
        digest = file_sha256(photo.image) if photo.image else None
        if digest is None:
            continue
        first = owner_of.setdefault(digest, photo.student_id)
        a, b = root(first), root(photo.student_id)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for pk in parent:
        groups.setdefault(root(pk), []).append(pk)
    summaries = []
    for head, members in groups.items():
        students = sorted(Student.objects.filter(pk__in={head, *members}), key=lambda s: (s.created_at, s.pk))
        keep = students[0]
        for other in students[1:]:
            try:
                summaries.append(merge_students(keep, other, registry=registry,
                                                how="byte-identical enrolment photos"))
            except MergeError:
                continue  # two school ids: left for an admin (the page lists them)
    return summaries
