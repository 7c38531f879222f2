"""The dates the app accepts: every date typed, sent in a query string or an API field, or
stored (sessions, terms, holidays, consent), lies in FIRST_DATE..LAST_DATE.

Year 2000 to 2100: wide enough for any school year and any consent form on file, and far
from the ends of Python's ``datetime.date`` (year 1 and 9999), where the day before or after
(the registers page's "previous day" / "next day", a range's end) does not exist and Django's
date filters fail. A date outside is refused with a message naming the range (HTTP 400 on
the pages and the API, a command error on the command line)."""
import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

FIRST_DATE = datetime.date(2000, 1, 1)
LAST_DATE = datetime.date(2100, 12, 31)


def out_of_range_message(value: datetime.date) -> str:
    """The words refusing ``value``, naming the accepted range."""
    return _("%(date)s is outside the dates this app accepts (%(first)s to %(last)s).") % {
        "date": value.isoformat(), "first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()}


def validate_school_date(value: datetime.date | str) -> None:
    """Raise django.core.exceptions.ValidationError (code "date_out_of_range") unless
    FIRST_DATE <= ``value`` <= LAST_DATE. A validator for model, form and API fields; a
    YYYY-MM-DD string (as the ORM also takes) is read first (code "invalid" if it is not one)."""
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": repr(value)},
                                  code="invalid")
    if isinstance(value, datetime.datetime):
        value = value.date()
    if value is not None and not (FIRST_DATE <= value <= LAST_DATE):
        raise ValidationError(out_of_range_message(value), code="date_out_of_range")


def in_range(value: datetime.date | None) -> bool:
    """True for a date within FIRST_DATE..LAST_DATE (False for None)."""
    return value is not None and FIRST_DATE <= value <= LAST_DATE


def parse_school_date(text: str) -> datetime.date:
    """``text`` (YYYY-MM-DD) as a date in range; raises ValueError with a message otherwise.
    For the command line (argparse ``type=``) and query strings read without a form."""
    try:
        value = datetime.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": repr(text)})
    if not in_range(value):
        raise ValueError(out_of_range_message(value))
    return value


class SchoolDateField(forms.DateField):
    """A form's date (the browser's date picker, ISO YYYY-MM-DD), refused outside
    FIRST_DATE..LAST_DATE; the picker is given the same bounds."""

    default_validators = [validate_school_date]

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if getattr(widget, "input_type", None) == "date":
            attrs.update(min=FIRST_DATE.isoformat(), max=LAST_DATE.isoformat())
        return attrs
