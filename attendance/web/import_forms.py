"""The roster import's forms: the uploaded file, and the "Import" of a previewed upload."""
from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat


class RosterUploadForm(forms.Form):
    """A OneRoster CSV zip or a plain roster CSV, at most ``ROSTER_IMPORT_MAX_BYTES``."""

    roster = forms.FileField(
        label="Roster file",
        help_text="The OneRoster CSV zip your information system exports (1.1 or 1.2), or a CSV with the columns "
                  "student_id, name, class, teacher (and teacher_email).",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.csv,application/zip,text/csv"}))

    def clean_roster(self):
        upload = self.cleaned_data["roster"]
        if upload.size > settings.ROSTER_IMPORT_MAX_BYTES:
            raise forms.ValidationError(f"The file is {filesizeformat(upload.size)}; the limit is "
                                        f"{filesizeformat(settings.ROSTER_IMPORT_MAX_BYTES)}.")
        return upload


class RosterImportForm(forms.Form):
    """The preview page's "Import" (or "Cancel")."""

    skip_bad_rows = forms.BooleanField(required=False, label="Import the good rows, skip the refused ones")
    cancel = forms.BooleanField(required=False, widget=forms.HiddenInput)
