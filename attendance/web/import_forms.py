"""The roster import's forms: the uploaded file, and the "Import" of a previewed upload."""
from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _


class RosterUploadForm(forms.Form):
    """A OneRoster CSV zip or a plain roster CSV, at most ``ROSTER_IMPORT_MAX_BYTES``."""

    roster = forms.FileField(
        label=_("Roster file"),
        help_text=_("The OneRoster CSV zip your information system exports (1.1 or 1.2), or a CSV with the columns "
                    "student_id, name, class, teacher (and teacher_email)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,.csv,application/zip,text/csv"}))

    def clean_roster(self):
        upload = self.cleaned_data["roster"]
        if upload.size > settings.ROSTER_IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is %(size)s; the limit is %(limit)s.") % {
                "size": filesizeformat(upload.size), "limit": filesizeformat(settings.ROSTER_IMPORT_MAX_BYTES)})
        return upload


class RosterImportForm(forms.Form):
    """The preview page's "Import" (or "Cancel")."""

    skip_bad_rows = forms.BooleanField(required=False, label=_("Import the good rows, skip the refused ones"))
    cancel = forms.BooleanField(required=False, widget=forms.HiddenInput)
