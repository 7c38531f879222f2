"""The scripts' words in Chinese, in a real browser (issue 18): the JavaScript catalogue
(/jsi18n/) reaches upload.js and reports.js, and the header's language menu switches the
page with one tap. Headless Chromium, as tests/test_browser.py."""
import os
from pathlib import Path

import pytest
from django.urls import reverse

from attendance.models import AttendanceRecord, ClassSession, LanguagePreference, Student

from .factories import make_class
from .test_browser import (  # noqa: F401 (browser: the fixture)
    _class_with_a_processed_session,
    _missing_browser,
    _rate_chart,
    browser,
    by_text,
    css,
    css_all,
    sign_in,
    wait_until,
)

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


@pytest.mark.worker
def test_every_page_in_chinese_on_a_phone(celery_worker_process, live_server, browser, users, photo, client, tmp_path):
    """At 390 x 844 in Chinese (longer words in places, other line breaks): no page scrolls
    sideways, its heading is in Chinese and its main buttons, in Chinese, are on the screen.
    BROWSER_SCREENSHOTS=folder keeps the screenshots (zh-*.png)."""
    school_class, session = _class_with_a_processed_session(client, users, photo)
    student = Student.objects.get(name="Barack Obama")
    LanguagePreference.objects.create(user=users["admin"], language="zh-hans")
    base = live_server.url
    driver = browser(*PHONE)
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    sign_in(driver, base, "admin", "pw-admin-1")
    pages = [
        ("home", reverse("home"), "全部班级", [("a", "新建班级"), ("a", "考勤拍照")]),
        ("class", reverse("class_detail", args=[school_class.pk]), "7A", [("a", "考勤拍照"), ("button", "登记")]),
        ("take-attendance", reverse("session_upload", args=[school_class.pk]), "考勤拍照", [("button", "上传并考勤")]),
        ("session", reverse("session_detail", args=[session.pk]), None,
         [("a", "手动点名"), ("a", "再添加一张照片"), ("button", "点名册无误")]),
        ("review", reverse("session_review", args=[session.pk]) + "?all=1", None,
         [("a", "返回点名册"), ("button", "不是学生")]),
        ("register", reverse("session_register", args=[session.pk]), None, [("button", "保存点名册")]),
        ("report", reverse("class_report", args=[school_class.pk]), "考勤报表 · 7A", [("a", "下载 CSV")]),
        ("student", reverse("student_detail", args=[student.pk]), "Barack Obama", [("button", "添加照片")]),
        ("staff", reverse("staff_list"), "教职工", [("button", "添加")]),
        ("untaken", reverse("untaken_registers") + "?date=2026-11-02", "未点名的课 2026年11月2日 星期一", []),
    ]
    for name, url, heading, buttons in pages:
        driver.get(base + url)
        wait_until(driver, lambda d: d.execute_script("return document.readyState") == "complete", timeout=20)
        driver.save_screenshot(str(shots / f"zh-{name}.png"))
        assert css(driver, "html").get_attribute("lang") == "zh-hans", name
        if heading:
            assert css(driver, "h1").text == heading, name
        scroll_width, inner_width = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width + 1, f"{name}: the page is {scroll_width}px wide on a {inner_width}px screen"
        for tag, text in buttons:
            left, right = driver.execute_script(
                "var r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", by_text(driver, tag, text))
            assert left >= -1 and right <= inner_width + 1, f"{name}: {text!r} is off the screen ({left}..{right})"
