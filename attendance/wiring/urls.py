from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog

from attendance.wiring import language

from attendance.web.views import accounts, duplicates, home, imports, media, registers, reports, roster, roster_import, staff

admin.site.site_header = _("Class Attendance administration")
admin.site.site_title = _("Class Attendance")

# Django's own views render templates/404.html, 403.html and 500.html; the 400 page names
# the upload limit that was hit.
handler400 = "attendance.web.views.home.bad_request"

urlpatterns = [
    path("", home.home, name="home"),
    path("favicon.ico", home.favicon, name="favicon"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The header's language menu; the scripts' strings in the page's language (djangojs).
    path("language/", language.set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["attendance"]), name="javascript_catalog"),
    path("password/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("set-password/done/", staff.SetPasswordDoneView.as_view(), name="password_set_done"),
    path("set-password/<uidb64>/<token>/", staff.SetPasswordView.as_view(), name="password_reset_confirm"),
    path("staff/", staff.staff_list, name="staff_list"),
    path("staff/add", staff.staff_add, name="staff_add"),
    path("staff/<int:user_id>/role", staff.staff_role, name="staff_role"),
    path("staff/<int:user_id>/active", staff.staff_active, name="staff_active"),
    path("staff/<int:user_id>/password", staff.staff_password, name="staff_password"),
    path("imports/consent/", imports.consent_import, name="consent_import"),
    path("imports/consent/apply", imports.consent_import_apply, name="consent_import_apply"),
    path("imports/photos/", imports.photos_import, name="photos_import"),
    path("imports/photos/apply", imports.photos_import_apply, name="photos_import_apply"),
    path("classes/new/", roster.class_create, name="class_create"),
    path("roster/import/", roster_import.roster_import, name="roster_import"),
    path("roster/import/apply", roster_import.roster_import_apply, name="roster_import_apply"),
    path("classes/<int:class_id>/", roster.class_detail, name="class_detail"),
    path("classes/<int:class_id>/edit/", roster.class_edit, name="class_edit"),
    path("classes/<int:class_id>/students/add", roster.class_students_add, name="class_students_add"),
    path("classes/<int:class_id>/students/change", roster.class_students_change, name="class_students_change"),
    path("students/duplicates/", duplicates.possible_duplicates, name="possible_duplicates"),
    path("students/duplicates/decide", duplicates.duplicate_decide, name="duplicate_decide"),
    path("classes/<int:class_id>/enrol/", roster.student_enrol, name="student_enrol"),
    path("classes/<int:class_id>/enrol-zip/", roster.roster_zip, name="roster_zip"),
    path("classes/<int:class_id>/take-attendance/", registers.session_upload, name="session_upload"),
    path("classes/<int:class_id>/register/", registers.register_by_hand, name="register_by_hand"),
    path("classes/<int:class_id>/report/", reports.class_report, name="class_report"),
    path("classes/<int:class_id>/report.csv", reports.class_report_csv, name="class_report_csv"),
    path("classes/<int:class_id>/report.xlsx", reports.class_report_xlsx, name="class_report_xlsx"),
    path("students/<int:student_id>/", roster.student_detail, name="student_detail"),
    path("students/<int:student_id>/consent", roster.consent_record, name="consent_record"),
    path("students/<int:student_id>/consent/withdraw", roster.consent_withdraw, name="consent_withdraw"),
    path("students/<int:student_id>/report/", reports.student_report, name="student_report"),
    path("students/<int:student_id>/face.jpg", media.student_face, name="student_face"),
    path("learnt-faces/<int:template_id>/crop.jpg", media.template_crop, name="template_crop"),
    path("learnt-faces/<int:template_id>/remove", roster.template_remove, name="template_remove"),
    path("students/<int:student_id>/history.csv", reports.student_report_csv, name="student_report_csv"),
    path("students/<int:student_id>/report.xlsx", reports.student_report_xlsx, name="student_report_xlsx"),
    path("sessions/<int:session_id>/", registers.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/status.json", registers.session_status, name="session_status"),
    path("sessions/<int:session_id>/review/", registers.session_review, name="session_review"),
    path("sessions/<int:session_id>/register/", registers.session_register, name="session_register"),
    path("sessions/<int:session_id>/students/<int:student_id>/status", registers.record_set, name="record_set"),
    path("sessions/<int:session_id>/confirm", registers.session_confirm, name="session_confirm"),
    path("faces/<int:face_id>/review", registers.face_review, name="face_review"),
    path("faces/<int:face_id>/undo", registers.face_undo, name="face_undo"),
    path("faces/<int:face_id>/crop.jpg", media.face_crop, name="face_crop"),
    path("enrolment-photos/<int:photo_id>/resolve", roster.enrolment_photo_resolve, name="enrolment_photo_resolve"),
    path("class-photos/<int:photo_id>/image", media.class_photo_image, name="class_photo_image"),
    path("enrolment-photos/<int:photo_id>/image", media.enrolment_photo_image, name="enrolment_photo_image"),
    path("enrolment-photos/<int:photo_id>/face", media.enrolment_photo_face, name="enrolment_photo_face"),
    path("registers/untaken/", registers.untaken_registers, name="untaken_registers"),
    path("reports/registers/", reports.registers_export, name="registers_export"),
    path("reports/registers.csv", reports.registers_export_csv, name="registers_export_csv"),
    path("health/", home.health, name="health"),
    path("api/", include("attendance.api.urls")),
    path("admin/", admin.site.urls),
]
