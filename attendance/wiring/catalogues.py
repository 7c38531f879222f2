"""Compiled translation catalogues (.po -> .mo) made from the repository's own files.

Django reads compiled catalogues (``locale/<locale>/LC_MESSAGES/django.mo``, ``djangojs.mo``);
the .mo files are not committed, they are built at set-up (``make``, ``manage.py
compile_translations``, the tests' session start) with polib, pure Python: no GNU gettext
(``msgfmt``) needed on a school's machine, nothing downloaded.
"""
import os
import tempfile
from pathlib import Path

import polib


def stale_catalogues(locale_dir: Path) -> list[Path]:
    """The .po files under ``locale_dir`` whose .mo beside them is missing or older."""
    stale = []
    for po in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            stale.append(po)
    return stale


def compile_catalogue(po: Path) -> Path:
    """Write ``po``'s .mo beside it (fuzzy and untranslated entries left out, as msgfmt
    does) and return its path. Written to a temporary file then renamed, so processes
    compiling at the same moment (test workers) never read half a file.

    Raises:
        OSError: the .po cannot be read, or the folder is not writable.
        ValueError: the .po is not a valid catalogue (polib's message names the line).
    """
    po = Path(po)
    catalogue = polib.pofile(str(po))  # save_as_mofile writes translated entries only
    mo = po.with_suffix(".mo")
    handle, temporary = tempfile.mkstemp(dir=po.parent, prefix=".", suffix=".mo")
    os.close(handle)
    try:
        catalogue.save_as_mofile(temporary)
        os.replace(temporary, mo)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return mo


def compile_stale(locale_dir: Path, force: bool = False) -> list[Path]:
    """Compile every stale catalogue under ``locale_dir`` (all of them with ``force``);
    returns the .mo files written."""
    pos = sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")) if force else stale_catalogues(locale_dir)
    return [compile_catalogue(po) for po in pos]
