"""Fixed phrases stored in English in the database, shown in the reader's language.

The worker writes why a face is unsure (``DetectedFace.reason``: ``registers.register``'s
reasons) and why it is flagged (``flagged_reason``: ``roster.learning.FLAG``) when no
person is reading: they are stored in English, as records, and translated when shown.
A stored phrase that is not one of these (an older wording) is shown as stored."""
import re

from django.utils.translation import gettext as _

#: Stored phrases with a value in them: the pattern of the English text, and its words
#: with the value as a named placeholder.
_WITH_VALUE = [
    (re.compile(r"Face too small to judge \((?P<width>\d+) pixels wide\)\."),
     lambda: _("Face too small to judge (%(width)s pixels wide).")),
    (re.compile(r"Too small to recognise for sure \((?P<width>\d+) pixels wide\): ask the teacher\."),
     lambda: _("Too small to recognise for sure (%(width)s pixels wide): ask the teacher.")),
    (re.compile(r"Recognised with a learnt photo of (?P<name>.+) that a teacher later corrected: please check\.",
                re.DOTALL),
     lambda: _("Recognised with a learnt photo of %(name)s that a teacher later corrected: please check.")),
]


def shown(text: str) -> str:
    """``text`` (a phrase stored in English) in the active language: a fixed phrase
    through the catalogue (marked with ``gettext_noop`` where it is written), a phrase
    with a value (``_WITH_VALUE``) with the value put back in; anything else as stored."""
    if not text:
        return ""
    for pattern, words in _WITH_VALUE:
        found = pattern.fullmatch(text)
        if found:
            return words() % found.groupdict()
    return _(text)
