"""Timetables, terms and holidays: the period offered when taking attendance, the teacher's
"Today" and the untaken registers, at a fixed local time of the school (TIME_ZONE)."""
import datetime
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import AttendanceRecord, ClassSession, Holiday, Student, Term, TimetablePeriod

from .factories import make_class
from .world import build_school
from .test_access import TABLE, expect

pytestmark = pytest.mark.django_db

UTC = datetime.timezone.utc
MONDAY = datetime.date(2026, 11, 30)  # in the autumn term below
TUESDAY = MONDAY + datetime.timedelta(days=1)


def london(day: datetime.date, hour: int, minute: int = 0):
    """``time_machine`` at a London wall-clock time (London is on UTC in November)."""
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC), tick=False)


def period(school_class, name, start, end, weekday=MONDAY.weekday()) -> TimetablePeriod:
    return TimetablePeriod.objects.create(school_class=school_class, weekday=weekday, name=name,
                                          starts_at=datetime.time(*start), ends_at=datetime.time(*end))


@pytest.fixture
def school(users, settings):
    """The shared school (tests/world.py) with Ada Lovelace its only student (by hand: the
    timetable needs no photo), and a timetable: 7A (the teacher's) and 8B (the other
    teacher's), each with three Monday periods; the autumn term 2026 with a half term holiday."""
    settings.TIME_ZONE = "Europe/London"
    world = build_school(users, None, enrolled=(), by_hand=("Ada Lovelace",))
    own, other = world["class"], world["other"]
    for school_class in (own, other):
        period(school_class, "Period 1", (9, 0), (9, 50))
        period(school_class, "Period 2", (10, 0), (10, 50))
        period(school_class, "Period 3", (11, 10), (12, 0))
    period(own, "Tuesday period", (9, 0), (10, 0), weekday=TUESDAY.weekday())
    Term.objects.create(name="Autumn term 2026", starts_on=datetime.date(2026, 9, 2), ends_on=datetime.date(2026, 12, 18))
    Holiday.objects.create(name="Half term", starts_on=datetime.date(2026, 10, 26), ends_on=datetime.date(2026, 10, 30))
    return {"class": own, "other": other}


def upload_page(client, school_class, query="") -> str:
    response = client.get(reverse("session_upload", args=[school_class.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def offered_periods(page: str) -> list[str]:
    select = re.search(r'<select name="timetable_period".*?</select>', page, re.S)
    return re.findall(r'<option value="([^"]*)"', select.group(0)) if select else []


def selected_period(page: str) -> str | None:
    select = re.search(r'<select name="timetable_period".*?</select>', page, re.S).group(0)
    found = re.search(r'<option value="([^"]*)"[^>]* selected>', select)
    return found.group(1) if found else None


class TestUploadOffersTodaysPeriods:
    @pytest.mark.parametrize("hour, minute, expected", [
        (7, 30, "Period 1"),   # before school: the first period
        (9, 20, "Period 1"),   # during it
        (9, 55, "Period 2"),   # in the break: the next one
        (11, 59, "Period 3"),
        (16, 0, "Period 3"),   # after school: the last one of the day
    ])
    def test_the_current_or_next_period_is_preselected_by_local_time(self, client, users, school, hour, minute,
                                                                     expected):
        with london(MONDAY, hour, minute):
            client.force_login(users["teacher"])
            page = upload_page(client, school["class"])
        assert offered_periods(page) == ["Period 1", "Period 2", "Period 3", ""]
        assert selected_period(page) == expected
        assert "Period 1 · 09:00–09:50" in page

    def test_the_schools_time_zone_decides_the_day_and_the_period(self, client, users, school, settings):
        """05:30 on Tuesday in UTC is still Monday 21:30 in Los Angeles: the school's local
        day's timetable is offered, and its local time picks the period."""
        settings.TIME_ZONE = "America/Los_Angeles"
        with time_machine.travel(datetime.datetime(2026, 12, 1, 17, 20, tzinfo=UTC), tick=False):  # 09:20 in LA
            client.force_login(users["teacher"])
            page = upload_page(client, school["class"])
        assert offered_periods(page) == ["Tuesday period", ""] and selected_period(page) == "Tuesday period"
        with time_machine.travel(datetime.datetime(2026, 12, 1, 5, 30, tzinfo=UTC), tick=False):  # Mon 21:30 in LA
            page = upload_page(client, school["class"])
        assert re.search(r'name="date" value="2026-11-30"', page)
        assert offered_periods(page) == ["Period 1", "Period 2", "Period 3", ""]
        assert selected_period(page) == "Period 3"

    def test_the_chosen_period_names_the_session(self, client, users, school, photo,
                                                 django_capture_on_commit_callbacks):
        with london(MONDAY, 10, 5), django_capture_on_commit_callbacks(execute=False):
            client.force_login(users["teacher"])
            response = client.post(reverse("session_upload", args=[school["class"].pk]), {
                "date": "2026-11-30", "timetable_period": "Period 2", "period": "",
                "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
        assert response.status_code == 302
        session = ClassSession.objects.get()
        assert (session.date, session.period) == (MONDAY, "Period 2")

    def test_another_period_can_be_typed_and_another_date_chosen(self, client, users, school, photo,
                                                                 django_capture_on_commit_callbacks):
        with london(MONDAY, 10, 5), django_capture_on_commit_callbacks(execute=False):
            client.force_login(users["teacher"])
            response = client.post(reverse("session_upload", args=[school["class"].pk]), {
                "date": "2026-11-27", "timetable_period": "", "period": "Cover lesson",
                "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
        assert response.status_code == 302
        session = ClassSession.objects.get()
        assert (session.date, session.period) == (datetime.date(2026, 11, 27), "Cover lesson")

    def test_a_typed_spelling_of_a_timetabled_period_counts_as_that_period(self, client, users, school, photo,
                                                                           django_capture_on_commit_callbacks):
        with london(MONDAY, 10, 5), django_capture_on_commit_callbacks(execute=False):
            client.force_login(users["teacher"])
            for typed in ("period 1", "  PERIOD   1 "):
                response = client.post(reverse("session_upload", args=[school["class"].pk]), {
                    "date": "2026-11-30", "timetable_period": "", "period": typed,
                    "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
                assert response.status_code == 302
        session = ClassSession.objects.get()
        assert (session.date, session.period) == (MONDAY, "Period 1")

    def test_no_period_chosen_or_typed_is_an_error_in_words(self, client, users, school, photo):
        with london(MONDAY, 10, 5):
            client.force_login(users["teacher"])
            response = client.post(reverse("session_upload", args=[school["class"].pk]), {
                "date": "2026-11-30", "timetable_period": "", "period": "  ",
                "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
        assert response.status_code == 400
        assert "Choose a period of the timetable, or type another." in response.content.decode()
        assert not ClassSession.objects.exists()

    def test_a_link_for_another_date_offers_that_days_periods(self, client, users, school):
        with london(MONDAY, 9, 20):
            client.force_login(users["teacher"])
            page = upload_page(client, school["class"], "?date=2026-12-01&period=Tuesday+period")
        assert offered_periods(page) == ["Tuesday period", ""] and selected_period(page) == "Tuesday period"
        assert re.search(r'name="date" value="2026-12-01"', page)

    @pytest.mark.parametrize("day, reason", [
        (datetime.date(2026, 10, 26), "is a holiday: Half term"),
        (datetime.date(2026, 12, 21), "is outside the school terms"),
    ])
    def test_holidays_and_days_outside_the_terms_offer_no_periods(self, client, users, school, day, reason):
        with london(day, 9, 20):  # both Mondays
            client.force_login(users["teacher"])
            page = upload_page(client, school["class"])
        assert offered_periods(page) == []
        assert reason in page and "type the period" in page
        assert re.search(r'name="period"[^>]*>', page)

    def test_a_class_without_timetable_keeps_the_typed_period(self, client, users, school):
        plain = make_class(users["teacher"], "9C")
        with london(MONDAY, 9, 20):
            client.force_login(users["teacher"])
            page = upload_page(client, plain)
        assert offered_periods(page) == []
        assert re.search(r'name="period" value="Period 1"', page)
        assert "type the period" not in page


class TestTeachersToday:
    def test_home_lists_todays_periods_with_a_link_and_whether_taken(self, client, users, school):
        taken = ClassSession.objects.create(school_class=school["class"], date=MONDAY, period="Period 1")
        AttendanceRecord.objects.create(session=taken, student=school["class"].students.get(),
                                        status=AttendanceRecord.PRESENT)
        ClassSession.objects.create(school_class=school["class"], date=MONDAY, period="Period 2")
        with london(MONDAY, 10, 5):
            client.force_login(users["teacher"])
            page = client.get(reverse("home")).content.decode()
        today = page[page.index("<h2>Today"):page.index("</section>")]
        assert "Monday 30 November" in today
        assert "8B" not in today and "Tuesday period" not in today
        assert f'href="{reverse("session_detail", args=[taken.pk])}">Taken</a>' in today
        assert "Photos processing" in today
        upload = reverse("session_upload", args=[school["class"].pk])
        assert f'href="{upload}?date=2026-11-30&amp;period=Period%203">Take attendance</a>' in today

    def test_home_says_when_today_is_a_holiday(self, client, users, school):
        with london(datetime.date(2026, 10, 27), 10, 5):
            client.force_login(users["teacher"])
            page = client.get(reverse("home")).content.decode()
        assert "Tuesday 27 October 2026 is a holiday: Half term." in page

    def test_no_today_section_without_a_timetable(self, client, users, school):
        with london(MONDAY, 10, 5):
            client.force_login(users["office"])
            assert "<h2>Today" not in client.get(reverse("home")).content.decode()


def untaken(client, query="") -> tuple[int, str]:
    response = client.get(reverse("untaken_registers") + query)
    return response.status_code, response.content.decode()


def listed(page: str) -> list[tuple[str, str]]:
    """(class, period) of each row of the untaken table."""
    return re.findall(r"<tr>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", page)


class TestUntakenRegisters:
    def test_every_period_of_today_without_attendance_is_listed(self, client, users, school):
        with london(MONDAY, 10, 5):
            client.force_login(users["admin"])
            status, page = untaken(client)
        assert status == 200 and "Monday 30 November 2026" in page
        assert listed(page) == [("7A", "Period 1"), ("8B", "Period 1"), ("7A", "Period 2"), ("8B", "Period 2"),
                                ("7A", "Period 3"), ("8B", "Period 3")]
        assert page.count("Not taken") == 4 and page.count("Starts later") == 2
        upload = reverse("session_upload", args=[school["class"].pk])
        assert f'{upload}?date=2026-11-30&amp;period=Period%201' in page

    def test_the_list_empties_when_a_record_exists(self, client, users, school):
        session = ClassSession.objects.create(school_class=school["class"], date=MONDAY, period="Period 1")
        with london(MONDAY, 10, 5):
            client.force_login(users["admin"])
            # A session whose photos are not processed yet holds no attendance: still listed.
            assert ("7A", "Period 1") in listed(untaken(client)[1])
            assert "No attendance yet" in untaken(client)[1]
            AttendanceRecord.objects.create(session=session, student=school["class"].students.get(),
                                            status=AttendanceRecord.ABSENT)
            assert ("7A", "Period 1") not in listed(untaken(client)[1])
            for school_class in (school["class"], school["other"]):
                for period_ in school_class.periods.filter(weekday=MONDAY.weekday()):
                    session, _ = ClassSession.objects.get_or_create(school_class=school_class, date=MONDAY,
                                                                    period=period_.name)
                    student = Student.objects.create(name=f"{school_class} {period_.name}")
                    AttendanceRecord.objects.get_or_create(session=session, student=student,
                                                           defaults={"status": AttendanceRecord.PRESENT})
            status, page = untaken(client)
        assert status == 200 and listed(page) == [] and "Every register of this day is taken." in page

    def test_a_session_spelt_otherwise_is_its_periods_register(self, client, users, school):
        # Typed before the timetable spelt it so (or by an older version): still that period's.
        session = ClassSession.objects.create(school_class=school["class"], date=MONDAY, period="period  1")
        AttendanceRecord.objects.create(session=session, student=school["class"].students.get(),
                                        status=AttendanceRecord.ABSENT)
        with london(MONDAY, 10, 5):
            client.force_login(users["admin"])
            assert ("7A", "Period 1") not in listed(untaken(client)[1])

    def test_a_chosen_date(self, client, users, school):
        with london(MONDAY, 10, 5):
            client.force_login(users["office"])
            status, page = untaken(client, "?date=2026-12-01")
        assert status == 200 and "Tuesday 1 December 2026" in page
        assert listed(page) == [("7A", "Tuesday period")]
        assert "Take attendance" not in page  # office staff chase registers; they do not take them

    @pytest.mark.parametrize("query, reason", [
        ("?date=2026-10-28", "Wednesday 28 October 2026 is a holiday: Half term."),
        ("?date=2026-12-21", "Monday 21 December 2026 is outside the school terms."),
        ("?date=2027-01-04", "Monday 4 January 2027 is outside the school terms."),
    ])
    def test_nothing_is_listed_on_holidays_and_outside_the_terms(self, client, users, school, query, reason):
        with london(MONDAY, 10, 5):
            client.force_login(users["admin"])
            status, page = untaken(client, query)
        assert status == 200 and reason in page and listed(page) == []

    def test_with_no_term_entered_every_day_is_term_time(self, client, users, school):
        Term.objects.all().delete()
        with london(MONDAY, 10, 5):
            client.force_login(users["admin"])
            status, page = untaken(client, "?date=2027-01-04")
        assert status == 200 and len(listed(page)) == 6
        assert "No term dates are entered" in page

    def test_an_unreadable_date_is_refused_in_words(self, client, users, school):
        client.force_login(users["admin"])
        status, page = untaken(client, "?date=tomorrow")
        assert status == 400 and "Enter a valid date." in page

    def test_the_access_table_has_the_page(self):
        # Teachers do not see other classes' registers; office staff chase them.
        assert TABLE["untaken_registers"] == ("get", None, expect(200, 403, 403, 200))


class TestTimetableAdmin:
    def change_class(self, client, school_class, periods, extra=None):
        """POST the class's admin page with its periods (dicts; "id" for existing ones)."""
        data = {"name": school_class.name, "teacher": school_class.teacher_id, "_save": "Save",
                "periods-TOTAL_FORMS": len(periods), "periods-INITIAL_FORMS": sum("id" in p for p in periods),
                "periods-MIN_NUM_FORMS": 0, "periods-MAX_NUM_FORMS": 1000}
        for i, values in enumerate(periods):
            for key, value in values.items():
                data[f"periods-{i}-{key}"] = value
            data[f"periods-{i}-school_class"] = school_class.pk
        return client.post(reverse("admin:attendance_schoolclass_change", args=[school_class.pk]), data)

    def test_the_class_page_of_the_admin_edits_its_periods(self, client, users, school):
        client.force_login(users["admin"])
        page = client.get(reverse("admin:attendance_schoolclass_change", args=[school["class"].pk])).content.decode()
        assert "Timetable periods" in page and 'name="periods-0-starts_at" value="09:00:00"' in page
        for name in ("timetableperiod", "term", "holiday"):
            assert client.get(reverse(f"admin:attendance_{name}_changelist")).status_code == 200

    def test_overlapping_periods_are_refused_with_a_message(self, client, users, school):
        client.force_login(users["admin"])
        plain = make_class(users["teacher"], "9C")
        response = self.change_class(client, plain, [
            {"weekday": 0, "name": "Period 1", "starts_at": "09:00", "ends_at": "09:50"},
            {"weekday": 0, "name": "Period 2", "starts_at": "09:45", "ends_at": "10:30"},
        ])
        assert response.status_code == 200
        assert ("Period 2 (09:45–10:30) overlaps Period 1 (09:00–09:50) on Monday: periods of a class may "
                "not overlap.") in response.content.decode()
        assert not plain.periods.exists()

    def test_moving_two_adjacent_periods_at_once_is_not_an_overlap(self, client, users, school):
        client.force_login(users["admin"])
        monday = list(school["class"].periods.filter(weekday=0).order_by("starts_at"))
        tuesday = school["class"].periods.get(weekday=1)
        response = self.change_class(client, school["class"], [
            # Period 1 now runs into Period 2's old time, which moves later in the same save.
            {"id": monday[0].pk, "weekday": 0, "name": "Period 1", "starts_at": "09:00", "ends_at": "10:20"},
            {"id": monday[1].pk, "weekday": 0, "name": "Period 2", "starts_at": "10:20", "ends_at": "11:00"},
            {"id": monday[2].pk, "weekday": 0, "name": "Period 3", "starts_at": "11:10", "ends_at": "12:00"},
            {"id": tuesday.pk, "weekday": 1, "name": "Tuesday period", "starts_at": "09:00", "ends_at": "10:00"},
        ])
        assert response.status_code == 302
        assert [p.times for p in school["class"].periods.filter(weekday=0)] == [
            "09:00–10:20", "10:20–11:00", "11:10–12:00"]

    def test_a_period_ending_before_it_starts_is_refused(self, client, users, school):
        client.force_login(users["admin"])
        response = client.post(reverse("admin:attendance_timetableperiod_add"), {
            "school_class": school["class"].pk, "weekday": 2, "name": "Late", "starts_at": "15:00",
            "ends_at": "14:00"})
        assert response.status_code == 200 and "A period must end after it starts." in response.content.decode()

    def test_a_single_period_overlapping_a_saved_one_is_refused(self, client, users, school):
        client.force_login(users["admin"])
        response = client.post(reverse("admin:attendance_timetableperiod_add"), {
            "school_class": school["class"].pk, "weekday": 0, "name": "Assembly", "starts_at": "08:50",
            "ends_at": "09:10"})
        assert response.status_code == 200
        assert ("Assembly (08:50–09:10) overlaps Period 1 (09:00–09:50) on Monday: periods of a class may "
                "not overlap.") in response.content.decode()
        # Another class may have a period at that time.
        response = client.post(reverse("admin:attendance_timetableperiod_add"), {
            "school_class": make_class(users["teacher"], "9C").pk, "weekday": 0, "name": "Assembly",
            "starts_at": "08:50", "ends_at": "09:10"})
        assert response.status_code == 302

    def test_terms_may_not_overlap_and_holidays_end_after_they_start(self, client, users, school):
        client.force_login(users["admin"])
        response = client.post(reverse("admin:attendance_term_add"), {
            "name": "Spring term 2027", "starts_on": "2026-12-15", "ends_on": "2027-03-26"})
        assert response.status_code == 200 and "These dates overlap Autumn term 2026" in response.content.decode()
        response = client.post(reverse("admin:attendance_holiday_add"), {
            "name": "Training day", "starts_on": "2026-11-20", "ends_on": "2026-11-19"})
        assert response.status_code == 200
        assert "The last day must not be before the first day." in response.content.decode()

    def test_teachers_and_office_staff_cannot_edit_the_timetable(self, client, users, school):
        for role in ("teacher", "office"):
            client.force_login(users[role])
            for name in ("timetableperiod", "term", "holiday"):
                assert client.get(reverse(f"admin:attendance_{name}_changelist")).status_code == 302
