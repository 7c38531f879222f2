"""What the API shows and accepts. Explicit fields only: no descriptor, no photo file or
file URL is ever serialised; photos are linked to the web views that check permission."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from attendance import engine
from attendance.roster import consent as consents
from attendance.dates import validate_school_date
from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, EnrolmentPhoto, SchoolClass, Student
from attendance.text import validate_single_line_text


def link(request, name: str, *args) -> str:
    """The absolute URL of a named view (API or web page) for the request (a path without one)."""
    path = reverse(name, args=args)
    return request.build_absolute_uri(path) if request is not None else path


class UserNameField(serializers.CharField):
    """A user as their username (None for a deleted user or the system)."""

    def to_representation(self, user):
        return user.get_username() if user is not None else None


class SchoolClassSerializer(serializers.ModelSerializer):
    teacher = UserNameField(read_only=True, help_text="The teacher's username.")
    co_teachers = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the class's co-teachers (co-teaching, cover), each with the "
                                             "teacher's rights on it.")
    student_count = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    students_url = serializers.SerializerMethodField()
    sessions_url = serializers.SerializerMethodField()

    class Meta:
        model = SchoolClass
        fields = ["id", "name", "school_id", "teacher", "co_teachers", "student_count", "url", "students_url",
                  "sessions_url"]

    def get_student_count(self, school_class) -> int:
        return school_class.students.count()

    def get_url(self, school_class) -> str:
        return link(self.context.get("request"), "api:class", school_class.pk)

    def get_students_url(self, school_class) -> str:
        return link(self.context.get("request"), "api:class-students", school_class.pk)

    def get_sessions_url(self, school_class) -> str:
        return link(self.context.get("request"), "api:class-sessions", school_class.pk)


class EnrolmentPhotoSerializer(serializers.ModelSerializer):
    failure_reason = serializers.CharField(source="shown_failure_reason", read_only=True,
                                           help_text="Why it failed or waits for review, in the request's language.")
    image_url = serializers.SerializerMethodField(
        help_text="The web view that shows the photo after checking permission (session sign-in).")

    class Meta:
        model = EnrolmentPhoto
        fields = ["id", "status", "failure_reason", "uploaded_at", "processed_at", "image_url"]

    def get_image_url(self, photo) -> str:
        return link(self.context.get("request"), "enrolment_photo_image", photo.pk)


class StudentSerializer(serializers.ModelSerializer):
    """A student of a class. Office staff get ``id``, ``name`` and ``enrolment_state`` only:
    ``consent_recorded`` and ``photos`` are left out for them (never a photo, not even a link)."""

    enrolment_state = serializers.CharField(
        read_only=True, help_text="ready, needs review, pending, failed or not enrolled.")
    consent_recorded = serializers.SerializerMethodField(help_text="Left out for office staff.")
    photos = EnrolmentPhotoSerializer(many=True, read_only=True, help_text="Left out for office staff.")

    class Meta:
        model = Student
        fields = ["id", "name", "school_id", "enrolment_state", "consent_recorded", "photos"]

    def __init__(self, *args, with_photos: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_photos:
            for name in ("consent_recorded", "photos"):
                self.fields.pop(name)

    def get_consent_recorded(self, student) -> bool:
        return consents.has_consent(student)


class StudentChangeSerializer(serializers.Serializer):
    """A student's name and school id, either or both (checked by the model: one line,
    no outer spaces in the school id, the school id unique)."""

    name = serializers.CharField(max_length=150, required=False)
    school_id = serializers.CharField(max_length=64, required=False, allow_blank=True, trim_whitespace=False)


class MembershipSerializer(serializers.Serializer):
    """Students (ids) to add to or remove from a class's roster, or to move to ``to_class``."""

    students = serializers.PrimaryKeyRelatedField(many=True, queryset=Student.objects.all(), allow_empty=False,
                                                  help_text="Student ids.")


class MoveSerializer(MembershipSerializer):
    to_class = serializers.PrimaryKeyRelatedField(queryset=SchoolClass.objects.all(),
                                                  help_text="The id of the class they move to.")


class MembershipResultSerializer(serializers.Serializer):
    changed = serializers.ListField(child=serializers.IntegerField(),
                                    help_text="Ids of the students added, removed or moved (others were already so).")


class SessionSerializer(serializers.ModelSerializer):
    """A session as listed for its class (what the class report shows as a column)."""

    created_by = UserNameField(read_only=True)
    url = serializers.SerializerMethodField(help_text="The session with photos and records (admins, teachers).")
    records_url = serializers.SerializerMethodField()

    class Meta:
        model = ClassSession
        fields = ["id", "date", "period", "created_by", "created_at", "url", "records_url"]

    def get_url(self, session) -> str:
        return link(self.context.get("request"), "api:session", session.pk)

    def get_records_url(self, session) -> str:
        return link(self.context.get("request"), "api:session-records", session.pk)


class RecordSerializer(serializers.Serializer):
    """One student's line of a session's register. ``status`` is null while the photos are
    not processed yet and no one set it by hand."""

    student = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(
        help_text="The attendance code (present, late, absent, excused or the school's own), or null (not recorded yet).")
    reason = serializers.CharField(read_only=True, help_text="Why (e.g. for excused); empty when none was given.")
    source = serializers.SerializerMethodField(help_text="photo or manual (null when not recorded).")
    machine_status = serializers.SerializerMethodField(
        help_text="What the photos said before a person changed the record (null: never changed).")
    changed_by = serializers.SerializerMethodField()
    changed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField(help_text="GET the record, PATCH its status.")

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})
    def get_student(self, record) -> dict:
        return {"id": record.student.pk, "name": record.student.name}

    @extend_schema_field({"type": "string", "nullable": True})
    def get_status(self, record):
        return record.status or None

    @extend_schema_field(serializers.ChoiceField(choices=AttendanceRecord.SOURCE_CHOICES, allow_null=True))
    def get_source(self, record):
        return record.source if record.pk else None

    @extend_schema_field(serializers.ChoiceField(choices=AttendanceRecord.STATUS_CHOICES, allow_null=True))
    def get_machine_status(self, record):
        return record.machine_status or None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_changed_by(self, record):
        return record.changed_by.get_username() if record.changed_by_id else None

    def get_url(self, record) -> str:
        return link(self.context.get("request"), "api:record", record.session_id, record.student_id)


class RecordStatusSerializer(serializers.Serializer):
    status = serializers.CharField(max_length=20, help_text="An active attendance code (present, late, absent, excused "
                                                            "or the school's own): a manual change, audit logged.")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="Required for codes that need one (excused).")


class ClassPhotoSerializer(serializers.ModelSerializer):
    faces = serializers.SerializerMethodField(help_text="How many faces were found.")
    error = serializers.CharField(source="shown_error", read_only=True,
                                  help_text="Why the photo failed, in the request's language; empty otherwise.")
    image_url = serializers.SerializerMethodField(
        help_text="The web view that shows the photo after checking permission (session sign-in).")

    class Meta:
        model = ClassPhoto
        fields = ["id", "status", "error", "attempts", "width", "height", "uploaded_at", "processed_at", "faces",
                  "image_url"]

    def get_faces(self, photo) -> int:
        return len(photo.faces.all())

    def get_image_url(self, photo) -> str:
        return link(self.context.get("request"), "class_photo_image", photo.pk)


class SessionDetailSerializer(serializers.Serializer):
    """A session with its photos' statuses and its register (``sessions.session_summary``)."""

    id = serializers.IntegerField(source="session.pk")
    school_class = serializers.SerializerMethodField()
    date = serializers.DateField(source="session.date")
    period = serializers.CharField(source="session.period")
    created_by = UserNameField(source="session.created_by", read_only=True)
    created_at = serializers.DateTimeField(source="session.created_at")
    finished = serializers.BooleanField(help_text="Every photo is done or failed.")
    photos = ClassPhotoSerializer(many=True)
    records = RecordSerializer(many=True)
    unknown_faces = serializers.IntegerField()
    unsure_faces = serializers.IntegerField()
    matched_faces = serializers.IntegerField(help_text="Faces that count for a student (the machine's or a person's).")
    confirmed_by = UserNameField(source="session.confirmed_by", read_only=True, allow_null=True,
                                 help_text="Who confirmed the register (null: not confirmed).")
    confirmed_at = serializers.DateTimeField(source="session.confirmed_at", allow_null=True)
    retention_notice = serializers.CharField(allow_null=True)
    faces_url = serializers.SerializerMethodField(help_text="Every face, to review through the API.")
    page_url = serializers.SerializerMethodField(help_text="The session's web page.")
    review_url = serializers.SerializerMethodField(help_text="The web page to review unmatched faces.")
    status_url = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}})
    def get_school_class(self, summary) -> dict:
        school_class = summary["session"].school_class
        return {"id": school_class.pk, "name": school_class.name}

    def get_page_url(self, summary) -> str:
        return link(self.context.get("request"), "session_detail", summary["session"].pk)

    def get_review_url(self, summary) -> str:
        return link(self.context.get("request"), "session_review", summary["session"].pk)

    def get_status_url(self, summary) -> str:
        return link(self.context.get("request"), "api:session-status", summary["session"].pk)

    def get_faces_url(self, summary) -> str:
        return link(self.context.get("request"), "api:session-faces", summary["session"].pk)


FACE_DECISIONS = ["matched", "unsure", "unknown", "not_a_student"]


class FaceSerializer(serializers.Serializer):
    """One face of a session's photos and its decision (``DetectedFace``); never its face data."""

    id = serializers.IntegerField(source="pk")
    photo = serializers.IntegerField(source="photo_id", help_text="The class photo's id.")
    box = serializers.SerializerMethodField(help_text="[left, top, right, bottom] in pixels of the upright photo.")
    decision = serializers.SerializerMethodField(
        help_text="matched (counts for `student`), unsure (a person should say; `candidates[0]` is the likely "
                  "student), unknown (no student of the class looks like it) or not_a_student (a person said so).")
    student = serializers.SerializerMethodField(help_text="The student the face counts for (matched), else null.")
    candidates = serializers.SerializerMethodField(
        help_text="Students of the class that look like the face, best first (ids), when the machine decided.")
    decided_by = serializers.CharField(help_text="machine, or the username of the person who decided.")
    reason = serializers.SerializerMethodField(help_text="Why the machine is unsure, or why to check again, in words.")
    flagged = serializers.SerializerMethodField(
        help_text="The match relied on a learnt face that was later corrected: please check.")
    crop_url = serializers.SerializerMethodField(help_text="The face's crop (web view, signed-in session).")

    def get_box(self, face) -> list[int]:
        return [face.left, face.top, face.right, face.bottom]

    @extend_schema_field(serializers.ChoiceField(choices=FACE_DECISIONS))
    def get_decision(self, face) -> str:
        return face.api_decision

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_student(self, face):
        return face.final_student_id if face.api_decision == "matched" else None

    def get_candidates(self, face) -> list[int]:
        if face.is_reviewed:
            return [face.reviewed_student_id] if face.reviewed_student_id else []
        return list(face.candidates or ([face.student_id] if face.student_id else []))

    def get_reason(self, face) -> str:
        return face.shown_reason

    def get_flagged(self, face) -> bool:
        return bool(face.flagged_reason) and not face.is_reviewed

    def get_crop_url(self, face) -> str:
        return link(self.context.get("request"), "face_crop", face.pk)


class FaceDecisionSerializer(serializers.Serializer):
    """``{"student": ID}``, ``{"not_a_student": true}``, or ``{"undo": true}``: exactly one."""

    student = serializers.IntegerField(required=False, help_text="A student of the class whose consent is recorded.")
    not_a_student = serializers.BooleanField(required=False, help_text="true: the face is nobody of the class.")
    undo = serializers.BooleanField(required=False, help_text="true: put back what the last answer changed.")

    def validate(self, data):
        given = [key for key in ("student", "not_a_student", "undo") if data.get(key) not in (None, False)]
        if len(given) != 1:
            raise serializers.ValidationError(gettext('Send exactly one of {"student": ID}, {"not_a_student": true} '
                                                      'or {"undo": true}.'))
        return data


class FaceDecisionResultSerializer(serializers.Serializer):
    face = FaceSerializer()
    records_changed = serializers.ListField(child=serializers.IntegerField(),
                                            help_text="Students whose attendance record the answer changed.")


class ConfirmResultSerializer(serializers.Serializer):
    confirmed_by = serializers.CharField()
    confirmed_at = serializers.DateTimeField()
    templates_learnt = serializers.IntegerField(help_text="Faces kept as learnt templates of their students.")


class PhotoStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ClassPhoto.STATUS_CHOICES)
    error = serializers.CharField()


class SessionStatusSerializer(serializers.Serializer):
    finished = serializers.BooleanField(help_text="Every photo is done or failed.")
    photos = PhotoStatusSerializer(many=True)


class PhotoUploadSerializer(serializers.Serializer):
    """The take-attendance form: the same checks as the web page (``engine.check_photos``:
    size per photo, a readable image header)."""

    date = serializers.DateField(help_text="The school's local date of the lesson, YYYY-MM-DD (2000-01-01 to "
                                           "2100-12-31).", validators=[validate_school_date])
    period = serializers.CharField(max_length=50, help_text="E.g. Period 1, or 09:00.",
                                   validators=[validate_single_line_text])
    photos = serializers.ListField(child=serializers.FileField(), allow_empty=False,
                                   help_text="One or more class photos (repeat the field).")

    def validate_photos(self, files):
        try:
            return engine.check_photos(files)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class UploadAcceptedSerializer(serializers.Serializer):
    session = serializers.IntegerField(help_text="The session's id (created, or the existing one for this "
                                                 "class, date and period).")
    photos = serializers.ListField(child=serializers.IntegerField(), help_text="The stored photos' ids.")
    session_url = serializers.URLField()
    status_url = serializers.URLField(help_text="Poll until finished is true, then read the records.")
    records_url = serializers.URLField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
