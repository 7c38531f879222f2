from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from attendance.web import views

admin.site.site_header = "Class Attendance administration"
admin.site.site_title = "Class Attendance"

# Django's own views render templates/404.html, 403.html and 500.html; the 400 page names
# the upload limit that was hit.
handler400 = "attendance.web.views.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("classes/new/", views.class_create, name="class_create"),
    path("classes/<int:class_id>/", views.class_detail, name="class_detail"),
    path("classes/<int:class_id>/enrol/", views.student_enrol, name="student_enrol"),
    path("classes/<int:class_id>/enrol-zip/", views.roster_zip, name="roster_zip"),
    path("classes/<int:class_id>/take-attendance/", views.session_upload, name="session_upload"),
    path("classes/<int:class_id>/register/", views.register_by_hand, name="register_by_hand"),
    path("classes/<int:class_id>/report/", views.class_report, name="class_report"),
    path("classes/<int:class_id>/report.csv", views.class_report_csv, name="class_report_csv"),
    path("classes/<int:class_id>/report.xlsx", views.class_report_xlsx, name="class_report_xlsx"),
    path("students/<int:student_id>/", views.student_detail, name="student_detail"),
    path("students/<int:student_id>/consent", views.consent_record, name="consent_record"),
    path("students/<int:student_id>/consent/withdraw", views.consent_withdraw, name="consent_withdraw"),
    path("students/<int:student_id>/report/", views.student_report, name="student_report"),
    path("students/<int:student_id>/face.jpg", views.student_face, name="student_face"),
    path("learnt-faces/<int:template_id>/crop.jpg", views.template_crop, name="template_crop"),
    path("learnt-faces/<int:template_id>/remove", views.template_remove, name="template_remove"),
    path("students/<int:student_id>/history.csv", views.student_report_csv, name="student_report_csv"),
    path("students/<int:student_id>/report.xlsx", views.student_report_xlsx, name="student_report_xlsx"),
    path("sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/status.json", views.session_status, name="session_status"),
    path("sessions/<int:session_id>/review/", views.session_review, name="session_review"),
    path("sessions/<int:session_id>/register/", views.session_register, name="session_register"),
    path("sessions/<int:session_id>/students/<int:student_id>/status", views.record_set, name="record_set"),
    path("sessions/<int:session_id>/confirm", views.session_confirm, name="session_confirm"),
    path("faces/<int:face_id>/review", views.face_review, name="face_review"),
    path("faces/<int:face_id>/undo", views.face_undo, name="face_undo"),
    path("faces/<int:face_id>/crop.jpg", views.face_crop, name="face_crop"),
    path("enrolment-photos/<int:photo_id>/resolve", views.enrolment_photo_resolve, name="enrolment_photo_resolve"),
    path("class-photos/<int:photo_id>/image", views.class_photo_image, name="class_photo_image"),
    path("enrolment-photos/<int:photo_id>/image", views.enrolment_photo_image, name="enrolment_photo_image"),
    path("registers/untaken/", views.untaken_registers, name="untaken_registers"),
    path("health/", views.health, name="health"),
    path("api/", include("attendance.api.urls")),
    path("admin/", admin.site.urls),
]
