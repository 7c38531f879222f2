"""Forms: validation of everything a user submits, with errors in words."""
from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _, ngettext, pgettext_lazy

from attendance import access
from attendance.registers import codes
from attendance import engine
from attendance.roster.consent import CONSENT_SCOPE
from attendance.dates import SchoolDateField
from attendance.models import AttendanceRecord, SchoolClass, Student
from attendance.registers.register import RegisterError, check_status
from attendance.text import validate_single_line_text
from attendance.web.refused_files import ChooseFilesAgain


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """One or more photos; each is checked for size and readable image header
    (``engine.check_photos``, as every upload is)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        files = [f for f in files if f] or [None]
        cleaned = [f for f in (super(PhotosField, self).clean(f, initial) for f in files) if f is not None]
        return engine.check_photos(cleaned) if cleaned else []


class SchoolClassForm(forms.ModelForm):
    """A class: name, the information system's id, main teacher and co-teachers (never
    office staff). Save with ``save_class`` (co-teachers through ``membership.set_co_teachers``)."""

    class Meta:
        model = SchoolClass
        fields = ["name", "school_id", "teacher", "co_teachers"]
        widgets = {"co_teachers": forms.CheckboxSelectMultiple}
        # The model's field names would be shown untranslated ("Co teachers").
        labels = {"name": pgettext_lazy("a class", "Name"), "school_id": pgettext_lazy("a class", "School id"),
                  "teacher": _("Teacher"), "co_teachers": _("Co-teachers")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].queryset = access.teacher_candidates()  # never office staff
        self.fields["teacher"].label_from_instance = _person_name
        self.fields["co_teachers"].queryset = access.teacher_candidates()
        self.fields["co_teachers"].label_from_instance = _person_name

    def save_class(self, user) -> SchoolClass:
        """Save the class and set its co-teachers (audit-logged); returns the class."""
        from attendance.roster.membership import set_co_teachers

        school_class = self.save(commit=False)
        school_class.save()
        set_co_teachers(school_class, self.cleaned_data["co_teachers"], user)
        return school_class


class AddStudentsForm(forms.Form):
    """Existing students (ids) to put on a class's roster."""

    students = forms.ModelMultipleChoiceField(
        queryset=Student.objects.all(), error_messages={"required": _("Tick at least one student to add.")})


class RosterChangeForm(forms.Form):
    """Students of the class's roster to remove, or to move to another class."""

    students = forms.ModelMultipleChoiceField(
        queryset=Student.objects.none(), error_messages={"required": _("Tick at least one student of the roster.")})
    to_class = forms.ModelChoiceField(queryset=SchoolClass.objects.none(), required=False, label=_("Move to"))
    confirm = forms.BooleanField(
        required=False, label=_("Yes: their attendance records, photos and consent are kept"))

    def __init__(self, *args, school_class, moving: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.moving = moving
        self.fields["students"].queryset = school_class.students.all()
        self.fields["to_class"].queryset = SchoolClass.objects.exclude(pk=school_class.pk)

    def clean(self):
        cleaned = super().clean()
        if self.moving and not cleaned.get("to_class") and "to_class" not in self.errors:
            self.add_error("to_class", _("Choose the class to move them to."))
        if not self.moving and not cleaned.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm the removal from this class."))
        return cleaned


def _person_name(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


class ConsentForm(forms.Form):
    """Consent to face recognition: who gave it, the date on the form, where it is kept.
    Every field starts empty (no "Parent or guardian", no today's date), on every form that
    asks for consent: the record and its audit entry hold what the admin typed from the
    signed form, never a default."""

    given_by = forms.CharField(max_length=150, label=_("Consent given by"),
                               help_text=format_lazy("{} {}", _("The parent or guardian who signed (or the student, "
                                                                "where the law allows)."), CONSENT_SCOPE))
    given_on = SchoolDateField(label=_("Date on the consent form"))
    note = forms.CharField(max_length=300, label=_("Where the signed form is kept"),
                           help_text=_("E.g. “Office file 2026/27, form 14”."))

    def consent(self) -> dict:
        """The cleaned consent, as ``consent.record_consent`` takes it."""
        return {key: self.cleaned_data[key] for key in ("given_by", "given_on", "note")}


class StudentEnrolForm(ChooseFilesAgain, ConsentForm):
    """A new student: photos only with consent; without photos the student is added to the
    roster and registered by hand."""

    name = forms.CharField(max_length=150, label=_("Student's full name"), validators=[validate_single_line_text])
    school_id = forms.CharField(
        max_length=64, required=False, label=_("School id"), validators=[validate_single_line_text],
        help_text=_("The school's id for the child (admission number), if any. A child already in the school "
                    "(same school id, or the only student of that name) is added to this class, not created again."))
    photos = PhotosField(label=_("Enrolment photos"), required=False,
                         help_text=_("One or more photos of the student alone, face visible. Leave empty to add "
                                     "the student without face recognition (registered by hand)."))
    field_order = ["name", "school_id", "photos", "given_by", "given_on", "note"]
    file_fields = {"photos": _("Choose the photos again: a refused form does not keep the files chosen "
                                "(you had chosen %(names)s).")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in ("given_by", "given_on", "note"):
            self.fields[key].required = False

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("photos"):
            for key in ("given_by", "given_on", "note"):
                if not cleaned.get(key) and key not in self.errors:
                    self.add_error(key, _("Needed with photos: a student is enrolled for face recognition only "
                                          "with recorded consent."))
        return cleaned

    def consent(self) -> dict | None:
        return super().consent() if self.cleaned_data.get("photos") else None


class EnrolmentPhotosForm(forms.Form):
    photos = PhotosField(label=_("Add photos"))


class WithdrawConsentForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Delete this student's photos and face data now; they will be registered by hand"),
        error_messages={"required": _("Tick the box to confirm: the photos and face data are deleted at once.")})


class ZipEnrolForm(ChooseFilesAgain, ConsentForm):
    archive = forms.FileField(
        label=_("Zip of photos"),
        help_text=_("One folder per student, named after the student, holding their photos. A child already in "
                    "the school is added to this class. Where two students share a name, end the folder with the "
                    "student's id (Ada_Lovelace_#17) or school id (Ada_Lovelace_@S1001)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    consent_on_file = forms.BooleanField(
        label=_("Consent to face recognition is on file for every student in this zip"),
        error_messages={"required": _("Students are enrolled for face recognition only with recorded consent: "
                                      "confirm it is on file for every student in the zip.")})
    field_order = ["archive", "consent_on_file", "given_by", "given_on", "note"]
    file_fields = {"archive": _("Choose the zip again: a refused form does not keep the file chosen "
                                 "(you had chosen %(names)s).")}

    def __init__(self, *args, **kwargs):
        # Beside the enrol form on the class page: its consent fields need ids of their own.
        kwargs.setdefault("auto_id", "zip_%s")
        super().__init__(*args, **kwargs)
        self.fields["given_by"].help_text = format_lazy("{} {}", _(
            "For the students the zip adds (a student already in the school needs consent recorded on their page)."),
            CONSENT_SCOPE)

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        if archive.size > settings.MAX_ZIP_BYTES:
            raise forms.ValidationError(
                _("The zip is %(size)s; the limit is %(limit)s.")
                % {"size": filesizeformat(archive.size), "limit": filesizeformat(settings.MAX_ZIP_BYTES)}
            )
        return archive


class TimetablePeriodChoice(forms.ChoiceField):
    """One of the day's timetabled periods, by name. Any name of the class's timetable is
    accepted, so a teacher who changes the date keeps the list they were offered."""

    def __init__(self, *args, accepted=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.accepted = set(accepted)

    def valid_value(self, value):
        return value in self.accepted or super().valid_value(value)


#: The period a form proposes when nothing else is known (no timetable, no link). Stored
#: as typed, so it is not translated: an English and a Chinese teacher proposing the same
#: lesson must open the same session (the help text under the field is translated).
DEFAULT_PERIOD = "Period 1"


class SessionForm(forms.Form):
    """A session's date and period (the register taken by hand, without a photo)."""

    # The browser's date picker only accepts ISO dates (YYYY-MM-DD) as its value.
    date = SchoolDateField(label=_("Date"))
    period = forms.CharField(max_length=50, initial=DEFAULT_PERIOD, help_text=_("E.g. Period 1, or 09:00."),
                             label=_("Period"), validators=[validate_single_line_text])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The school's local date (TIME_ZONE), not the server's or UTC's.
        self.fields["date"].initial = self.initial.get("date") or timezone.localdate()


class ClassPhotoUploadForm(forms.Form):
    # The browser's date picker only accepts ISO dates (YYYY-MM-DD) as its value.
    date = SchoolDateField(label=_("Date"))
    period = forms.CharField(max_length=50, initial=DEFAULT_PERIOD, help_text=_("E.g. Period 1, or 09:00."),
                             label=_("Period"), validators=[validate_single_line_text])
    photos = PhotosField(label=_("Class photos"))
    # Made by the page's script once per page (a random UUID), sent again by every retry of
    # the same upload, so a retry after a lost response does not store the photos twice
    # (``web.upload_ids``). Empty without JavaScript.
    upload_id = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64,
                                validators=[RegexValidator(r"^[A-Za-z0-9-]{8,64}$", _("Not an upload id."))])

    def __init__(self, *args, periods=(), period_names=(), preselect=None, **kwargs):
        """``periods``: the timetabled periods offered (of the date offered), with
        ``preselect`` chosen; ``period_names``: every period name of the class's timetable.
        Without periods the period is typed, as before timetables existed."""
        super().__init__(*args, **kwargs)
        # The school's local date (TIME_ZONE), not the server's or UTC's.
        self.fields["date"].initial = self.initial.get("date") or timezone.localdate()
        if not periods:
            return
        wanted = self.initial.get("period")
        names = {p.name for p in periods}
        choices = [(p.name, f"{p.name} · {p.times}") for p in periods] + [("", _("Another period (type it below)"))]
        self.fields["timetable_period"] = TimetablePeriodChoice(
            label=_("Period"), choices=choices, required=False, accepted=period_names,
            initial=(wanted if wanted in names else "") if wanted else getattr(preselect, "name", ""))
        period = self.fields["period"]
        period.required, period.label, period.initial = False, _("Another period"), "" if wanted in names else wanted
        period.help_text = _("Only for a period not in the timetable, e.g. a cover lesson.")
        self.order_fields(["date", "timetable_period", "period", "photos"])

    def clean(self):
        cleaned = super().clean()
        if "timetable_period" in self.fields:
            chosen = cleaned.get("timetable_period") or (cleaned.get("period") or "").strip()
            if not chosen and "timetable_period" not in self.errors and "period" not in self.errors:
                self.add_error("period", _("Choose a period of the timetable, or type another."))
            cleaned["period"] = chosen
        return cleaned


class RegisterDateForm(forms.Form):
    """The date of the untaken-registers page (?date=YYYY-MM-DD); today by default."""

    date = SchoolDateField(required=False, label=_("Date"))

    def chosen_date(self):
        return self.cleaned_data.get("date") or timezone.localdate()


class FaceDecisionForm(forms.Form):
    """A person's answer for a face: a student of the roster whose consent is recorded, or
    explicitly nobody ("Not a student"). Each button of the review page posts one value;
    nothing is pre-selected, so a post without a choice is an error, not an answer."""

    NOT_A_STUDENT = "none"
    student = forms.ChoiceField(error_messages={"required": _("Choose a student of the class, or “Not a "
                                                              "student”."),
                                                "invalid_choice": _("Choose a student of the class, or "
                                                                    "“Not a student”.")})

    def __init__(self, *args, face=None, roster=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.roster = roster if roster is not None else decidable_roster(face.photo.session.school_class)
        self.fields["student"].choices = (
            [("", _("— who is it? —")), (self.NOT_A_STUDENT, _("Not a student"))]
            + [(str(pk), student.name) for pk, student in self.roster.items()]
        )

    def clean_student(self):
        """The chosen ``Student``, or None for "Not a student"."""
        value = self.cleaned_data["student"]
        return None if value == self.NOT_A_STUDENT else self.roster[int(value)]


def decidable_roster(school_class) -> dict:
    """``{pk: Student}`` of the class's students a face may be given to: those whose
    consent to face recognition is recorded, by name. The others stay on the roster for
    the manual register only."""
    return {s.pk: s for s in school_class.students.filter(consent__isnull=False).order_by("name", "pk")}


class RecordStatusForm(forms.Form):
    """One student's status from the session page: any active code, with a reason."""

    status = forms.ChoiceField()
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(c.code, c.shown_label) for c in codes.active_codes()]


class RegisterForm(forms.Form):
    """The manual register of a session: for every rostered student a code and a reason,
    pre-filled from their record (what the photos said, or an earlier change by hand).

    Only rows changed from what the form showed are saved (``changes``): a record the
    photos updated meanwhile is not overwritten by the page's older copy of it. A
    student with no record yet shows "— not taken —", which leaves them without one.
    """

    NOT_TAKEN = ""

    def __init__(self, *args, session, **kwargs):
        super().__init__(*args, **kwargs)
        self.codes = codes.all_codes()
        self.records = {r.student_id: r for r in codes.attach(list(session.records.all()), self.codes)}
        self.students = list(session.school_class.students.prefetch_related("photos").order_by("name", "id"))
        offered = [(c.code, c.shown_label) for c in self.codes.values() if c.active]
        for student in self.students:
            record = self.records.get(student.pk)
            choices = list(offered)
            if record is None:
                choices.insert(0, (self.NOT_TAKEN, _("— not taken —")))
            elif record.status not in dict(offered):
                choices.append((record.status, _("%(code)s (no longer offered)") % {"code": record.code.shown_label}))
            status, reason = (record.status, record.reason) if record else (self.NOT_TAKEN, "")
            self.fields[f"status_{student.pk}"] = forms.ChoiceField(
                choices=choices, required=False, initial=status,
                label=_("Status of %(name)s") % {"name": student.name})
            self.fields[f"reason_{student.pk}"] = forms.CharField(
                max_length=200, required=False, initial=reason, label=_("Reason for %(name)s") % {"name": student.name},
                widget=forms.TextInput(attrs={"placeholder": _("Reason")}))
            # What the form showed, to tell the rows the person changed.
            self.fields[f"shown_status_{student.pk}"] = forms.CharField(
                required=False, initial=status, widget=forms.HiddenInput)
            self.fields[f"shown_reason_{student.pk}"] = forms.CharField(
                required=False, initial=reason, widget=forms.HiddenInput)

    def anyone_not_taken(self) -> bool:
        """Whether a rostered student has no record yet (offered "— not taken —"): only
        then does the page offer "Set everyone not taken to Present"."""
        return any(student.pk not in self.records for student in self.students)

    def rows(self) -> list[dict]:
        """One row per student for the template: the student, the record, the fields."""
        rows = []
        for student in self.students:
            record = self.records.get(student.pk)
            photo_said = ""
            if record is not None:
                said = record.status if record.source == AttendanceRecord.PHOTO else record.machine_status
                # Shown in the page's language ("Present"), not the stored code ("present").
                photo_said = dict(AttendanceRecord.STATUS_CHOICES).get(said, said)
            rows.append({
                "student": student, "record": record, "photo_said": photo_said,
                "status": self[f"status_{student.pk}"], "reason": self[f"reason_{student.pk}"],
                "shown": [self[f"shown_status_{student.pk}"], self[f"shown_reason_{student.pk}"]],
            })
        return rows

    def clean(self):
        cleaned = super().clean()
        self._changes = []
        for student in self.students:
            status = cleaned.get(f"status_{student.pk}")
            reason = (cleaned.get(f"reason_{student.pk}") or "").strip()
            if status is None or status == self.NOT_TAKEN:
                continue  # not taken (or an invalid choice, already an error)
            shown = (cleaned.get(f"shown_status_{student.pk}") or "", (cleaned.get(f"shown_reason_{student.pk}") or "").strip())
            if (status, reason) == shown:
                continue
            try:
                check_status(status, reason, self.codes)
            except RegisterError as exc:
                needs_reason = status in self.codes and self.codes[status].needs_reason
                self.add_error(f"reason_{student.pk}" if needs_reason else f"status_{student.pk}",
                               f"{student.name}: {exc}")
                continue
            self._changes.append((student, status, reason))
        if self.errors:
            count = sum(1 for name in self.errors if name != "__all__")
            raise forms.ValidationError(ngettext("Nothing was saved: %(count)d row to correct.",
                                                 "Nothing was saved: %(count)d rows to correct.", count)
                                        % {"count": count})
        return cleaned

    def changes(self) -> list[tuple]:
        """``(student, status, reason)`` for each row the person changed (after ``is_valid``)."""
        return self._changes


class DuplicateDecisionForm(forms.Form):
    keep = forms.TypedChoiceField(choices=[("1", _("Keep")), ("0", _("Delete"))], coerce=lambda v: v == "1")


class ReportRangeForm(forms.Form):
    """The report's date range (GET ?from=YYYY-MM-DD&to=YYYY-MM-DD, both ends included;
    a blank end is open)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in (("from", _("From")), ("to", _("To"))):
            self.fields[name] = SchoolDateField(label=label, required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise forms.ValidationError(_("The first day must not be after the last day."))
        return cleaned
