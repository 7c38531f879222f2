"""The school's calendar: classes' recurring periods, terms and holidays, and which
registers of a day are still untaken.

Every "today" and "now" is the school's local date and time (``TIME_ZONE``), as for
session dates: a register taken at 23:30 in London is the London day's.
"""
import datetime
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from attendance.models import ClassSession, Holiday, Term, TimetablePeriod
from attendance.text import name_key


@dataclass
class DayOff:
    """Why a date has no registers: ``kind`` is "holiday" or "out_of_term"."""

    kind: str
    message: str


def day_off(date: datetime.date) -> DayOff | None:
    """The reason ``date`` has no registers (a holiday, or outside every term), else None.

    A holiday wins over a term it lies in. With no term entered at all every day is term
    time, so a school can use the timetable before it has entered its term dates."""
    day = date_format(date, "l j F Y")
    holiday = Holiday.objects.filter(starts_on__lte=date, ends_on__gte=date).first()
    if holiday:
        return DayOff("holiday", gettext("%(day)s is a holiday: %(holiday)s. No registers are expected.")
                      % {"day": day, "holiday": holiday.name})
    terms = Term.objects.all()
    if terms.exists() and not terms.filter(starts_on__lte=date, ends_on__gte=date).exists():
        return DayOff("out_of_term", gettext("%(day)s is outside the school terms. No registers are expected.")
                      % {"day": day})
    return None


def periods_on(date: datetime.date, classes=None) -> list[TimetablePeriod]:
    """The timetabled periods of ``date`` (of ``classes``, a queryset, or of every class),
    ordered by start time; none on a holiday or outside the terms."""
    if day_off(date):
        return []
    periods = TimetablePeriod.objects.filter(weekday=date.weekday()).select_related("school_class__teacher")
    if classes is not None:
        periods = periods.filter(school_class__in=classes)
    return list(periods.order_by("starts_at", "school_class__name", "name"))


def preselected(periods: list[TimetablePeriod], now: datetime.time) -> TimetablePeriod | None:
    """The period a teacher most likely takes the register of at ``now``: the current one,
    else the next to start, else (after the last one ended) the last of the day."""
    ordered = sorted(periods, key=lambda p: p.starts_at)
    for period in ordered:
        if now < period.ends_at:
            return period
    return ordered[-1] if ordered else None


@dataclass
class Register:
    """A timetabled period of a date and its session, if one was started."""

    period: TimetablePeriod
    date: datetime.date
    session: ClassSession | None
    record_count: int

    @property
    def taken(self) -> bool:
        """Taken once the session holds attendance records (photos processed or a hand entry)."""
        return self.record_count > 0

    @property
    def started(self) -> bool:
        """False for a period of today that has not begun yet (its register is not due)."""
        now = timezone.localtime()
        return self.date < now.date() or (self.date == now.date() and self.period.starts_at <= now.time())


def registers_on(date: datetime.date, classes=None) -> list[Register]:
    """Every timetabled period of ``date`` (see ``periods_on``) with its session and how many
    attendance records it holds. A session is the period's when its class and date are
    the period's and its period name is another spelling of the period's (same
    ``text.name_key``: "period 1" and "Period  1" count as "Period 1")."""
    periods = periods_on(date, classes)
    if not periods:
        return []
    sessions = (ClassSession.objects.filter(date=date, school_class__in={p.school_class_id for p in periods})
                .annotate(record_count=Count("records")))
    by_key = {}
    for session in sorted(sessions, key=lambda s: s.pk, reverse=True):  # the oldest wins a tie
        by_key[(session.school_class_id, name_key(session.period))] = session
    registers = []
    for period in periods:
        session = by_key.get((period.school_class_id, name_key(period.name)))
        registers.append(Register(period, date, session, session.record_count if session else 0))
    return registers


def untaken_registers(date: datetime.date) -> list[Register]:
    """The registers of ``date`` still to take: every class's timetabled period with no
    session, or a session with no attendance record at all (its photos may still be
    processing). Empty on holidays and outside the terms."""
    return [register for register in registers_on(date) if not register.taken]


def timetabled_spelling(school_class, period: str) -> str:
    """``period`` (a name typed for a register of ``school_class``) as the class's
    timetable spells it when one of its periods has the same ``text.name_key`` ("period 1",
    "Period  1" -> "Period 1"); otherwise ``period`` unchanged."""
    key = name_key(period)
    for name in school_class.periods.values_list("name", flat=True).order_by("name").distinct():
        if name_key(name) == key:
            return name
    return period


def has_periods_on(weekday: int) -> bool:
    """Whether any class has a period on this weekday (0 Monday ... 6 Sunday)."""
    return TimetablePeriod.objects.filter(weekday=weekday).exists()


def terms_entered() -> bool:
    return Term.objects.exists()


@dataclass
class UploadOffer:
    """What the take-attendance page offers a class: the timetabled periods of ``date``
    with the one to preselect, or why there are none (``day_off``)."""

    date: datetime.date
    periods: list[TimetablePeriod]
    period_names: set[str]
    preselect: TimetablePeriod | None
    day_off: DayOff | None


def upload_offer(school_class, date: datetime.date | None = None) -> UploadOffer:
    """The periods to offer on the take-attendance page for ``date`` (the page's link's,
    already read; today when None). The period preselected is the current or next by the
    school's local time today; on another date, none."""
    today = timezone.localdate()
    date = date or today
    period_names = set(school_class.periods.values_list("name", flat=True))
    if not period_names:
        return UploadOffer(date, [], set(), None, None)
    periods = periods_on(date, [school_class])
    preselect = preselected(periods, timezone.localtime().time()) if date == today else None
    return UploadOffer(date, periods, period_names, preselect, day_off(date))
