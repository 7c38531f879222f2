"""Translations (issue 18): every template string marked, the Simplified Chinese catalogues
complete, compiled without GNU gettext, and the pages in the language of the browser or of
the user's own choice, dates included (README "Languages")."""
import gettext
import os
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from attendance.models import LanguagePreference
from attendance.wiring.catalogues import compile_stale

from .i18n_scan import (
    REPO,
    javascript_msgids,
    placeholders,
    python_msgids,
    template_files,
    template_msgids,
    unmarked_texts,
)

CATALOGUES = REPO / "locale" / "zh_Hans" / "LC_MESSAGES"
#: Every language but English (the msgids' own) must have complete catalogues.
TRANSLATED_LOCALES = [translation.to_locale(code) for code, _ in settings.LANGUAGES if not code.startswith("en")]


def test_every_template_text_is_marked_for_translation():
    unmarked = [f"{path.relative_to(REPO)}: {text}" for path in template_files() for text in unmarked_texts(path)]
    assert not unmarked, "text not marked for translation:\n" + "\n".join(unmarked)


def test_the_template_check_finds_unmarked_words_and_read_attributes(tmp_path):
    """The check above is not blind: text, title/alt/placeholder/aria-label/data-label
    values and words beside a variable are found; marked strings, code and tag attributes
    are not."""
    template = tmp_path / "page.html"
    template.write_text(
        '{% load i18n %}<p class="muted">Hello {{ name }}, welcome</p><img src="x.jpg" alt="A class photo">'
        '<input placeholder="{% translate \'Search\' %}"><a title="Open it" href="/">{% translate "Home" %}</a>'
        '<code>student_id,given_by</code>{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}'
        '{% comment %}Not shown{% endcomment %}<tr{% if x %} class="below"{% endif %}><td>·</td>'
        '<td data-label="Rate">1</td><td data-label="{{ code.label }}">2</td></tr>')
    assert unmarked_texts(template) == ["Hello", ", welcome", "A class photo", "Open it", "Rate"]


def _catalogue(locale, domain):
    path = REPO / "locale" / locale / "LC_MESSAGES" / f"{domain}.po"
    assert path.exists(), f"{path.relative_to(REPO)} is missing"
    return {(e.msgctxt, e.msgid, e.msgid_plural or None): e for e in polib.pofile(str(path))}


def _problems(wanted, catalogue):
    problems = []
    for key, where in sorted(wanted.items(), key=lambda item: str(item[0])):
        entry = catalogue.get(key)
        translations = ([entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())) \
            if entry else []
        if entry is None:
            problems.append(f"{where}: {key[1]!r} is not in the catalogue")
        elif "fuzzy" in entry.flags or entry.obsolete or not all(t.strip() for t in translations):
            problems.append(f"{where}: {key[1]!r} is not translated (or fuzzy)")
        else:
            for text in translations:
                if placeholders(text) != placeholders(key[2] or key[1]) and placeholders(text) != placeholders(key[1]):
                    problems.append(f"{where}: {key[1]!r} -> {text!r}: placeholders differ")
    return problems


def test_chinese_is_among_the_translated_languages():
    assert "zh_Hans" in TRANSLATED_LOCALES


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_the_catalogue_translates_every_marked_string_of_templates_and_python(locale):
    wanted = {**template_msgids(), **python_msgids()}
    assert len(wanted) > 300  # the templates' strings were found (a walk that found none would pass)
    problems = _problems(wanted, _catalogue(locale, "django"))
    assert not problems, f"{locale} django.po:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_the_catalogue_translates_every_string_of_the_scripts(locale):
    wanted = javascript_msgids()
    assert {"Retake", "Attendance rate (%)"} <= {key[1] for key in wanted}
    problems = _problems(wanted, _catalogue(locale, "djangojs"))
    assert not problems, f"{locale} djangojs.po:\n" + "\n".join(problems)


def test_placeholders_are_compared_name_by_name():
    assert placeholders("%(n)s of %(limit)s, 100%%") == ["%(limit)s", "%(n)s"]
    assert placeholders("{name} has %s") != placeholders("{nom} has %s")


def test_catalogues_compile_in_pure_python_only_when_stale(tmp_path):
    folder = tmp_path / "zh_Hans" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(CATALOGUES / "django.po", folder / "django.po")
    assert compile_stale(tmp_path) == [folder / "django.mo"]
    with open(folder / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.gettext("Sign in") == "登录"
    assert compiled.ngettext("%(n)s face found", "%(n)s faces found", 3) == "找到 %(n)s 张人脸"
    assert compile_stale(tmp_path) == []  # up to date
    later = (folder / "django.mo").stat().st_mtime + 10
    os.utime(folder / "django.po", (later, later))
    assert compile_stale(tmp_path) == [folder / "django.mo"]


def test_the_sign_in_page_follows_the_browsers_language(client):
    chinese = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh-Hans;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="zh-hans">' in chinese and "<h1>登录</h1>" in chinese and "课堂考勤" in chinese
    assert "<h1>登录</h1>" in client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    english = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8").content.decode()
    assert '<html lang="en-gb">' in english and "<h1>Sign in</h1>" in english


def test_the_home_page_and_a_script_catalogue_in_chinese(client, users, school):
    client.force_login(users["teacher"])
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "<h1>我的班级</h1>" in page and "退出登录" in page and "Your classes" not in page
    script = client.get(reverse("javascript_catalog"), HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "重拍" in script or "\\u91cd\\u62cd" in script  # "Retake", maybe as JSON escapes


def test_error_pages_in_chinese(client):
    page = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert page.status_code == 404 and "页面不存在" in page.content.decode()
    with translation.override("zh-hans"):
        assert "出错了" in render_to_string("500.html")


def sign_in(client, username, password, language):
    answer = client.post(reverse("login"), {"username": username, "password": password},
                         HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 302, answer.content.decode()[:500]


def test_the_chosen_language_is_kept_on_the_account_and_follows_the_user_to_another_device(client, users):
    from django.test import Client

    sign_in(client, "teacher", "pw-teacher-1", "en")
    assert "Your classes" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    answer = client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("home")},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 302 and answer["Location"] == reverse("home")
    assert LanguagePreference.objects.get(user=users["teacher"]).language == "zh-hans"
    assert "我的班级" in client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.post(reverse("logout"))

    phone = Client()  # another device, its browser in English, no language cookie
    assert "<h1>Sign in</h1>" in phone.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sign_in(phone, "teacher", "pw-teacher-1", "en")
    assert "我的班级" in phone.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    phone.post(reverse("logout"))
    # Signed out, the phone's sign-in page stays in the teacher's language (the cookie).
    assert "<h1>登录</h1>" in phone.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Someone who chose nothing keeps the language of the browser they sign in with.
    other = Client()
    sign_in(other, "other", "pw-other-1", "en")
    assert "Your classes" in other.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert not LanguagePreference.objects.filter(user=users["other_teacher"]).exists()


def test_the_language_menu_works_before_signing_in_and_refuses_unknown_languages(client, users):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'action="/language/"' in page and 'value="zh-hans" lang="zh-hans" class="link small">简体中文</button>' in page
    answer = client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})
    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    chinese = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>登录</h1>" in chinese and ">English</button>" in chinese  # each language named in itself
    assert not LanguagePreference.objects.exists()

    client.force_login(users["teacher"])
    client.post(reverse("set_language"), {"language": "xx-klingon", "next": reverse("home")})
    assert not LanguagePreference.objects.exists()
    assert client.get(reverse("set_language")).status_code == 405


def test_dates_on_a_page_follow_the_language(client, users):
    client.force_login(users["admin"])
    url = reverse("untaken_registers") + "?date=2026-11-02"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "Monday 2 November 2026" in english
    assert "2026年11月2日 星期一" in chinese and "November" not in chinese


#: Chinese punctuation problems in a msgstr: a space after a full-width full stop, colon,
#: semicolon or comma (English joins sentences with one; Chinese does not), and an ASCII
#: ":" or ";" after a Chinese character or a placeholder (a label's colon is "："). Code,
#: addresses and times ("host:pid", "http://", "H:i", '{"student": ID}') are not text.
_CJK_PUNCTUATION_PROBLEMS = re.compile(r"[。：；，] |(?:[\u4e00-\u9fff]|%\([a-z_]+\)[sd])\s*[:;]")


def _punctuation_problems(text: str) -> list[str]:
    text = re.sub(r"<code>.*?</code>|https?://\S+|\{\"[a-z_]+\": ", "CODE", text)
    return [m.group(0) for m in _CJK_PUNCTUATION_PROBLEMS.finditer(text)]


def test_the_punctuation_check_finds_english_joins_in_chinese():
    assert _punctuation_problems("照片已删除。 请重新上传。") == ["。 "]
    assert _punctuation_problems("学号: %(id)s") == ["号:"] and _punctuation_problems("%(format)s: 新学生") == ["%(format)s:"]
    assert _punctuation_problems("正在处理它的进程（host:pid）。照片：%(name)s") == []


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_chinese_catalogue_uses_chinese_punctuation(domain):
    """The walk: "。 " and an ASCII ":" after labels in Chinese text. Only the catalogue:
    a template may join two translated sentences with a space."""
    problems = []
    for entry in _catalogue("zh_Hans", domain).values():
        for text in [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values():
            problems += [f"{entry.msgid!r} -> {text!r}: {found!r}" for found in _punctuation_problems(text)]
    assert not problems, "\n".join(problems)
