"""Tested as a person uses it (issue 8): headless Chromium through Selenium, against
pytest-django's live server and a real Celery worker.

Needs Debian's ``chromium`` and ``chromium-driver`` (/usr/bin/chromium, /usr/bin/chromedriver,
or CHROMIUM / CHROMEDRIVER); skipped without them. Selenium Manager never downloads a
browser: the binary and the driver are given explicitly.
"""
import csv
import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from attendance.models import ClassSession, ClassPhoto, DetectedFace, EnrolmentPhoto, SchoolClass, Student

from .conftest import CONSENT_FIELDS

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)


def _missing_browser():
    for path, package in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")]:
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: install Debian's {package} to run the browser tests"
    return None


# Skipped before the session's worker starts when there is no browser.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser,
              pytest.mark.skipif(bool(_missing_browser()), reason=_missing_browser() or "")]


@pytest.fixture
def browser(tmp_path):
    """A factory of headless Chromium sessions: ``browser(width, height)``; downloads go to
    ``driver.download_dir``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start(width=1280, height=900):
        downloads = tmp_path / f"downloads-{len(drivers)}"
        downloads.mkdir()
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={width},{height}"]:
            options.add_argument(arg)
        options.add_experimental_option("prefs", {
            "download.default_directory": str(downloads), "download.prompt_for_download": False,
            "download.directory_upgrade": True, "safebrowsing.enabled": False})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        if width < 500:
            # Chromium's windows are at least 500 px wide, even headless: emulate a narrower screen.
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        driver.download_dir = downloads
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


def wait_until(driver, condition, timeout=120, message="the page did not show the expected state in time"):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # An element read while the page is being replaced (after a click that navigates) is
    # stale or gone for a moment: that is "not yet", not a failure.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.3, ignored_exceptions=ignored).until(
        lambda d: condition(d), message)


def css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def css_all(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def by_text(driver, tag, text):
    """The first visible ``tag`` (e.g. "a", "button") whose text is ``text``."""
    from selenium.webdriver.common.by import By

    matches = [e for e in driver.find_elements(By.XPATH, f"//{tag}[normalize-space()='{text}']") if e.is_displayed()]
    assert matches, f"no visible <{tag}> {text!r} on {driver.current_url}"
    return matches[0]


def button_in(element, text):
    """The button inside ``element`` whose text is ``text``."""
    matches = [b for b in css_all(element, "button") if b.text.strip() == text]
    assert matches, f"no <button> {text!r} in {element.get_attribute('id') or element.tag_name}"
    return matches[0]


def marked_photo_names(driver) -> set[str]:
    """The names listed with the session page's marked photos (issue 18: numbered markers
    on the faces, the names in a list); each listed face has its numbered marker on the photo."""
    entries = css_all(driver, ".face-list > li")
    markers = css_all(driver, ".marked-photo .face[data-face]")
    assert sorted(e.get_attribute("id") for e in entries) == sorted(
        f"photo-face-{m.get_attribute('data-face')}" for m in markers), "a listed face has no marker, or a marker no entry"
    return {css(e, ".face-name").text for e in entries}


def wait_for_previews(driver, count):
    """Until ``count`` shots are listed with their previews shown: a preview appears a
    moment after the photo is chosen and moves the buttons under it, so a click before
    then can land where the upload button no longer is (a flaky upload)."""
    wait_until(driver, lambda d: len([i for i in css_all(d, "#shots img.shot-preview") if i.is_displayed()]) == count,
               timeout=20, message=f"{count} photo previews were not shown")


def fill(form, name, value):
    field = css(form, f"[name='{name}']")
    if field.get_attribute("type") in ("date", "file"):
        if field.get_attribute("type") == "date":
            # Typing into a date input depends on the browser's locale: set its value.
            field.parent.execute_script("arguments[0].value = arguments[1]", field, value)
            return
    else:
        field.clear()
    field.send_keys(value)


def sign_in(driver, base, username, password):
    driver.get(base + reverse("login"))
    form = css(driver, "main form")
    fill(form, "username", username)
    fill(form, "password", password)
    by_text(form, "button", "Sign in").click()
    wait_until(driver, lambda d: css_all(d, ".topbar .who"), timeout=20, message=f"{username} could not sign in")


def sign_out(driver):
    by_text(driver, "button", "Sign out").click()
    wait_until(driver, lambda d: not css_all(d, ".topbar .who"), timeout=20)


def enrolment_zip(photo, tmp_path) -> Path:
    path = tmp_path / "roster.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for folder in ["Barack_Obama", "Joe_Biden"]:
            archive.write(photo(f"identities/{folder}/1.jpg"), f"{folder}/1.jpg")
    return path


def test_admin_enrols_teacher_takes_attendance_corrects_and_downloads(
        celery_worker_process, live_server, browser, users, photo, tmp_path):
    base = live_server.url
    driver = browser()

    # The admin creates the class and enrols it from a zip, consent confirmed.
    sign_in(driver, base, "admin", "pw-admin-1")
    by_text(driver, "a", "New class").click()
    form = css(driver, "main form")
    fill(form, "name", "7A")
    css(form, f"select[name='teacher'] option[value='{users['teacher'].pk}']").click()
    by_text(form, "button", "Create class").click()
    wait_until(driver, lambda d: css_all(d, "form[action$='enrol-zip/']"), timeout=20)
    form = css(driver, "form[action$='enrol-zip/']")
    fill(form, "archive", str(enrolment_zip(photo, tmp_path)))
    css(form, "[name='consent_on_file']").click()
    for key in ("given_by", "given_on", "note"):
        fill(form, key, CONSENT_FIELDS[key])
    by_text(form, "button", "Upload zip").click()
    # The class page refreshes itself while photos are pending.
    wait_until(driver, lambda d: len(css_all(d, ".table .badge.ready")) == 2,
               message="the roster did not show both students ready")
    assert {e.text for e in css_all(driver, ".table td a")} == {"Barack Obama", "Joe Biden"}
    assert set(EnrolmentPhoto.objects.values_list("status", flat=True)) == {"ready"}
    sign_out(driver)

    # The teacher uploads a class photo, sees the progress, then the marked photo.
    sign_in(driver, base, "teacher", "pw-teacher-1")
    by_text(driver, "a", "Take attendance").click()
    form = css(driver, "main form")
    fill(form, "date", "2026-11-02")
    fill(form, "period", "Period 1")
    fill(form, "photos", str(photo("groups/obama_and_biden.jpg")))
    wait_for_previews(driver, 1)
    by_text(form, "button", "Upload and take attendance").click()
    wait_until(driver, lambda d: "/sessions/" in d.current_url, timeout=30)
    # The worker may have finished before the page loaded: then there is no progress message
    # and the marked photo is already there; otherwise the message says what is happening.
    # Read in one script, so a reload by session.js between two reads cannot break the check.
    progress = driver.execute_script("var p = document.getElementById('progress'); return p && p.textContent;")
    if progress is not None:
        assert "Recognising faces" in progress and "This page updates by itself" in progress, progress
    else:
        assert css_all(driver, ".marked-photo"), "neither the progress message nor the marked photo is shown"
    # session.js polls the status and reloads the page when the photo is done.
    wait_until(driver, lambda d: {"Barack Obama", "Joe Biden"} <= marked_photo_names(d),
               message="the marked photo did not show both names")
    assert not css_all(driver, "#progress")
    assert "Joe Biden" in css(driver, ".two-col").text

    # The teacher corrects one face: the face recognised as Joe Biden is "Not a student".
    review_url = base + reverse("session_review", args=[ClassSession.objects.get().pk]) + "?all=1"
    driver.get(review_url)
    item = next(i for i in css_all(driver, ".face-card") if css(i, ".verdict").text == "Joe Biden")
    face_id = item.get_attribute("id")
    button_in(item, "Not a student").click()  # one tap, no separate Save
    wait_until(driver, lambda d: css_all(d, ".message"), timeout=20)
    assert "Saved" in css(driver, ".message").text
    driver.get(review_url)
    assert css(driver, f"#{face_id} .verdict").text == "Not a student"
    assert button_in(css(driver, f"#{face_id}"), "Undo").is_displayed()
    face = DetectedFace.objects.get(pk=int(face_id.removeprefix("face-")))
    assert face.is_reviewed and face.reviewed_student_id is None

    # The report, and its CSV downloaded by the browser.
    driver.get(base + "/")
    by_text(driver, "a", "Report").click()
    wait_until(driver, lambda d: css_all(d, "table.report"), timeout=20)
    assert "Barack Obama" in css(driver, "table.report").text
    by_text(driver, "a", "Download CSV").click()
    csv_path = driver.download_dir / "attendance-7a.csv"
    wait_until(driver, lambda d: csv_path.is_file(), timeout=20, message="the CSV was not downloaded")
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    header = rows[0]
    assert header[:2] == ["Student", "2026-11-02 Period 1"]
    cells = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    obama, biden = cells["Barack Obama"], cells["Joe Biden"]
    assert (obama["2026-11-02 Period 1"], obama["Counted present"], obama["Recorded"]) == ("present", "1", "1")
    assert biden["2026-11-02 Period 1"].startswith("absent") and (biden["Counted present"], biden["Recorded"]) == (
        "0", "1")


def _class_with_a_processed_session(client, users, photo, enrolled=("Barack Obama", "Joe Biden")):
    """7A with ``enrolled`` (by default Barack Obama and Joe Biden) and one class photo of
    both processed by the worker."""
    client.force_login(users["admin"])
    client.post(reverse("class_create"), {"name": "7A", "teacher": users["teacher"].pk})
    school_class = SchoolClass.objects.get(name="7A")
    for name, relative in [("Barack Obama", "identities/Barack_Obama/1.jpg"), ("Joe Biden", "identities/Joe_Biden/1.jpg")]:
        if name not in enrolled:
            continue
        client.post(reverse("student_enrol", args=[school_class.pk]), {
            **CONSENT_FIELDS, "name": name, "photos": SimpleUploadedFile("p.jpg", photo(relative).read_bytes())})
    _wait(lambda: not EnrolmentPhoto.objects.filter(status="pending").exists())
    response = client.post(reverse("session_upload", args=[school_class.pk]), {
        "date": "2026-11-02", "period": "Period 1",
        "photos": SimpleUploadedFile("class.jpg", photo("groups/obama_and_biden.jpg").read_bytes())})
    assert response.status_code == 302
    _wait(lambda: ClassPhoto.objects.filter(status="done").exists())
    client.logout()
    return school_class, ClassSession.objects.get()


def _wait(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the worker did not finish in time"
        time.sleep(0.3)


def test_every_page_works_on_a_phone(celery_worker_process, live_server, browser, users, photo, client, tmp_path):
    """On a 390 x 844 screen no page scrolls sideways and its main buttons are on the screen."""
    school_class, session = _class_with_a_processed_session(client, users, photo)
    # A long name and school id, registered by hand (no photo), widen the roster's columns.
    client.force_login(users["admin"])
    client.post(reverse("student_enrol", args=[school_class.pk]),
                {"name": "Gloria Macapagal Arroyo", "school_id": "ADM-2026-00042"})
    client.logout()
    assert school_class.students.filter(school_id="ADM-2026-00042").exists()
    student = Student.objects.get(name="Barack Obama")
    base = live_server.url
    driver = browser(*PHONE)
    assert driver.execute_script("return window.innerWidth") == PHONE[0]
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)

    def check(name, buttons):
        wait_until(driver, lambda d: d.execute_script("return document.readyState") == "complete", timeout=20)
        driver.save_screenshot(str(shots / f"{name}.png"))
        scroll_width, inner_width = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width + 1, f"{name}: the page is {scroll_width}px wide on a {inner_width}px screen"
        for tag, text in buttons:
            element = by_text(driver, tag, text)
            left, right = driver.execute_script(
                "var r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", element)
            assert left >= -1 and right <= inner_width + 1, f"{name}: {text!r} is off the screen ({left}..{right})"

    driver.get(base + reverse("login"))
    check("login", [("button", "Sign in")])
    sign_in(driver, base, "admin", "pw-admin-1")
    pages = [
        ("home", reverse("home"), [("a", "New class"), ("a", "Take attendance")]),
        ("class", reverse("class_detail", args=[school_class.pk]),
         [("a", "Take attendance"), ("a", "Report"), ("button", "Enrol"), ("button", "Upload zip"),
          ("button", "Take the register by hand")]),
        ("take-attendance", reverse("session_upload", args=[school_class.pk]), [("button", "Upload and take attendance")]),
        ("session", reverse("session_detail", args=[session.pk]),
         [("a", "Register by hand"), ("a", "Add another photo"), ("button", "This register is right")]),
        ("review", reverse("session_review", args=[session.pk]) + "?all=1",
         [("a", "Back to the register"), ("button", "Not a student")]),
        ("register", reverse("session_register", args=[session.pk]), [("button", "Save the register")]),
        ("report", reverse("class_report", args=[school_class.pk]), [("a", "Download CSV")]),
        ("student", reverse("student_detail", args=[student.pk]), [("button", "Add photos")]),
        # Issue 16's school-wide pages.
        ("staff", reverse("staff_list"), [("button", "Add")]),
        ("import-consent", reverse("consent_import"), [("button", "Preview")]),
        ("import-photos", reverse("photos_import"), [("button", "Preview")]),
        ("register-export", reverse("registers_export"), [("a", "Download CSV")]),
    ]
    for name, url, buttons in pages:
        driver.get(base + url)
        check(name, buttons)
    # The staff form's e-mail box is as wide as its name box (styled like every text field).
    driver.get(base + reverse("staff_list"))
    name_width, email_width = (css(driver, f"form[action$='/staff/add'] input[name={n}]").size["width"]
                               for n in ("name", "email"))
    assert email_width == name_width, f"the e-mail box is {email_width}px wide, the name box {name_width}px"
    # The marked photo pans inside its own box rather than widening the page.
    driver.get(base + reverse("session_detail", args=[session.pk]))
    assert marked_photo_names(driver) >= {"Barack Obama", "Joe Biden"}


def _small_oneroster_zip(path: Path) -> Path:
    """A OneRoster 1.1 zip (tests/oneroster.py) of 2 classes: Maths 7 of ``teacher`` with
    Barack Obama (S-1) and Joe Biden (S-2), History 7 of ``other`` with Barack Obama."""
    from .oneroster import CLASSES, ENROLLMENTS, USERS_11, oneroster_zip

    people = [dict(sourcedId="t1", role="teacher", username="teacher", givenName="Tess", familyName="Teacher"),
              dict(sourcedId="t2", role="teacher", username="other", givenName="Otto", familyName="Other"),
              dict(sourcedId="S-1", role="student", givenName="Barack", familyName="Obama"),
              dict(sourcedId="S-2", role="student", givenName="Joe", familyName="Biden")]
    classes = [dict(sourcedId="c-maths", title="Maths 7", classType="scheduled", schoolSourcedId="org1"),
               dict(sourcedId="c-history", title="History 7", classType="scheduled", schoolSourcedId="org1")]
    members = [("c-maths", "t1", "teacher"), ("c-history", "t2", "teacher"), ("c-maths", "S-1", "student"),
               ("c-maths", "S-2", "student"), ("c-history", "S-1", "student")]
    enrolments = [dict(sourcedId=f"e{n}", classSourcedId=c, schoolSourcedId="org1", userSourcedId=u, role=role,
                       primary="true" if role == "teacher" else "false") for n, (c, u, role) in enumerate(members)]
    path.write_bytes(oneroster_zip({"users.csv": (USERS_11, people), "classes.csv": (CLASSES, classes),
                                    "enrollments.csv": (ENROLLMENTS, enrolments)}))
    return path


def _upload_preview_import(driver, base, url_name, field, path):
    """On an import page: choose ``path``, "Preview", then "Import"."""
    driver.get(base + reverse(url_name))
    form = css(driver, "main form")
    fill(form, field, str(path))
    by_text(form, "button", "Preview").click()
    wait_until(driver, lambda d: css_all(d, "form[action$='apply'] button, form[action$='apply/'] button"),
               timeout=30, message=f"no preview on {url_name}")
    by_text(driver, "button", "Import").click()


def test_first_day_roster_consent_photos_then_two_teachers_see_the_same_child(
        celery_worker_process, live_server, browser, users, photo, tmp_path):
    """Issue 16: the admin imports the roster, consent and photos by school id; the
    teachers of two classes each take attendance with a photo of the same child, who is
    present in both sessions from one enrolment (one student, one set of photos)."""
    base = live_server.url
    driver = browser(1280, 900)
    sign_in(driver, base, "admin", "pw-admin-1")

    _upload_preview_import(driver, base, "roster_import", "roster", _small_oneroster_zip(tmp_path / "roster.zip"))
    wait_until(driver, lambda d: Student.objects.count() == 2 and SchoolClass.objects.count() == 2, timeout=30,
               message="the roster was not imported")

    consent = tmp_path / "consent.csv"
    consent.write_text("student_id,given_by,given_on,note\n"
                       "S-1,Parent or guardian,2026-09-01,Office file 2026/27\n"
                       "S-2,Parent or guardian,2026-09-01,Office file 2026/27\n", encoding="utf-8")
    _upload_preview_import(driver, base, "consent_import", "file", consent)
    wait_until(driver, lambda d: not Student.objects.filter(consent__isnull=True).exists(), timeout=30,
               message="the consent was not recorded")

    photos = tmp_path / "photos.zip"
    with zipfile.ZipFile(photos, "w") as archive:
        archive.write(photo("identities/Barack_Obama/1.jpg"), "S-1.jpg")
        archive.write(photo("identities/Joe_Biden/1.jpg"), "S-2/1.jpg")
    _upload_preview_import(driver, base, "photos_import", "file", photos)
    # The page refreshes itself while the worker encodes the photos.
    wait_until(driver, lambda d: len(css_all(d, ".table .badge.ready")) == 2,
               message="the imported photos were not both ready")
    sign_out(driver)

    # Each teacher sees only their class; both photos show Barack Obama (a different photo of him).
    for username, password, class_photo in [("teacher", "pw-teacher-1", "groups/obama_and_biden.jpg"),
                                            ("other", "pw-other-1", "identities/Barack_Obama/2.jpg")]:
        sign_in(driver, base, username, password)
        by_text(driver, "a", "Take attendance").click()
        form = css(driver, "main form")
        fill(form, "date", "2026-11-02")
        fill(form, "period", "Period 1")
        fill(form, "photos", str(photo(class_photo)))
        wait_for_previews(driver, 1)
        by_text(form, "button", "Upload and take attendance").click()
        wait_until(driver, lambda d: "Barack Obama" in marked_photo_names(d),
                   message=f"{username}'s marked photo did not name Barack Obama")
        sign_out(driver)

    obama = Student.objects.get(school_id="S-1")
    assert Student.objects.filter(name="Barack Obama").count() == 1
    assert EnrolmentPhoto.objects.filter(student=obama).count() == 1
    assert set(obama.classes.values_list("name", flat=True)) == {"Maths 7", "History 7"}
    sessions = ClassSession.objects.order_by("school_class__name")
    assert [s.school_class.name for s in sessions] == ["History 7", "Maths 7"]
    for session in sessions:
        assert session.records.get(student=obama).status == "present"
    maths = sessions.get(school_class__name="Maths 7")
    assert maths.records.get(student__school_id="S-2").status == "present"


def _rate_chart(driver) -> dict:
    """The class report's rate chart as Chart.js drew it: the plot area, the x of each
    date's point, the rate line's tension, and along the threshold's y the share of the
    plot's width that is the threshold's red (#b42318) and where it starts and ends (device
    pixels from the plot's left), read from the canvas pixels."""
    return driver.execute_script("""
        var canvas = document.getElementById("rate-chart");
        var chart = window.Chart.getChart(canvas);
        var area = chart.chartArea, ratio = chart.currentDevicePixelRatio;
        var y = Math.round(chart.scales.y.getPixelForValue(90) * ratio);
        var left = Math.ceil(area.left * ratio), right = Math.floor(area.right * ratio);
        var pixels = canvas.getContext("2d").getImageData(left, y - 1, right - left, 3).data;
        var red = new Set();
        for (var i = 0; i < pixels.length; i += 4) {
          if (pixels[i] > 150 && pixels[i + 1] < 80 && pixels[i + 2] < 80 && pixels[i + 3] > 200)
            red.add((i / 4) % (right - left));
        }
        var xs = Array.from(red);
        return {left: area.left, right: area.right, width: right - left, red: red.size,
                first_red: xs.length ? Math.min.apply(null, xs) : null, last_red: xs.length ? Math.max.apply(null, xs) : null,
                points: chart.getDatasetMeta(0).data.map(function (p) { return p.x; }),
                tension: chart.data.datasets[0].tension,
                legend: chart.legend.legendItems.map(function (item) { return item.text; })};
    """)


def drawn_across(chart: dict) -> bool:
    """The dashed threshold (6 px ink, 4 px gap: 60 % ink, less at the dashes' soft edges)
    runs from the plot's left edge to its right edge."""
    return (chart["red"] > 0.4 * chart["width"] and chart["first_red"] < 10
            and chart["last_red"] > chart["width"] - 12)


def test_rate_chart_draws_the_threshold_and_centres_a_single_date(live_server, browser, users):
    """The class report's chart, drawn by Chromium: the 90 % threshold the legend lists is a
    line across the plot (one date or several), one date's point is in the middle, not at
    the left edge, and the rate line is straight (no smoothing)."""
    from attendance.models import AttendanceRecord

    from .factories import make_class

    ann, ben = Student.objects.create(name="Ann Archer"), Student.objects.create(name="Ben Baker")
    school_class = make_class(users["teacher"], students=[ann, ben])
    first = ClassSession.objects.create(school_class=school_class, date="2026-10-01", period="P1")
    for student, status in ((ann, "present"), (ben, "absent")):
        AttendanceRecord.objects.create(session=first, student=student, status=status)
    driver = browser()
    sign_in(driver, live_server.url, "teacher", "pw-teacher-1")
    report = live_server.url + reverse("class_report", args=[school_class.pk])

    driver.get(report)
    wait_until(driver, lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('rate-chart'))"), timeout=20)
    time.sleep(1.5)  # Chart.js animates the first drawing
    one = _rate_chart(driver)
    assert one["legend"] == ["Attendance rate (%)", "Threshold (90%)"] and one["tension"] == 0
    assert abs(one["points"][0] - (one["left"] + one["right"]) / 2) < 2, one
    assert drawn_across(one), one

    second = ClassSession.objects.create(school_class=school_class, date="2026-10-02", period="P1")
    AttendanceRecord.objects.create(session=second, student=ann, status="present")
    driver.get(report)
    wait_until(driver, lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('rate-chart'))"), timeout=20)
    time.sleep(1.5)
    two = _rate_chart(driver)
    assert len(two["points"]) == 2 and two["points"][0] < two["points"][1]
    assert drawn_across(two), two


def test_teacher_takes_photos_with_the_camera_input_and_the_upload_survives_a_dropped_connection(
        live_server, browser, users, photo, tmp_path):
    """Issue 18, camera from the page: a file given to the "Take a photo" (capture) input
    shows its preview in the list, "Remove" takes a shot out, and the upload (sent while the
    connection is down, then restored) is retried by itself and lands on the session page; a
    photo longer than 3000 px is stored scaled to 3000 px, turned upright."""
    from PIL import Image

    from .world import build_school

    school_class = build_school(users, photo, enrolled=["Joe Biden"], by_hand=[])["class"]
    # A 12 MP phone photo held upright: a real class photo enlarged to 4000 x 3000, stored
    # turned, with EXIF Orientation 6 ("rotate 90° clockwise to show"), as phones store it.
    big = tmp_path / "phone.jpg"
    with Image.open(photo("groups/obama_and_biden.jpg")) as image:
        exif = Image.Exif()
        exif[0x0112] = 6
        image.convert("RGB").resize((4000, 3000)).save(big, quality=92, exif=exif)
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    for width, height in [PHONE, (1280, 900)]:
        driver = browser(width, height)
        sign_in(driver, base, "teacher", "pw-teacher-1")
        driver.get(base + reverse("session_upload", args=[school_class.pk]))
        form = css(driver, "#class-photo-upload")
        fill(form, "period", f"Period {width}")
        # Upload with no photo: the page's own message, shown in place, nothing stored.
        by_text(driver, "button", "Upload and take attendance").click()
        wait_until(driver, lambda d: "This field is required" in css(d, "#upload-status").text, timeout=20,
                   message="the refused upload was not reported")
        assert "Class photos: This field is required." in css(driver, "#upload-status").text
        css(form, "#id_camera").send_keys(str(big))
        css(form, "#id_camera").send_keys(str(photo("groups/obama_and_biden.jpg")))
        css(form, "#id_photos").send_keys(str(photo("identities/Barack_Obama/1.jpg")))
        wait_until(driver, lambda d: len([i for i in css_all(d, "#shots img.shot-preview") if i.is_displayed()]) == 3,
                   timeout=20, message="the three shots' previews were not shown")
        assert css(driver, "#shot-count").text == "3"
        button_in(css_all(driver, "#shots li")[2], "Remove").click()
        assert css(driver, "#shot-count").text == "2" and len(css_all(driver, "#shots li")) == 2
        driver.save_screenshot(str(shots / f"take-attendance-shots-{width}.png"))
        scroll_width, inner_width = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width + 1
        # The Wi-Fi drops as the teacher taps Upload, and comes back a moment later.
        driver.execute_cdp_cmd("Network.enable", {})
        offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
        by_text(driver, "button", "Upload and take attendance").click()
        wait_until(driver, lambda d: "Trying again" in css(d, "#upload-status").text, timeout=30,
                   message="the lost connection was not reported")
        driver.save_screenshot(str(shots / f"take-attendance-retrying-{width}.png"))
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {**offline, "offline": False})
        wait_until(driver, lambda d: "/sessions/" in d.current_url, timeout=60,
                   message="the retried upload did not land on the session page")
        session = ClassSession.objects.get(school_class=school_class, period=f"Period {width}")
        assert driver.current_url.endswith(reverse("session_detail", args=[session.pk]))
        sizes = []
        for stored in session.photos.all():
            with stored.image.open("rb") as file, Image.open(file) as image:
                sizes.append(image.size)
        with Image.open(photo("groups/obama_and_biden.jpg")) as image:
            # Scaled to 3000 px, upright (the canvas applied the orientation; no EXIF is sent).
            assert sorted(sizes) == sorted([(2250, 3000), image.size])


def test_marked_photo_on_a_phone_opens_a_face_and_corrects_it(
        celery_worker_process, live_server, browser, users, photo, client, tmp_path):
    """Issue 18 at 390 x 844: the marked photo fits the screen (no sideways page scroll), each
    face has a numbered marker and a numbered entry in the list under the photo; the face not
    on the class's list stands out by shape and words, not only colour; tapping its marker
    opens its decision in place, and "Not a student" corrects it back on the same page."""
    # Only Barack Obama is enrolled: Joe Biden's face in the class photo is one to check.
    _, session = _class_with_a_processed_session(client, users, photo, enrolled=("Barack Obama",))
    obama_face = DetectedFace.objects.get(photo__session=session, decision=DetectedFace.MATCHED)
    # The photo has three faces: Barack Obama, and two not on the class's list (Joe Biden, someone behind).
    others = list(DetectedFace.objects.filter(photo__session=session).exclude(pk=obama_face.pk))
    assert others and all(f.decision in (DetectedFace.UNKNOWN, DetectedFace.UNSURE) for f in others)
    biden_face = others[0]
    shots = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    url = base + reverse("session_detail", args=[session.pk])

    driver = browser(*PHONE)
    sign_in(driver, base, "teacher", "pw-teacher-1")
    driver.get(url)
    driver.execute_script("document.querySelector('.photo-and-list').scrollIntoView()")
    driver.save_screenshot(str(shots / "marked-photo-phone.png"))
    scroll_width, inner_width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width + 1, f"the session page is {scroll_width}px wide on a {inner_width}px screen"
    svg = css(driver, ".marked-photo svg").rect
    assert svg["x"] >= 0 and svg["x"] + svg["width"] <= inner_width + 1, f"the photo is off the screen: {svg}"
    assert css(driver, ".marked-photo figcaption a").get_attribute("href").endswith(
        reverse("class_photo_image", args=[biden_face.photo_id]))  # the full-size photo, to zoom

    # The list: "1. Not on this class's list" (or "Not sure: looks like …"), "2. Barack Obama",
    # numbered as the markers are (left to right).
    assert marked_photo_names(driver) >= {"Barack Obama"}
    entries = {e.get_attribute("id"): e for e in css_all(driver, ".face-list > li")}
    obama_entry, biden_entry = entries[f"photo-face-{obama_face.pk}"], entries[f"photo-face-{biden_face.pk}"]
    assert css(obama_entry, "summary").text == "2. Barack Obama"  # the second face from the left
    biden_text = css(biden_entry, ".face-name").text
    assert biden_text == "Not on this class's list" or biden_text.startswith("Not sure: looks like"), biden_text
    number = css(biden_entry, ".number").text.rstrip(".")
    biden_marker = css(driver, f'.marked-photo .face[data-face="{biden_face.pk}"]')
    assert css(biden_marker, ".marker-number").text == number
    # Shape, not only colour: a diamond marker and a dashed/dotted list border for the face to check.
    assert css(biden_marker, ".marker").tag_name == "polygon"
    assert css(driver, f'.marked-photo .face[data-face="{obama_face.pk}"] .marker').tag_name == "circle"
    assert driver.execute_script("return getComputedStyle(arguments[0]).borderLeftStyle", biden_entry) in ("dashed", "dotted")
    assert driver.execute_script("return getComputedStyle(arguments[0]).borderLeftStyle", obama_entry) == "none"
    marker_box = biden_marker.rect
    assert 0 <= marker_box["x"] and marker_box["x"] + marker_box["width"] <= inner_width + 1

    # Tap the face's marker on the photo: its decision opens in place, on the same page.
    assert not css(biden_entry, "details.face-decision").get_attribute("open")
    css(biden_marker, ".marker").click()
    wait_until(driver, lambda d: css(biden_entry, "details.face-decision").get_attribute("open"), timeout=10,
               message="tapping the marker did not open the face's decision")
    assert driver.current_url.startswith(url)
    driver.save_screenshot(str(shots / "marked-photo-phone-open.png"))
    not_a_student = button_in(biden_entry, "Not a student")
    left, right = driver.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.left, r.right]",
                                        not_a_student)
    assert left >= -1 and right <= inner_width + 1
    not_a_student.click()
    wait_until(driver, lambda d: css_all(d, ".message"), timeout=20)
    assert "Saved" in css(driver, ".message").text
    assert driver.current_url == f"{url}#photo-face-{biden_face.pk}"  # back on the session page, at the face
    assert css(driver, f"#photo-face-{biden_face.pk} .face-name").text == "Not a student"
    assert button_in(css(driver, f"#photo-face-{biden_face.pk}"), "Undo")
    biden_face.refresh_from_db()
    assert biden_face.is_reviewed and biden_face.reviewed_student_id is None
    scroll_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll_width <= inner_width + 1

    # The list entry opens the same decision (a tap on the entry, not the photo).
    css(driver, f"#photo-face-{obama_face.pk} summary").click()
    wait_until(driver, lambda d: css(d, f"#photo-face-{obama_face.pk} details.face-decision").get_attribute("open"),
               timeout=10)
    assert button_in(css(driver, f"#photo-face-{obama_face.pk}"), "Not a student").is_displayed()

    # At desktop width the list sits beside the photo.
    desktop = browser(1280, 900)
    sign_in(desktop, base, "teacher", "pw-teacher-1")
    desktop.get(url)
    desktop.execute_script("document.querySelector('.photo-and-list').scrollIntoView()")
    desktop.save_screenshot(str(shots / "marked-photo-desktop.png"))
    photo_box, list_box = css(desktop, ".marked-photo").rect, css(desktop, ".face-list").rect
    assert list_box["x"] >= photo_box["x"] + photo_box["width"], "the list is not beside the photo at 1280 px"
