from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(success_url="/"), name="password_change"),
    path("classes/new/", views.class_create, name="class_create"),
    path("classes/<int:class_id>/", views.class_detail, name="class_detail"),
    path("classes/<int:class_id>/enrol/", views.student_enrol, name="student_enrol"),
    path("classes/<int:class_id>/enrol-zip/", views.roster_zip, name="roster_zip"),
    path("classes/<int:class_id>/take-attendance/", views.session_upload, name="session_upload"),
    path("classes/<int:class_id>/report/", views.class_report, name="class_report"),
    path("classes/<int:class_id>/report.csv", views.class_report_csv, name="class_report_csv"),
    path("students/<int:student_id>/", views.student_detail, name="student_detail"),
    path("students/<int:student_id>/history.csv", views.student_report_csv, name="student_report_csv"),
    path("sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/status.json", views.session_status, name="session_status"),
    path("class-photos/<int:photo_id>/image", views.class_photo_image, name="class_photo_image"),
    path("enrolment-photos/<int:photo_id>/image", views.enrolment_photo_image, name="enrolment_photo_image"),
    path("admin/", admin.site.urls),
]
