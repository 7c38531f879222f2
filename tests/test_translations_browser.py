"""The scripts' words in Chinese, in a real browser (issue 18): the JavaScript catalogue
(/jsi18n/) reaches upload.js and reports.js, and the header's language menu switches the
page with one tap. Headless Chromium, as tests/test_browser.py."""
import pytest
from django.urls import reverse

from attendance.models import AttendanceRecord, ClassSession, LanguagePreference, Student

from .factories import make_class
from .test_browser import _missing_browser, _rate_chart, browser, by_text, css, css_all, sign_in, wait_until  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser,
              pytest.mark.skipif(bool(_missing_browser()), reason=_missing_browser() or "")]

PHONE = (390, 844)


def test_a_teacher_who_chose_chinese_gets_the_scripts_words_and_chart_in_chinese(live_server, browser, users, photo):
    LanguagePreference.objects.create(user=users["teacher"], language="zh-hans")
    ann, ben = Student.objects.create(name="Ann Archer"), Student.objects.create(name="Ben Baker")
    school_class = make_class(users["teacher"], students=[ann, ben])
    session = ClassSession.objects.create(school_class=school_class, date="2026-10-01", period="P1")
    for student, status in ((ann, "present"), (ben, "absent")):
        AttendanceRecord.objects.create(session=session, student=student, status=status)
    driver = browser(*PHONE)
    sign_in(driver, live_server.url, "teacher", "pw-teacher-1")  # the sign-in page in the browser's English

    driver.get(live_server.url + reverse("session_upload", args=[school_class.pk]))
    assert css(driver, "h1").text == "考勤拍照" and css(driver, "html").get_attribute("lang") == "zh-hans"
    css(driver, "#id_camera").send_keys(str(photo("groups/obama_and_biden.jpg")))
    wait_until(driver, lambda d: css_all(d, "#shots li button"), timeout=20, message="the shot was not listed")
    assert [b.text for b in css_all(driver, "#shots li button")] == ["重拍", "移除"]
    assert css(driver, "#shots li img").get_attribute("alt") == "obama_and_biden.jpg 的预览"

    driver.get(live_server.url + reverse("class_report", args=[school_class.pk]))
    wait_until(driver, lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('rate-chart'))"), timeout=20)
    assert _rate_chart(driver)["legend"] == ["出勤率（%）", "警戒线（90%）"]
    assert driver.execute_script("return Chart.getChart('rate-chart').data.labels") == ["2026年10月1日"]

    # One tap on "English" in the header: the same page in English, kept on the account.
    by_text(driver, "button", "English").click()
    wait_until(driver, lambda d: css(d, "html").get_attribute("lang") == "en-gb", timeout=20)
    assert driver.current_url.endswith(reverse("class_report", args=[school_class.pk]))
    assert css(driver, "h1").text.startswith("Attendance report")
    assert LanguagePreference.objects.get(user=users["teacher"]).language == "en-gb"
    scroll_width, inner_width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width + 1
