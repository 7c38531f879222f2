"""Forms of the school-wide pages: staff accounts, consent in bulk, photos by school id and
the register export (the class and session pages' forms are in ``forms``)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from attendance.staff import ROLE_CHOICES, TEACHER, OFFICE

#: How a new or existing staff member gets a password.
PASSWORD_LINK, ONE_TIME_PASSWORD = "link", "one_time"
PASSWORD_CHOICES = [(PASSWORD_LINK, _("A set-password link (e-mailed when the server sends e-mail; shown to you "
                                      "too)")),
                    (ONE_TIME_PASSWORD, _("A one-time password shown to you once (they must change it at first "
                                          "sign-in)"))]


class StaffAddForm(forms.Form):
    """A new staff account: name, e-mail (their user name), role and how they get a password."""

    name = forms.CharField(max_length=300, label=_("Full name"))
    email = forms.EmailField(max_length=150, label=_("E-mail"), help_text=_("Also their user name for signing in."))
    role = forms.ChoiceField(choices=[c for c in ROLE_CHOICES if c[0] in (TEACHER, OFFICE)], initial=TEACHER,
                             label=_("Role"))
    password = forms.ChoiceField(choices=PASSWORD_CHOICES, initial=PASSWORD_LINK, widget=forms.RadioSelect,
                                 label=_("Password"))


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, label=_("Role"))


class StaffActiveForm(forms.Form):
    """Deactivate (``active`` absent or false) or reactivate (``active`` = "1")."""

    active = forms.BooleanField(required=False)


class StaffPasswordForm(forms.Form):
    password = forms.ChoiceField(choices=PASSWORD_CHOICES, label=_("Password"))


class ConsentCsvForm(forms.Form):
    file = forms.FileField(label=_("Consent CSV"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
                           help_text=_("Columns student_id (the school id), given_by, given_on (YYYY-MM-DD) and note "
                                       "(where the signed form is kept). UTF-8."))


class PhotoZipForm(forms.Form):
    file = forms.FileField(label=_("Zip of photos"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
                           # Django renders help_text unescaped: the placeholders are written as entities to show.
                           help_text=_("&lt;school id&gt;.jpg, or &lt;school id&gt;/1.jpg, &lt;school id&gt;/2.jpg, "
                                       "... for students whose consent is recorded."))


class ImportApplyForm(forms.Form):
    skip_bad_rows = forms.BooleanField(required=False, label=_("Import the good rows, skip the refused ones"))
