"""/api/: version 1 of the REST API, its OpenAPI schema and Swagger UI (assets served locally)."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import exports, views

app_name = "api"

urlpatterns = [
    path("v1/classes/", views.ClassList.as_view(), name="classes"),
    path("v1/classes/<int:class_id>/", views.ClassDetail.as_view(), name="class"),
    path("v1/classes/<int:class_id>/students/", views.ClassStudents.as_view(), name="class-students"),
    path("v1/classes/<int:class_id>/students/move/", views.ClassStudentsMove.as_view(), name="class-students-move"),
    path("v1/classes/<int:class_id>/sessions/", views.ClassSessions.as_view(), name="class-sessions"),
    path("v1/students/<int:student_id>/", views.StudentDetail.as_view(), name="student"),
    path("v1/sessions/<int:session_id>/", views.SessionDetail.as_view(), name="session"),
    path("v1/sessions/<int:session_id>/status/", views.SessionStatus.as_view(), name="session-status"),
    path("v1/sessions/<int:session_id>/records/", views.SessionRecords.as_view(), name="session-records"),
    path("v1/sessions/<int:session_id>/faces/", views.SessionFaces.as_view(), name="session-faces"),
    path("v1/sessions/<int:session_id>/confirm/", views.SessionConfirm.as_view(), name="session-confirm"),
    path("v1/faces/<int:face_id>/decision/", views.FaceDecision.as_view(), name="face-decision"),
    path("v1/sessions/<int:session_id>/records/<int:student_id>/", views.RecordDetail.as_view(), name="record"),
    path("v1/exports/registers/", exports.RegisterExport.as_view(), name="exports-registers"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
