"""Forms: validation of everything a user submits, with errors in words."""
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from faces.errors import ImageError

from . import engine
from .models import AttendanceRecord, SchoolClass


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """One or more photos; each is checked for size and readable image header."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        files = [f for f in files if f] or [None]
        cleaned = [super(PhotosField, self).clean(f, initial) for f in files]
        errors = []
        for photo in cleaned:
            if photo is None:
                continue
            if photo.size > settings.MAX_PHOTO_BYTES:
                errors.append(
                    f"{photo.name}: {filesizeformat(photo.size)} is over the limit of "
                    f"{filesizeformat(settings.MAX_PHOTO_BYTES)} per photo."
                )
                continue
            try:
                extension = engine.check_photo_header(photo)
            except ImageError as exc:
                errors.append(f"{photo.name}: {exc}")
            else:
                # Stored under a generated name with the extension of its real format.
                photo.name = f"photo{extension}"
        if errors:
            raise forms.ValidationError(errors)
        return [f for f in cleaned if f is not None]


class SchoolClassForm(forms.ModelForm):
    class Meta:
        model = SchoolClass
        fields = ["name", "teacher"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teacher"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["teacher"].label_from_instance = _person_name


def _person_name(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


class StudentEnrolForm(forms.Form):
    name = forms.CharField(max_length=150, label="Student's full name")
    photos = PhotosField(label="Enrolment photos", help_text="One or more photos of the student alone, face visible.")


class EnrolmentPhotosForm(forms.Form):
    photos = PhotosField(label="Add photos")


class ZipEnrolForm(forms.Form):
    archive = forms.FileField(
        label="Zip of photos",
        help_text="One folder per student, named after the student, holding their photos.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_archive(self):
        archive = self.cleaned_data["archive"]
        if archive.size > settings.MAX_ZIP_BYTES:
            raise forms.ValidationError(
                f"The zip is {filesizeformat(archive.size)}; the limit is {filesizeformat(settings.MAX_ZIP_BYTES)}."
            )
        return archive


class ClassPhotoUploadForm(forms.Form):
    # The browser's date picker only accepts ISO dates (YYYY-MM-DD) as its value.
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    period = forms.CharField(max_length=50, initial="Period 1", help_text="E.g. Period 1, or 09:00.")
    photos = PhotosField(label="Class photos")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The school's local date (TIME_ZONE), not the server's or UTC's.
        self.fields["date"].initial = self.initial.get("date") or timezone.localdate()


class FaceReviewForm(forms.Form):
    """Who a face is: a student of the roster, or explicitly nobody ("Not a student").

    Nothing is chosen for a face the machine could not name, so saving without choosing
    is an error instead of silently recording "Not a student"."""

    NOT_A_STUDENT = "none"
    student = forms.ChoiceField(error_messages={"required": "Choose a student from the roster, or “Not a student”."})
    add_to_enrolment = forms.BooleanField(required=False)

    def __init__(self, *args, face=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.roster = {str(s.pk): s for s in face.photo.session.school_class.students.order_by("name")}
        self.fields["student"].choices = (
            [("", "— who is this? —"), (self.NOT_A_STUDENT, "Not a student")]
            + [(pk, student.name) for pk, student in self.roster.items()]
        )
        if not self.is_bound:
            if face.is_reviewed:
                self.fields["student"].initial = str(face.reviewed_student_id or self.NOT_A_STUDENT)
            elif face.student_id:
                self.fields["student"].initial = str(face.student_id)

    def clean_student(self):
        """The chosen ``Student``, or None for "Not a student"."""
        value = self.cleaned_data["student"]
        return None if value == self.NOT_A_STUDENT else self.roster[value]


class RecordStatusForm(forms.Form):
    status = forms.ChoiceField(choices=AttendanceRecord.STATUS_CHOICES)


class DuplicateDecisionForm(forms.Form):
    keep = forms.TypedChoiceField(choices=[("1", "Keep"), ("0", "Delete")], coerce=lambda v: v == "1")
