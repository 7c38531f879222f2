"""API views. Each: authenticate (token or session), get the object through a permission
class that asks ``attendance.access``, validate, call one service function, respond."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from attendance import access
from attendance.registers import register
from attendance.registers import review
from attendance.registers import sessions
from attendance.roster import membership
from attendance.roster.students import change_student
from attendance.web.forms import decidable_roster
from attendance.wiring.job_queue import QueueUnavailable
from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, DetectedFace, EnrolmentPhoto, SchoolClass, Student
from .permissions import ClassReportReader, FaceTeacher, SessionReportReader, SessionTeacher
from .serializers import (
    ConfirmResultSerializer,
    ErrorSerializer,
    FaceDecisionResultSerializer,
    FaceDecisionSerializer,
    FaceSerializer,
    MembershipResultSerializer,
    MembershipSerializer,
    MoveSerializer,
    StudentChangeSerializer,
    PhotoUploadSerializer,
    RecordSerializer,
    RecordStatusSerializer,
    SchoolClassSerializer,
    SessionDetailSerializer,
    SessionSerializer,
    SessionStatusSerializer,
    StudentSerializer,
    UploadAcceptedSerializer,
    link,
)

REFUSED = {401: OpenApiResponse(ErrorSerializer, description="No or a bad token."),
           403: OpenApiResponse(ErrorSerializer, description="Not allowed for this user (as on the web pages)."),
           404: OpenApiResponse(ErrorSerializer, description="No such object.")}


class _ClassObjectMixin:
    """Views below a class (``class_id``): the class, checked by the view's permissions."""

    queryset = SchoolClass.objects.select_related("teacher")

    def get_class(self) -> SchoolClass:
        school_class = get_object_or_404(self.get_queryset(), pk=self.kwargs["class_id"])
        self.check_object_permissions(self.request, school_class)
        return school_class


class _SessionObjectMixin:
    """Views below a session (``session_id``): the session, checked by the view's permissions."""

    queryset = ClassSession.objects.select_related("school_class", "created_by")

    def get_session(self) -> ClassSession:
        session = get_object_or_404(self.get_queryset(), pk=self.kwargs["session_id"])
        self.check_object_permissions(self.request, session)
        return session


@extend_schema(tags=["classes"], summary="Classes the user may see",
               description="Admins and office staff: every class; teachers: the classes they teach.")
class ClassList(generics.ListAPIView):
    serializer_class = SchoolClassSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return access.report_classes(self.request.user).select_related("teacher").order_by("name", "pk")


@extend_schema(tags=["classes"], summary="One class",
               description="Admins, the class's teacher and office staff (as the class report).",
               responses={200: SchoolClassSerializer, **REFUSED})
class ClassDetail(_ClassObjectMixin, generics.GenericAPIView):
    serializer_class = SchoolClassSerializer
    permission_classes = [IsAuthenticated, ClassReportReader]

    def get(self, request, class_id):
        return Response(self.get_serializer(self.get_class()).data)


class ClassStudents(_ClassObjectMixin, generics.GenericAPIView):
    """GET: the class's roster. POST: add existing students. DELETE: remove students
    (records kept). Changes are for school admins (``roster.membership``)."""

    serializer_class = StudentSerializer
    permission_classes = [IsAuthenticated, ClassReportReader]

    @extend_schema(tags=["classes"], summary="The class's students and their enrolment state",
                   description="Office staff get id, name, school id and enrolment state only (no consent, no photos).",
                   responses={200: StudentSerializer(many=True), **REFUSED})
    def get(self, request, class_id):
        school_class = self.get_class()
        students = school_class.students.prefetch_related(
            Prefetch("photos", queryset=EnrolmentPhoto.objects.order_by("uploaded_at", "id")))
        with_photos = not access.is_office_staff(request.user)
        page = self.paginate_queryset(students)
        return self.get_paginated_response(StudentSerializer(page, many=True, with_photos=with_photos,
                                                             context=self.get_serializer_context()).data)

    def _change(self, request) -> tuple[SchoolClass, list[Student]]:
        school_class = self.get_class()  # admins and the class's teachers get this far
        access.require_school_admin(request.user)
        change = MembershipSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        return school_class, change.validated_data["students"]

    @extend_schema(tags=["classes"], summary="Add existing students to the class's roster",
                   description="School admins only (the class's teachers read the roster). Students already on it "
                               "are left as they are. Audit-logged.",
                   request=MembershipSerializer, responses={200: MembershipResultSerializer, **REFUSED})
    def post(self, request, class_id):
        school_class, students = self._change(request)
        added = membership.add_students(school_class, students, request.user)
        return Response({"changed": [s.pk for s in added]})

    @extend_schema(tags=["classes"], summary="Remove students from the class's roster",
                   description="School admins only. The membership only: their records, photos and consent are "
                               "kept. Audit-logged.",
                   request=MembershipSerializer, responses={200: MembershipResultSerializer, **REFUSED})
    def delete(self, request, class_id):
        school_class, students = self._change(request)
        removed = membership.remove_students(school_class, students, request.user)
        return Response({"changed": [s.pk for s in removed]})


class StudentDetail(generics.GenericAPIView):
    """GET: a student (read as their report: admins, their teachers, office staff without
    photos). PATCH: change their name or school id (school admins)."""

    serializer_class = StudentSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["students"], summary="One student", responses={200: StudentSerializer, **REFUSED})
    def get(self, request, student_id):
        student = access.get_student_for_report(request.user, student_id)
        return Response(StudentSerializer(student, with_photos=not access.is_office_staff(request.user),
                                          context=self.get_serializer_context()).data)

    @extend_schema(tags=["students"], summary="Change a student's name or school id",
                   description="School admins only; audit-logged. 400 when a value is refused (e.g. a school id "
                               "another student has).",
                   request=StudentChangeSerializer, responses={200: StudentSerializer, **REFUSED})
    def patch(self, request, student_id):
        access.require_school_admin(request.user)
        student = access.get_student(request.user, student_id)
        change = StudentChangeSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        try:
            change_student(student, request.user, **change.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict)
        return Response(StudentSerializer(student, context=self.get_serializer_context()).data)


@extend_schema(tags=["classes"], summary="Move students from this class's roster to another's",
               description="School admins only. Both rosters change in one transaction; records are kept. "
                           "400 when a student is not on this class's roster.",
               request=MoveSerializer, responses={200: MembershipResultSerializer, **REFUSED})
class ClassStudentsMove(_ClassObjectMixin, generics.GenericAPIView):
    serializer_class = MoveSerializer
    permission_classes = [IsAuthenticated, ClassReportReader]

    def post(self, request, class_id):
        school_class = self.get_class()
        access.require_school_admin(request.user)
        move = MoveSerializer(data=request.data)
        move.is_valid(raise_exception=True)
        try:
            moved = membership.move_students(school_class, move.validated_data["to_class"],
                                             move.validated_data["students"], request.user)
        except membership.MembershipError as exc:
            return Response({"detail": str(exc), "code": "refused"}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"changed": [s.pk for s in moved]})


class ClassSessions(_ClassObjectMixin, generics.GenericAPIView):
    """GET: the class's sessions. POST: take attendance (upload class photos)."""

    serializer_class = SessionSerializer
    permission_classes = [IsAuthenticated, ClassReportReader]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(tags=["sessions"], summary="The class's sessions, newest first",
                   description="Read as the class report: admins, the class's teacher, office staff.",
                   responses={200: SessionSerializer(many=True), **REFUSED})
    def get(self, request, class_id):
        school_class = self.get_class()
        listed = school_class.sessions.select_related("created_by").order_by("-date", "period", "-pk")
        page = self.paginate_queryset(listed)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=["sessions"], summary="Take attendance: upload class photos",
        description="Creates (or reuses) the session for the class, date and period, stores the photos and "
                    "queues them for face recognition. All or nothing: on any error nothing is stored. Poll "
                    "status_url until finished, then read records_url.",
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={202: UploadAcceptedSerializer,
                   400: OpenApiResponse(description="Invalid date, period or photos: each error names the file."),
                   401: REFUSED[401], 403: REFUSED[403], 404: REFUSED[404],
                   503: OpenApiResponse(ErrorSerializer, description="The job queue (code `queue_unavailable`) or "
                                        "the photo store (code `store_unavailable`) is down; nothing was saved. "
                                        "Try again in a minute.")})
    def post(self, request, class_id):
        school_class = self.get_class()  # admins and the class's teacher only
        upload = PhotoUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            session, photos = sessions.upload_class_photos(
                school_class, upload.validated_data["date"], upload.validated_data["period"],
                upload.validated_data["photos"], request.user)
        except QueueUnavailable as exc:
            return Response({"detail": str(exc), "code": exc.code},
                            status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"})
        except DjangoValidationError as exc:
            raise ValidationError({"photos": exc.messages}) from exc
        return Response({
            "session": session.pk,
            "photos": [photo.pk for photo in photos],
            "session_url": link(request, "api:session", session.pk),
            "status_url": link(request, "api:session-status", session.pk),
            "records_url": link(request, "api:session-records", session.pk),
        }, status=status.HTTP_202_ACCEPTED, headers={"Location": link(request, "api:session", session.pk)})


@extend_schema(tags=["sessions"], summary="A session with its photos' statuses and its register",
               description="Admins and the class's teacher (as the session page); not office staff.",
               responses={200: SessionDetailSerializer, **REFUSED})
class SessionDetail(_SessionObjectMixin, generics.GenericAPIView):
    serializer_class = SessionDetailSerializer
    permission_classes = [IsAuthenticated, SessionTeacher]

    def get(self, request, session_id):
        session = self.get_session()
        summary = sessions.session_summary(session)
        summary["records"] = _register(session)
        return Response(self.get_serializer(summary).data)


@extend_schema(tags=["sessions"], summary="Progress of the session's photos",
               description="The same as the session page's status.json: finished once every photo is done or "
                           "failed.", responses={200: SessionStatusSerializer, **REFUSED})
class SessionStatus(_SessionObjectMixin, generics.GenericAPIView):
    serializer_class = SessionStatusSerializer
    permission_classes = [IsAuthenticated, SessionTeacher]

    def get(self, request, session_id):
        return Response(sessions.photo_progress(self.get_session()))


def _register(session: ClassSession) -> list[AttendanceRecord]:
    """One line per student of the session: their record, or for a rostered student with no
    record yet an unsaved one without status (photos not processed yet)."""
    records = {r.student_id: r for r in session.records.select_related("student", "changed_by")}
    for student in session.school_class.students.all():
        records.setdefault(student.pk, AttendanceRecord(session=session, student=student, status="", source=""))
    return sorted(records.values(), key=lambda r: (r.student.name, r.student.pk))


@extend_schema(tags=["records"], summary="The session's register",
               description="One line per student; read by whoever may read the class report (office staff too).",
               responses={200: RecordSerializer(many=True), **REFUSED})
class SessionRecords(_SessionObjectMixin, generics.GenericAPIView):
    serializer_class = RecordSerializer
    permission_classes = [IsAuthenticated, SessionReportReader]

    def get(self, request, session_id):
        page = self.paginate_queryset(_register(self.get_session()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class RecordDetail(_SessionObjectMixin, generics.GenericAPIView):
    """A student's record in a session: read it, or set it by hand."""

    serializer_class = RecordSerializer
    permission_classes = [IsAuthenticated, SessionReportReader]
    http_method_names = ["get", "patch", "head", "options"]

    def _student(self, session) -> Student:
        return get_object_or_404(session.school_class.students, pk=self.kwargs["student_id"])

    def _record(self, session, student) -> AttendanceRecord:
        return (session.records.select_related("student", "changed_by").filter(student=student).first()
                or AttendanceRecord(session=session, student=student, status="", source=""))

    def get_object(self) -> AttendanceRecord:
        """The student's record (unsaved when there is none yet), as GET shows it; also what
        the browsable API's change form is built from (not a record whose pk is the student's)."""
        session = self.get_session()
        return self._record(session, self._student(session))

    @extend_schema(tags=["records"], summary="A student's record in the session",
                   description="Read as the class report (office staff too). 404 for a student not on the roster.",
                   responses={200: RecordSerializer, **REFUSED})
    def get(self, request, session_id, student_id):
        session = self.get_session()
        return Response(self.get_serializer(self._record(session, self._student(session))).data)

    @extend_schema(tags=["records"], summary="Set a student's attendance code by hand",
                   description="A manual change (source becomes manual; what the photos said is kept in "
                               "machine_status), written to the audit log. Admins and the class's teacher.",
                   request=RecordStatusSerializer,
                   responses={200: RecordSerializer, 400: OpenApiResponse(description="Not an active attendance code, "
                                                                                      "or a reason is needed."),
                              **REFUSED})
    def patch(self, request, session_id, student_id):
        session = self.get_session()
        student = self._student(session)
        change = RecordStatusSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        try:
            record = register.set_record(session, student, change.validated_data["status"], request.user,
                                         reason=change.validated_data["reason"])
        except register.RegisterError as exc:
            raise ValidationError({"status": [str(exc)]})
        return Response(self.get_serializer(self._record(session, record.student)).data)


@extend_schema(tags=["review"], summary="Every face of the session's photos and its decision",
               description="Admins and the class's teacher (as the review page); not office staff. Faces of photos "
                           "still being processed are not listed yet.",
               responses={200: FaceSerializer(many=True), **REFUSED})
class SessionFaces(_SessionObjectMixin, generics.GenericAPIView):
    serializer_class = FaceSerializer
    permission_classes = [IsAuthenticated, SessionTeacher]

    def get(self, request, session_id):
        session = self.get_session()
        faces = (DetectedFace.objects.filter(photo__session=session, photo__status=ClassPhoto.DONE)
                 .select_related("reviewed_by").order_by("photo_id", "left", "pk"))
        page = self.paginate_queryset(faces)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(tags=["review"], summary="Answer for one face: a student, not a student, or undo",
               description="The same function as the review page's buttons (review.decide_face / undo_decision): "
                           "changes this face and the records of the students it names, nothing else; audit logged. "
                           "The student must be on the class's roster with consent to face recognition recorded.",
               request=FaceDecisionSerializer,
               responses={200: FaceDecisionResultSerializer,
                          400: OpenApiResponse(ErrorSerializer, description="Not exactly one answer, a student not "
                                               "on the roster or without consent, a student already given to "
                                               "another face, or nothing to undo."),
                          **REFUSED})
class FaceDecision(generics.GenericAPIView):
    serializer_class = FaceDecisionSerializer
    permission_classes = [IsAuthenticated, FaceTeacher]
    queryset = DetectedFace.objects.select_related("photo__session__school_class")

    def post(self, request, face_id):
        face = get_object_or_404(self.get_queryset(), pk=face_id)
        self.check_object_permissions(request, face)
        answer = FaceDecisionSerializer(data=request.data)
        answer.is_valid(raise_exception=True)
        data = answer.validated_data
        try:
            if data.get("undo"):
                changed = review.undo_decision(face, request.user)
            else:
                student = None
                if data.get("student") is not None:
                    student = decidable_roster(face.photo.session.school_class).get(data["student"])
                    if student is None:
                        raise ValidationError({"student": [gettext("Not a student of this class whose consent to "
                                                                   "face recognition is recorded.")]})
                changed = review.decide_face(face, request.user, student)
        except review.ReviewError as exc:
            return Response({"detail": str(exc), "code": "refused"}, status=status.HTTP_400_BAD_REQUEST)
        face = self.get_queryset().select_related("reviewed_by").get(pk=face.pk)
        return Response({"face": FaceSerializer(face, context=self.get_serializer_context()).data,
                         "records_changed": [s.pk for s in changed]})


@extend_schema(tags=["review"], summary="Confirm the register: “This register is right”",
               description="Admins and the class's teacher. Records who and when; the faces that count for students "
                           "with consent become learnt templates. 409 while photos are still being processed.",
               request=None,
               responses={200: ConfirmResultSerializer,
                          409: OpenApiResponse(ErrorSerializer, description="Photos still being processed."),
                          **REFUSED})
class SessionConfirm(_SessionObjectMixin, generics.GenericAPIView):
    serializer_class = ConfirmResultSerializer
    permission_classes = [IsAuthenticated, SessionTeacher]

    def post(self, request, session_id):
        session = self.get_session()
        try:
            templates = review.confirm_register(session, request.user)
        except register.RegisterError as exc:
            return Response({"detail": str(exc), "code": "photos_processing"}, status=status.HTTP_409_CONFLICT)
        session.refresh_from_db()
        return Response({"confirmed_by": request.user.get_username(), "confirmed_at": session.confirmed_at,
                         "templates_learnt": len(templates)})
