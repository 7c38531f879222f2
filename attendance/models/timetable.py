"""The school's time: the weekly timetable of each class, terms and holidays."""
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _, gettext_lazy

from attendance.dates import validate_school_date
from attendance.models.fields import NameField
from attendance.models.roster import SchoolClass


WEEKDAY_CHOICES = [(0, gettext_lazy("Monday")), (1, gettext_lazy("Tuesday")), (2, gettext_lazy("Wednesday")),
                   (3, gettext_lazy("Thursday")), (4, gettext_lazy("Friday")), (5, gettext_lazy("Saturday")),
                   (6, gettext_lazy("Sunday"))]


class TimetablePeriod(models.Model):
    """One recurring period of a class's week (``timetable.py``). Its name is the session's
    period, so a register taken from the timetable is found again by (class, date, name)."""

    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAY_CHOICES)
    name = NameField(max_length=50, help_text=gettext_lazy("E.g. Period 1. It becomes the session's period."))
    starts_at = models.TimeField(gettext_lazy("starts"), help_text=gettext_lazy("The school's local time, e.g. 09:00."))
    ends_at = models.TimeField(gettext_lazy("ends"), help_text=gettext_lazy("The school's local time, e.g. 09:50."))

    class Meta:
        verbose_name = gettext_lazy("timetable period")
        verbose_name_plural = gettext_lazy("timetable periods")
        ordering = ["school_class", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(starts_at__lt=models.F("ends_at")),
                                   name="period_starts_before_it_ends",
                                   violation_error_message=gettext_lazy("A period must end after it starts.")),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="period_weekday_0_to_6"),
            # Two periods of one day with one name would share a session.
            models.UniqueConstraint(fields=["school_class", "weekday", "name"], name="one_period_name_per_class_day",
                                    violation_error_message=gettext_lazy(
                                        "The class already has a period of this name that day.")),
        ]

    def __str__(self):
        return f"{self.school_class} {self.get_weekday_display()} {self.name} {self.times}"

    @property
    def times(self) -> str:
        return f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"

    def overlaps(self, other) -> bool:
        return (self.weekday == other.weekday and self.starts_at < other.ends_at
                and other.starts_at < self.ends_at)

    def clean(self):
        # The admin's inline of a class's periods checks them together instead (a change
        # to two periods at once must be judged on the new times of both).
        if getattr(self, "_overlap_checked_by_formset", False) or not (self.starts_at and self.ends_at):
            return
        if self.starts_at >= self.ends_at:
            return  # the constraint period_starts_before_it_ends says so
        if self.school_class_id is None or self.weekday is None:
            return
        others = TimetablePeriod.objects.filter(school_class_id=self.school_class_id, weekday=self.weekday)
        for other in others.exclude(pk=self.pk):
            if self.overlaps(other):
                raise ValidationError(overlap_message(self, other))


def overlap_message(period, other) -> str:
    return _("%(period)s (%(times)s) overlaps %(other)s (%(other_times)s) on %(weekday)s: periods of a class "
             "may not overlap.") % {"period": period.name or _("This period"), "times": period.times,
                                    "other": other.name, "other_times": other.times,
                                    "weekday": period.get_weekday_display()}


LAST_DAY = gettext_lazy("The last day must not be before the first day.")


class Term(models.Model):
    """A term of the school year. Registers are expected on term days that are not holidays;
    with no term entered at all, every day counts as term time."""

    name = NameField(max_length=100, help_text=gettext_lazy("E.g. Autumn term 2026."))
    starts_on = models.DateField(gettext_lazy("first day"), validators=[validate_school_date])
    ends_on = models.DateField(gettext_lazy("last day"), validators=[validate_school_date])

    class Meta:
        verbose_name = gettext_lazy("term")
        verbose_name_plural = gettext_lazy("terms")
        ordering = ["starts_on"]
        constraints = [models.CheckConstraint(condition=models.Q(starts_on__lte=models.F("ends_on")),
                                              name="term_starts_before_it_ends", violation_error_message=LAST_DAY)]

    def __str__(self):
        return f"{self.name} ({self.starts_on:%d %b %Y} – {self.ends_on:%d %b %Y})"

    def clean(self):
        if self.starts_on and self.ends_on and self.starts_on <= self.ends_on:
            overlapping = Term.objects.filter(starts_on__lte=self.ends_on, ends_on__gte=self.starts_on)
            other = overlapping.exclude(pk=self.pk).first()
            if other:
                raise ValidationError(_("These dates overlap %(term)s.") % {"term": other})


class Holiday(models.Model):
    """Days without registers: a half term inside a term, a bank holiday, a training day.
    It may lie inside or outside a term; one day has the same first and last day."""

    name = NameField(max_length=100, help_text=gettext_lazy("E.g. Half term, or Staff training day."))
    starts_on = models.DateField(gettext_lazy("first day"), validators=[validate_school_date])
    ends_on = models.DateField(gettext_lazy("last day"), validators=[validate_school_date])

    class Meta:
        verbose_name = gettext_lazy("holiday")
        verbose_name_plural = gettext_lazy("holidays")
        ordering = ["starts_on"]
        constraints = [models.CheckConstraint(condition=models.Q(starts_on__lte=models.F("ends_on")),
                                              name="holiday_starts_before_it_ends", violation_error_message=LAST_DAY)]

    def __str__(self):
        if self.starts_on == self.ends_on:
            return f"{self.name} ({self.starts_on:%d %b %Y})"
        return f"{self.name} ({self.starts_on:%d %b %Y} – {self.ends_on:%d %b %Y})"
