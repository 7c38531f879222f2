"""The register's models, in modules by domain; every model is importable from here
(``attendance.models.Student``), with the one app label ``attendance`` and its tables.

- ``fields``: names people type, generated file names, descriptor bytes.
- ``roster``: students, classes, consent, enrolment photos, learnt templates.
- ``timetable``: a class's weekly periods, terms and holidays.
- ``registers``: class sessions, their photos and faces, attendance codes and records.
- ``audit``: the audit log and failed sign-ins.
- ``imports``: what roster imports remember of the information system.
- ``accounts``: a one-time password to change at the next sign-in; the language a user chose.
- ``files``: removing stored files with their rows.
"""
from attendance.models.accounts import LanguagePreference, PasswordChangeRequired
from attendance.models.audit import AuditEntry, SignInFailure
from attendance.models.fields import (
    UNDESCRIBED,
    NameField,
    class_photo_upload_to,
    descriptor_from_bytes,
    descriptor_to_bytes,
    enrolment_upload_to,
    template_crop_upload_to,
)
from attendance.models.files import delete_stored_files
from attendance.models.imports import ImportedRecord
from attendance.models.registers import AttendanceCode, AttendanceRecord, ClassPhoto, ClassSession, DetectedFace
from attendance.models.roster import Consent, DifferentChildren, EnrolmentPhoto, LearntTemplate, SchoolClass, Student
from attendance.models.timetable import LAST_DAY, WEEKDAY_CHOICES, Holiday, Term, TimetablePeriod, overlap_message

__all__ = [
    "AttendanceCode", "AttendanceRecord", "AuditEntry", "ClassPhoto", "ClassSession", "Consent", "DetectedFace",
    "DifferentChildren", "EnrolmentPhoto", "Holiday", "ImportedRecord", "LAST_DAY", "LearntTemplate", "NameField",
    "LanguagePreference", "PasswordChangeRequired", "SchoolClass", "SignInFailure",
    "Student", "Term", "TimetablePeriod", "UNDESCRIBED", "WEEKDAY_CHOICES", "class_photo_upload_to", "delete_stored_files",
    "descriptor_from_bytes", "descriptor_to_bytes", "enrolment_upload_to", "overlap_message",
    "template_crop_upload_to",
]
