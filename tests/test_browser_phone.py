"""Issue 18's acceptance on a phone (390 x 844), in one teacher's morning: the photo taken
through the page's camera input, the marked photo read and one face corrected without any
sideways scroll, then the class report's rate column read on the screen.

Headless Chromium against the live server and a real Celery worker, as tests/test_browser.py
(whose fixtures and helpers it uses); skipped without Debian's chromium and chromium-driver.
"""
import os
from pathlib import Path

import pytest
from django.urls import reverse
from selenium.common.exceptions import StaleElementReferenceException

from attendance.models import ClassSession, DetectedFace

from .test_browser import (PHONE, _missing_browser, browser, button_in, by_text, css, css_all,  # noqa: F401
                           fill, marked_photo_names, sign_in, wait_until)
from .test_store_down import store_down  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser,
              pytest.mark.skipif(bool(_missing_browser()), reason=_missing_browser() or "")]


def no_sideways_scroll(driver, name):
    scroll_width, inner_width = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width + 1, f"{name}: the page is {scroll_width}px wide on a {inner_width}px screen"
    return inner_width


def on_screen(driver, element) -> dict:
    """The element's box in the viewport after scrolling it into view (CSS pixels)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    return driver.execute_script(
        "var r = arguments[0].getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,"
        "        width: window.innerWidth, height: window.innerHeight}", element)


def inside(box) -> bool:
    return (box["left"] >= -1 and box["right"] <= box["width"] + 1
            and box["top"] >= -1 and box["bottom"] <= box["height"] + 1)


def names_when_processed(driver) -> set[str]:
    """The names listed with the marked photo; empty while the page is still waiting (or reloading)."""
    try:
        return marked_photo_names(driver) if css_all(driver, ".face-list > li") else set()
    except StaleElementReferenceException:
        return set()


#: The words the teacher taps and reads, in each language of the test.
WORDS = {
    "en-gb": {"take": "Take attendance", "upload": "Upload and take attendance", "not_a_student": "Not a student",
              "below": "0% below 90%"},
    "zh-hans": {"take": "考勤拍照", "upload": "上传并考勤", "not_a_student": "不是学生", "below": "0% 低于 90%"},
}


@pytest.mark.parametrize("language", ["en-gb", "zh-hans"])
def test_teacher_on_a_phone_takes_the_photo_corrects_a_face_and_reads_the_rate(
        celery_worker_process, live_server, browser, users, photo, tmp_path, language):  # noqa: F811
    """In English, and in Chinese chosen with one tap on the header's language menu."""
    from .world import build_school

    words = WORDS[language]

    # 7A: Barack Obama enrolled from his photo, Ada Lovelace registered by hand (no photo).
    school = build_school(users, photo, enrolled=["Barack Obama"], by_hand=["Ada Lovelace"])
    school_class = school["class"]
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    driver = browser(*PHONE)
    sign_in(driver, base, "teacher", "pw-teacher-1")
    if language != "en-gb":
        css(driver, f".language-menu button[value='{language}']").click()
        # Read in one script: the old page's element goes stale as the new page loads.
        wait_until(driver, lambda d: d.execute_script("return document.documentElement.lang") == language, timeout=20,
                   message="the language menu did not switch the page")

    # The photo, "taken" with the camera input (a file given to the capture input).
    by_text(driver, "a", words["take"]).click()
    form = css(driver, "#class-photo-upload")
    camera = css(form, "#id_camera")
    assert camera.get_attribute("capture") == "environment"
    fill(form, "period", "Period 1")
    camera.send_keys(str(photo("groups/obama_and_biden.jpg")))
    wait_until(driver, lambda d: [i for i in css_all(d, "#shots img.shot-preview") if i.is_displayed()], timeout=20,
               message="the shot's preview was not shown")
    no_sideways_scroll(driver, "take attendance")
    by_text(driver, "button", words["upload"]).click()
    wait_until(driver, lambda d: "/sessions/" in d.current_url, timeout=60, message="the upload did not finish")
    session = ClassSession.objects.get(school_class=school_class)
    assert session.period == "Period 1" and session.photos.count() == 1

    # The marked photo: Barack Obama listed, and the face not on the class's list to check.
    wait_until(driver, lambda d: "Barack Obama" in names_when_processed(d),
               message="the marked photo did not name Barack Obama")
    inner_width = no_sideways_scroll(driver, "session")
    photo_box = on_screen(driver, css(driver, ".marked-photo svg"))
    assert photo_box["left"] >= 0 and photo_box["right"] <= inner_width + 1, photo_box
    driver.save_screenshot(str(shots / f"phone-flow-{language}-marked-photo.png"))
    stranger = DetectedFace.objects.filter(photo__session=session).exclude(decision=DetectedFace.MATCHED).first()
    assert stranger is not None

    # Open that face from its marker on the photo and correct it: "Not a student".
    marker = css(driver, f'.marked-photo .face[data-face="{stranger.pk}"] .marker')
    assert inside(on_screen(driver, marker))
    marker.click()
    entry = css(driver, f"#photo-face-{stranger.pk}")
    wait_until(driver, lambda d: css(entry, "details.face-decision").get_attribute("open"), timeout=10,
               message="tapping the marker did not open the face's decision")
    answer = button_in(entry, words["not_a_student"])
    assert inside(on_screen(driver, answer)), "the answer is off the screen"
    driver.execute_script("window.beforeTheAnswer = true")  # gone once the answer's page has loaded
    answer.click()
    # A new session page, at the face, answered, with the page's message.
    wait_until(driver, lambda d: d.execute_script("return !window.beforeTheAnswer && document.readyState == 'complete'")
               and css_all(d, ".message"), timeout=20, message="the answer did not come back to the session page")
    assert driver.current_url.endswith(f"#photo-face-{stranger.pk}")
    stranger.refresh_from_db()
    assert stranger.is_reviewed and stranger.reviewed_student_id is None
    no_sideways_scroll(driver, "session after the answer")

    # The class report: each student's rate (and "below 90%") on the screen, no sideways scroll.
    driver.get(base + reverse("class_report", args=[school_class.pk]))
    wait_until(driver, lambda d: css_all(d, "table.summary"), timeout=20)
    no_sideways_scroll(driver, "report")
    summary_box = css(driver, "#summary .scroll")
    assert driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1", summary_box), \
        "the summary scrolls sideways inside its box"
    rates = {}
    for row in css_all(driver, "table.summary tbody tr"):
        name, rate = css(row, "th[scope='row']"), css(row, "td.rate")
        assert inside(on_screen(driver, rate)) and inside(on_screen(driver, name)), f"{name.text}: off the screen"
        rates[name.text] = rate.text
    driver.execute_script("document.getElementById('summary').scrollIntoView()")
    driver.save_screenshot(str(shots / f"phone-flow-{language}-report.png"))
    assert css(driver, "html").get_attribute("lang") == language
    assert rates == {"Barack Obama": "100%", "Ada Lovelace": words["below"]}, rates
    # The counts per code are there too, each with its code's name, under the name and rate.
    obama = next(r for r in css_all(driver, "table.summary tbody tr") if "Barack Obama" in r.text)
    present = css_all(obama, "td.count")[0]  # the first code: present
    label = present.get_attribute("data-label")
    assert present.is_displayed() and present.text == "1" and label
    assert driver.execute_script("return getComputedStyle(arguments[0], '::before').content", present) == f'"{label} "'
    assert present.rect["y"] > css(obama, "td.rate").rect["y"], "the counts are not under the name and rate"


def test_upload_while_the_photo_store_is_down_says_so_and_keeps_the_photo(
        live_server, browser, users, photo, store_down):  # noqa: F811
    """With S3_BUCKET's store unreachable (a closed port), the page's upload is answered 503:
    the page shows the server's own words while it retries, the shot stays in the list and
    nothing is saved."""
    from attendance.models import ClassPhoto

    from .world import build_school

    school_class = build_school(users, None, enrolled=(), by_hand=("Ada Lovelace",))["class"]
    driver = browser(*PHONE)
    sign_in(driver, live_server.url, "teacher", "pw-teacher-1")
    driver.get(live_server.url + reverse("session_upload", args=[school_class.pk]))
    form = css(driver, "#class-photo-upload")
    fill(form, "period", "Period 1")
    css(form, "#id_camera").send_keys(str(photo("groups/obama_and_biden.jpg")))
    wait_until(driver, lambda d: [i for i in css_all(d, "#shots img.shot-preview") if i.is_displayed()], timeout=20)
    by_text(driver, "button", "Upload and take attendance").click()
    wait_until(driver, lambda d: "Trying again" in css(d, "#upload-status").text, timeout=60,
               message="the refused upload was not reported")
    status = css(driver, "#upload-status").text
    assert "The photo store is not reachable just now, so nothing was saved" in status, status
    assert len(css_all(driver, "#shots li")) == 1 and "/sessions/" not in driver.current_url
    assert not ClassPhoto.objects.exists() and not ClassSession.objects.exists()
