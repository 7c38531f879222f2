from django.contrib import admin

from .models import AttendanceRecord, ClassPhoto, ClassSession, EnrolmentPhoto, SchoolClass, Student


@admin.register(SchoolClass)
class SchoolClassAdmin(admin.ModelAdmin):
    list_display = ["name", "teacher"]
    filter_horizontal = ["students"]


class EnrolmentPhotoInline(admin.TabularInline):
    model = EnrolmentPhoto
    fk_name = "student"
    fields = ["status", "failure_reason", "uploaded_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [EnrolmentPhotoInline]


@admin.register(ClassSession)
class ClassSessionAdmin(admin.ModelAdmin):
    list_display = ["school_class", "date", "period"]
    list_filter = ["school_class", "date"]


@admin.register(ClassPhoto)
class ClassPhotoAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "status", "error", "attempts", "uploaded_at"]
    list_filter = ["status"]
    readonly_fields = ["image"]


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(admin.ModelAdmin):
    list_display = ["session", "student", "status", "source", "updated_at"]
    list_filter = ["status", "source"]
