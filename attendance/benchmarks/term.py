"""The term benchmark (issue 13): the class photos of a ``make_classroom.py --snapshots N
--distinct`` folder as N consecutive sessions of one class, with learning on and a
simulated teacher who answers and corrects each register from ``truth.json`` and
confirms it.

Runs the worker's own functions (``encode_enrolment_photo``, ``process_class_photo``)
and the review's (``review.decide_face``, ``register.set_record``,
``review.confirm_register``: the same the web page and the API call) on the configured
database, which ``manage.py benchmark_accuracy --term`` makes a throwaway one.

What is measured per session, before the teacher touches it: the machine's recall
(present students marked present / present students), false presents (students marked
present who are absent: strangers and bystanders took their places), faces left unsure
and unknown. Then the teacher's actions (each answer or correction: a face given to its
student, "Not a student" for a stranger's face the machine matched or was unsure of, a
present student without a face marked present by hand; not the confirm tap), the
templates learnt at the confirmation and those learnt from the wrong person.

Faces are attributed to people by box overlap: truth.json gives each person's tile
``[x, y, w, h]``; the face nearest the tile's centre (within a quarter of the tile) is the
person, any other face in the tile is a bystander of the LFW photo, counted as a stranger.
"""
import datetime
import time
import uuid
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from attendance.registers import review
from attendance.benchmarks.accuracy import load_truth
from attendance.roster.consent import record_consent
from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import (
    AttendanceRecord,
    ClassPhoto,
    ClassSession,
    DetectedFace,
    EnrolmentPhoto,
    LearntTemplate,
    SchoolClass,
    Student,
)
from attendance.registers.recognition import process_class_photo
from attendance.registers.register import set_record
from attendance.roster.zip_enrolment import IMAGE_SUFFIXES, folder_to_name

#: The first session's date (any date: the database is thrown away).
FIRST_DAY = datetime.date(2030, 9, 2)


def snapshot_order(truth: dict) -> list[str]:
    """The class photos in session order: ``classes/0.jpg``, ``classes/1.jpg``, ..."""
    return sorted(truth["snapshots"], key=lambda name: (len(name), name))


def attribute_faces(faces, snapshot: dict) -> dict:
    """``{face pk: person's folder name or None}`` for a photo's ``DetectedFace`` rows.

    A face belongs to the tile ``[x, y, w, h]`` of truth.json holding its centre; the face
    nearest the tile's centre, within a quarter of the tile's width, is the tile's person
    (LFW photos are centred on their person); other faces in the tile are bystanders, and
    faces outside every tile belong to nobody (both None: strangers to the class).
    """
    owner = {face.pk: None for face in faces}
    for name, (x, y, w, h) in snapshot["boxes"].items():
        inside = [f for f in faces
                  if x <= (f.left + f.right) / 2 < x + w and y <= (f.top + f.bottom) / 2 < y + h]
        if not inside:
            continue
        centre = min(inside, key=lambda f: ((f.left + f.right) / 2 - x - w / 2) ** 2
                     + ((f.top + f.bottom) / 2 - y - h / 2) ** 2)
        offset = (((centre.left + centre.right) / 2 - x - w / 2) ** 2
                  + ((centre.top + centre.bottom) / 2 - y - h / 2) ** 2) ** 0.5
        if offset <= w / 4:
            owner[centre.pk] = name
    return owner


def enrol_roster(bench: Path, truth: dict, teacher) -> tuple[SchoolClass, dict]:
    """A class with every enrolled person of the benchmark, consent recorded, enrolment
    photos encoded as the worker does. Returns ``(class, {folder name: Student})``."""
    school_class = SchoolClass.objects.create(name=f"Term benchmark {uuid.uuid4().hex[:8]}", teacher=teacher)
    students = {}
    for path in sorted((bench / "enrol").glob("*/*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        folder = path.parent.name
        if folder not in students:
            students[folder] = Student.objects.create(name=folder_to_name(folder))
            school_class.students.add(students[folder])
            record_consent(students[folder], "Benchmark", FIRST_DAY, "public LFW photos", teacher)
        photo = EnrolmentPhoto.objects.create(student=students[folder],
                                              image=ContentFile(path.read_bytes(), name=path.name))
        encode_enrolment_photo(photo.pk)
    return school_class, students


def machine_figures(session, snapshot: dict, students: dict, owners: dict) -> dict:
    """What the machine did alone: recall, false presents, unsure and unknown faces."""
    name_of = {s.pk: folder for folder, s in students.items()}
    marked = {name_of[r.student_id] for r in session.records.filter(status=AttendanceRecord.PRESENT)}
    truly = set(snapshot["present"])
    faces = DetectedFace.objects.filter(photo__session=session)
    face_of = {owner: face for face in faces.select_related("student") for owner in [owners.get(face.pk)] if owner}
    return {
        "present": len(truly), "found": len(truly & marked), "false_presents": len(marked - truly),
        # Each false present with the face that took them: whose it was (a stranger, a
        # bystander, another student), its width and distance, and from which gallery row.
        "false_present_names": [f"{name}: {taken_by(faces, name_of, owners, students, name)}"
                                for name in sorted(marked - truly)],
        # Each missed student with why: their face's decision, or no face found, or not enrolled.
        "missed": {name: miss_cause(face_of.get(name), students.get(name)) for name in sorted(truly - marked)},
        "faces": faces.count(), "unsure": faces.filter(decision=DetectedFace.UNSURE).count(),
        "unknown": faces.filter(decision=DetectedFace.UNKNOWN).count(),
        "strangers_and_bystanders": sum(owner not in students for owner in owners.values()),
    }


def taken_by(faces, name_of: dict, owners: dict, students: dict, name: str) -> str:
    """Which face made ``name`` present: its owner (stranger, bystander, student), width,
    distance and whether the match relied on a learnt template."""
    face = next((f for f in faces if f.final_student_id is not None and name_of[f.final_student_id] == name), None)
    if face is None:
        return "?"
    owner = owners.get(face.pk)
    who = "a bystander" if owner is None else f"stranger {owner}" if owner not in students else f"student {owner}"
    return (f"{who}, {face.width} px, distance {face.distance:.3f}"
            f"{', via a learnt template' if face.matched_template_id else ''}")


def miss_cause(face, student) -> str:
    """Why a present student was not marked present by the machine, in a few words."""
    if student is None or not student.photos.filter(status=EnrolmentPhoto.READY).exists():
        return "not enrolled"
    if face is None:
        return "no face found"
    if face.decision == DetectedFace.UNKNOWN:
        return "too far from their gallery"
    if face.decision == DetectedFace.MATCHED:
        return f"matched to {face.student.name}"
    likely = f" (looks like {face.student.name})" if face.student and face.student_id != student.pk else ""
    return f"unsure: {face.reason or face.decision}{likely}"


def simulated_teacher(session, snapshot: dict, students: dict, owners: dict, teacher) -> int:
    """Correct the session's register from the truth, as a teacher on the review page
    would, through ``review.decide_face`` (and ``register.set_record`` for a present
    student no face shows). Returns the number of actions (answers and corrections)."""
    name_of = {s.pk: folder for folder, s in students.items()}
    actions = 0

    def faces():
        return list(DetectedFace.objects.filter(photo__session=session).select_related("photo").order_by("pk"))

    # A face the machine gave to the wrong student (or a stranger's face given to anyone).
    for face in faces():
        counted = face.final_student_id
        if counted is not None and name_of[counted] != owners[face.pk]:
            review.decide_face(face, teacher, students.get(owners[face.pk]))  # "Someone else" or "Not a student"
            actions += 1
    # A present student's face that does not count for them: "Yes, <name>" or "Someone else".
    for face in faces():
        truth = students.get(owners[face.pk])
        if truth is not None and face.final_student_id != truth.pk:
            review.decide_face(face, teacher, truth)
            actions += 1
    # A stranger's or bystander's face the machine was unsure of: "Not a student".
    for face in faces():
        if owners[face.pk] not in students and not face.is_reviewed and face.decision == DetectedFace.UNSURE \
                and face.student_id is not None:
            review.decide_face(face, teacher, None)
            actions += 1
    # A present student still marked absent (no face of theirs was found): by hand.
    present = {r.student_id for r in session.records.all() if r.status == AttendanceRecord.PRESENT}
    for folder in snapshot["present"]:
        if folder in students and students[folder].pk not in present:
            set_record(session, students[folder], AttendanceRecord.PRESENT, teacher)
            actions += 1
    return actions


def run(bench: Path, report=print) -> dict:
    """The whole term; returns the result dict printed as the command's last line."""
    started = time.monotonic()
    truth = load_truth(bench)
    teacher = get_user_model().objects.create_user(f"term-teacher-{uuid.uuid4().hex[:6]}")
    school_class, students = enrol_roster(bench, truth, teacher)
    ready = EnrolmentPhoto.objects.filter(student__classes=school_class, status=EnrolmentPhoto.READY)
    report(f"enrolled {ready.values('student').distinct().count()} of {len(students)} students "
           f"({ready.count()} photos ready)")
    rows = []
    for number, name in enumerate(snapshot_order(truth)):
        snapshot = truth["snapshots"][name]
        session = ClassSession.objects.create(school_class=school_class, period="Period 1",
                                              date=FIRST_DAY + datetime.timedelta(days=number))
        photo = ClassPhoto.objects.create(session=session, image=ContentFile((bench / name).read_bytes(),
                                                                             name=Path(name).name))
        process_class_photo(photo.pk)
        owners = attribute_faces(list(photo.faces.all()), snapshot)
        row = {"session": number + 1, "photo": name, **machine_figures(session, snapshot, students, owners)}
        row["recall"] = round(row["found"] / row["present"], 4) if row["present"] else None
        row["teacher_actions"] = simulated_teacher(session, snapshot, students, owners, teacher)
        learnt = review.confirm_register(session, teacher)
        row["templates_learnt"] = len(learnt)
        row["templates_wrong"] = sum(owners.get(t.source_face_id) != _folder(students, t.student_id)
                                     for t in learnt)
        row["gallery_templates"] = LearntTemplate.objects.filter(student__classes=school_class).count()
        rows.append(row)
        report(f"session {row['session']} ({name}): machine recall {row['recall']:.1%} "
               f"({row['found']}/{row['present']}), false presents {row['false_presents']}"
               f"{' (' + '; '.join(row['false_present_names']) + ')' if row['false_presents'] else ''}, "
               f"unsure {row['unsure']}, unknown {row['unknown']} of {row['faces']} faces "
               f"({row['strangers_and_bystanders']} strangers or bystanders); teacher actions "
               f"{row['teacher_actions']}; templates learnt {row['templates_learnt']} "
               f"(from the wrong person {row['templates_wrong']}; {row['gallery_templates']} in the gallery); "
               f"missed {', '.join(f'{k} ({v})' for k, v in row['missed'].items()) or 'nobody'}")
    photos = len(rows)
    return {
        "sessions": [{k: v for k, v in r.items() if k not in ("false_present_names",)} for r in rows],
        "recall_by_session": [r["recall"] for r in rows],
        "recall_session_1": rows[0]["recall"] if rows else None,
        "recall_sessions_4_5": _recall(rows[3:5]),
        "false_presents_per_photo": round(sum(r["false_presents"] for r in rows) / photos, 3) if photos else None,
        "unsure_per_photo": round(sum(r["unsure"] for r in rows) / photos, 3) if photos else None,
        "teacher_actions_per_photo": round(sum(r["teacher_actions"] for r in rows) / photos, 3) if photos else None,
        "templates_learnt": sum(r["templates_learnt"] for r in rows),
        "templates_wrong": sum(r["templates_wrong"] for r in rows),
        "photos": photos,
        "seconds": round(time.monotonic() - started, 1),
    }


def _recall(rows) -> float | None:
    present = sum(r["present"] for r in rows)
    return round(sum(r["found"] for r in rows) / present, 4) if present else None


def _folder(students: dict, student_id: int) -> str | None:
    return next((folder for folder, s in students.items() if s.pk == student_id), None)
