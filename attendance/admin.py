from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseBadRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy, ngettext

from attendance import access
from attendance import audit
from attendance.roster import enrolment
from attendance.registers import recognition
from attendance.dates import FIRST_DATE, LAST_DATE, parse_school_date
from attendance.wiring.job_queue import QueueUnavailable, ensure_queue_reachable
from attendance.models import (
    SignInFailure,
    AttendanceCode,
    AttendanceRecord,
    AuditEntry,
    ClassPhoto,
    ClassSession,
    Consent,
    EnrolmentPhoto,
    Holiday,
    SchoolClass,
    Student,
    Term,
    TimetablePeriod,
    overlap_message,
)


class DatesInRange:
    """Date filters of a list (the date hierarchy's ``?starts_on__year=``, a date filter's
    ``?date__gte=``) outside the app's dates (``attendance.dates``) answer HTTP 400 naming
    the range, where Django's admin would fail on year 0 or 10000.

    Every ModelAdmin of the site has it, ours, Django's and DRF's alike, by one mechanism:
    ``cover_every_admin``, called once all admin modules are loaded (no admin names it).
    """

    _PARTS = {"year": (FIRST_DATE.year, LAST_DATE.year), "iso_year": (FIRST_DATE.year, LAST_DATE.year),
              "month": (1, 12), "day": (1, 31), "quarter": (1, 4), "week": (1, 53), "week_day": (1, 7),
              "iso_week_day": (1, 7), "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}

    def changelist_view(self, request, extra_context=None):
        problem = self._date_problem(request.GET)
        if problem:
            return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
        return super().changelist_view(request, extra_context)

    def _date_problem(self, query) -> str:
        dated = {f.name for f in self.model._meta.get_fields()
                 if isinstance(f, (models.DateField, models.DateTimeField))}
        for key, value in query.items():
            field, _, lookup = key.partition("__")
            if field not in dated or lookup == "isnull" or not value:
                continue
            part = lookup.split("__")[0]
            if part in self._PARTS:
                low, high = self._PARTS[part]
                for number in value.split(",") if lookup.endswith(("__in", "__range")) else [value]:
                    if not number.strip().isdigit() or not low <= int(number) <= high:
                        return f"{key}={value}: a {part} from {low} to {high}."
                continue
            for date in value.split(",") if lookup in ("in", "range") else [value]:
                try:
                    parse_school_date(date.strip()[:10])
                except ValueError as exc:
                    return f"{key}: {exc}"
        return ""


def cover_every_admin(site=None) -> None:
    """Give every ModelAdmin registered on ``site`` (the admin's default site) DatesInRange.

    Django's user and group admins and DRF's token admin are registered by their own
    apps; each is re-registered as a subclass with DatesInRange first, so no date lookup
    of any list (``?date_joined__year=0``, ``?created__year=10000``) is a 500. Called from
    AttendanceConfig.ready(), after the admin has loaded every app's admin module.
    """
    site = site or admin.site
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, DatesInRange):
            continue
        cls = type(model_admin)
        covered = type(cls.__name__, (DatesInRange, cls), {"__module__": cls.__module__, "__doc__": cls.__doc__})
        site.unregister(model)
        site.register(model, covered)


class SchoolAdminPermissions:
    """School admins (staff users, ``access.is_school_admin``) manage the app's records
    here without Django's per-model permissions, as on the app's own pages."""

    def has_module_permission(self, request):
        return access.is_school_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_school_admin(request.user)

    has_add_permission = has_module_permission
    has_change_permission = has_view_permission
    has_delete_permission = has_view_permission


class DeletesTheirRecords:
    """Deleting a student, class or session deletes its attendance records (and a student's
    consent) with it, and writes the audit log. The records' and consents' own admin allow
    no deletion one by one, which Django's delete page would otherwise count as a missing
    permission and refuse the whole deletion."""

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(AttendanceRecord._meta.verbose_name)
        perms_needed.discard(Consent._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        _audit_deletion(request.user, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            _audit_deletion(request.user, obj)
        super().delete_queryset(request, queryset)


def _audit_deletion(user, obj) -> None:
    details = {"name": str(obj)}
    if isinstance(obj, Student):
        details.update(enrolment_photos=obj.photos.count(), attendance_records=obj.attendance_records.count())
    audit.record(user, AuditEntry.DELETED, obj, f"{obj._meta.verbose_name.capitalize()} deleted: {obj}",
                 before=details, after=None)


class TimetablePeriodFormSet(BaseInlineFormSet):
    """A class's periods are checked for overlaps together, on their new times: moving two
    adjacent periods at once (9:00-10:00 and 10:00-11:00 to 9:00-9:50 and 9:50-10:50) is
    not an overlap with the old time of the other."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance._overlap_checked_by_formset = True
        return form

    def clean(self):
        super().clean()
        kept = []
        for form in self.forms:
            # Forms with errors of their own show those; empty extra forms have no data.
            if form.errors or not form.cleaned_data or self._should_delete_form(form):
                continue
            period = form.instance
            if period.starts_at and period.ends_at and period.weekday is not None:
                kept.append(period)
        errors = []
        for i, period in enumerate(kept):
            for other in kept[i + 1:]:
                if period.overlaps(other):
                    errors.append(overlap_message(other, period))
        if errors:
            raise ValidationError(errors)


class TimetablePeriodInline(admin.TabularInline):
    model = TimetablePeriod
    formset = TimetablePeriodFormSet
    fields = ["weekday", "name", "starts_at", "ends_at"]
    extra = 1

    # As SchoolAdminPermissions, with the inline's signatures.
    def has_view_permission(self, request, obj=None):
        return access.is_school_admin(request.user)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


@admin.register(SchoolClass)
class SchoolClassAdmin(DeletesTheirRecords, SchoolAdminPermissions, admin.ModelAdmin):
    list_display = ["name", "school_id", "teacher"]
    search_fields = ["name", "school_id"]
    filter_horizontal = ["co_teachers", "students"]
    inlines = [TimetablePeriodInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A class's teacher is never office staff (access.check_teacher; SchoolClass.clean refuses it too).
        if db_field.name == "teacher":
            kwargs["queryset"] = access.teacher_candidates()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Nor a co-teacher (the model's m2m_changed receiver refuses it too).
        if db_field.name == "co_teachers":
            kwargs["queryset"] = access.teacher_candidates()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class UserChangeForm(auth_admin.UserChangeForm):
    """Django's user form, refusing to make a class's teacher office staff (the roles do not
    combine: ``access.check_teacher``)."""

    def clean(self):
        cleaned = super().clean()
        groups = cleaned.get("groups")
        office = (groups is not None and not cleaned.get("is_staff")
                  and groups.filter(name=access.OFFICE_STAFF_GROUP).exists())
        if office and self.instance.pk:
            taught = list(SchoolClass.objects.filter(Q(teacher=self.instance) | Q(co_teachers=self.instance))
                          .distinct().values_list("name", flat=True))
            if taught:
                raise ValidationError(gettext("%(username)s teaches %(classes)s: office staff never see photos or "
                                              "faces, so a class's teacher cannot be office staff. Give the class "
                                              "another teacher first.")
                                      % {"username": self.instance.get_username(), "classes": ", ".join(taught)})
        return cleaned


class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), UserAdmin)


@admin.register(TimetablePeriod)
class TimetablePeriodAdmin(SchoolAdminPermissions, admin.ModelAdmin):
    """The whole school's timetable, by day; a class's periods are also edited on its page."""

    list_display = ["school_class", "weekday", "name", "starts_at", "ends_at"]
    list_filter = ["weekday", "school_class"]
    ordering = ["weekday", "starts_at", "school_class__name"]


@admin.register(Term)
class TermAdmin(SchoolAdminPermissions, admin.ModelAdmin):
    list_display = ["name", "starts_on", "ends_on"]


@admin.register(Holiday)
class HolidayAdmin(SchoolAdminPermissions, admin.ModelAdmin):
    """Days without registers, inside a term (half term, training day) or outside one."""

    list_display = ["name", "starts_on", "ends_on"]
    date_hierarchy = "starts_on"


class EnrolmentPhotoInline(admin.TabularInline):
    """A student's enrolment photos, listed only: photos are added through the app's pages,
    which require consent (a face is never linked to a student without it)."""

    model = EnrolmentPhoto
    fk_name = "student"
    fields = ["status", "failure_reason", "uploaded_at"]
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Student)
class StudentAdmin(DeletesTheirRecords, SchoolAdminPermissions, admin.ModelAdmin):
    list_display = ["name", "school_id", "created_at"]
    search_fields = ["name", "school_id"]
    inlines = [EnrolmentPhotoInline]


@admin.register(ClassSession)
class ClassSessionAdmin(DeletesTheirRecords, SchoolAdminPermissions, admin.ModelAdmin):
    list_display = ["school_class", "date", "period"]
    list_filter = ["school_class", "date"]


class ViewOnly:
    """Photos and records are created and changed through the app's pages (which check
    the photos and keep the audit trail); here they are listed, processed again or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NeverDeleted:
    """Rows the register keeps for good (records, codes, consents, the audit log): the
    admin offers no delete, one by one or as an action."""

    def has_delete_permission(self, request, obj=None):
        return False


class ProcessAgain:
    """The "Process again" action for failed photos; ``retry(ids) -> count`` re-queues them."""

    @admin.action(description=gettext_lazy("Process the selected failed photos again"))
    def process_again(self, request, queryset):
        try:
            ensure_queue_reachable()
        except QueueUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        count = self.retry(queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)s failed photo sent to the worker again; other statuses were "
                                            "left alone.",
                                            "%(count)s failed photos sent to the worker again; other statuses were "
                                            "left alone.", count) % {"count": count})


@admin.register(ClassPhoto)
class ClassPhotoAdmin(ProcessAgain, ViewOnly, SchoolAdminPermissions, admin.ModelAdmin):
    """Class photos; filter by status "Failed" for the failed jobs and their errors."""

    list_display = ["id", "session", "status", "error", "attempts", "uploaded_at", "processed_at"]
    list_filter = ["status"]
    # Not the file field itself: the admin would link it to the storage's own URL (a
    # signed link straight to the bucket with S3), past the view that checks permissions.
    exclude = ["image"]
    readonly_fields = ["photo"]
    actions = ["process_again"]
    retry = staticmethod(recognition.retry_failed_photos)

    @admin.display(description=gettext_lazy("Photo"))
    def photo(self, obj):
        """A link to the photo through the app's permission-checking view."""
        if not obj.image:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("class_photo_image", args=[obj.pk]), obj.image.name)


@admin.register(EnrolmentPhoto)
class EnrolmentPhotoAdmin(ProcessAgain, ViewOnly, SchoolAdminPermissions, admin.ModelAdmin):
    """Enrolment photos; filter by status "Failed" for the failed jobs and their reasons."""

    list_display = ["id", "student", "status", "failure_reason", "uploaded_at", "processed_at"]
    list_filter = ["status"]
    search_fields = ["student__name"]
    fields = ["student", "status", "failure_code", "failure_reason", "uploaded_at", "processed_at"]
    readonly_fields = fields
    actions = ["process_again"]
    retry = staticmethod(enrolment.retry_failed_enrolment_photos)


@admin.register(AttendanceCode)
class AttendanceCodeAdmin(NeverDeleted, SchoolAdminPermissions, admin.ModelAdmin):
    """The school's attendance codes: rename them, add the school's own, choose whether
    each counts as present or absent in rates. Never deleted (the register keeps them):
    untick "active" to stop offering one. Present and absent are what the photos write."""

    list_display = ["label", "code", "mark", "counts_as", "needs_reason", "active", "order"]
    list_editable = ["order"]
    list_filter = ["active", "counts_as"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.code in (AttendanceCode.PRESENT, AttendanceCode.ABSENT):
            return ["code", "counts_as", "active"]
        return ["code"]

    def save_model(self, request, obj, form, change):
        """Save, and write the audit log: the fields the form changed, before and after (a
        new code: every field, before None). The change page and the list's editable
        "order" column both save here; a form that changed nothing writes no entry."""
        if change and not form.changed_data:
            return super().save_model(request, obj, form, change)
        fields = form.changed_data if change else [f for f in form.fields]
        before = {name: form.initial.get(name) for name in fields} if change else None
        super().save_model(request, obj, form, change)
        after = {name: getattr(obj, name) for name in fields}
        summary = (f"Attendance code {obj.code} changed: {', '.join(fields)}" if change
                   else f"Attendance code {obj.code} added: {obj.label}")
        audit.record(request.user, AuditEntry.CODE_CHANGED, obj, summary, before=before, after=after)


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(NeverDeleted, ViewOnly, SchoolAdminPermissions, admin.ModelAdmin):
    """The register, to look up; a record is changed on the session page (with who and when)."""

    list_display = ["session", "student", "status", "reason", "source", "machine_status", "changed_by", "updated_at"]
    list_filter = ["status", "source"]


@admin.register(Consent)
class ConsentAdmin(NeverDeleted, ViewOnly, SchoolAdminPermissions, admin.ModelAdmin):
    """Consents on record; recorded and withdrawn on the student's page (which deletes the
    photos and face data and writes the audit log)."""

    list_display = ["student", "given_by", "given_on", "note", "recorded_by", "recorded_at"]
    search_fields = ["student__name", "given_by"]


@admin.register(AuditEntry)
class AuditEntryAdmin(NeverDeleted, ViewOnly, SchoolAdminPermissions, admin.ModelAdmin):
    """Who changed what and when: manual register changes, enrolments, consents, deletions."""

    list_display = ["at", "who", "action", "summary"]
    list_filter = ["action"]
    search_fields = ["summary", "username"]
    date_hierarchy = "at"
    readonly_fields = ["at", "who", "action", "object_type", "object_id", "summary", "before", "after"]
    exclude = ["user", "username"]

    @admin.display(description=gettext_lazy("Who"), ordering="username")
    def who(self, obj):
        """The user, or the system (command line, scheduled retention) when there was none."""
        return obj.username or "system (command line or schedule)"


@admin.register(SignInFailure)
class SignInFailureAdmin(admin.ModelAdmin):
    """Wrong passwords being counted (attendance/wiring/signin.py): delete rows to unlock early."""

    list_display = ("kind", "username", "address", "device", "at")
    list_filter = ("kind",)
    search_fields = ("username", "address")
    readonly_fields = ("kind", "username", "address", "device", "at")

    def has_add_permission(self, request):
        return False
