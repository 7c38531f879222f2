"""Names and other single-line text people type: how they are compared and cleaned.

One place for the rules so the web forms, the models' ``clean``, the zip and ``enrol``
command paths and the API serializers agree."""
import unicodedata

from django.utils.translation import gettext as _, gettext_lazy


#: Unicode categories of invisible characters: format characters (Cf: zero-width space
#: U+200B, joiners U+200C/U+200D, marks U+200E/U+200F/U+061C, U+FEFF, soft hyphen U+00AD,
#: word joiner U+2060, U+180E, the bidi controls, ...) and the line and paragraph
#: separators (Zl U+2028, Zp U+2029). "Ada\u200b Lovelace" looks like "Ada Lovelace".
INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})


def name_key(name: str) -> str:
    """The key two spellings of one name share: Unicode compatibility-normalised (NFKC:
    composed and decomposed "Zoë", full-width "Ａｄａ" and "Ada" alike), case-folded,
    invisible characters (``INVISIBLE_CATEGORIES``) dropped and whitespace runs
    (underscores included, as in folder names) collapsed to one space. Unicode's
    "canonical caseless match" (NFKC of the case fold of NFKC), without the characters
    that do not show: "Ada\u200b Lovelace" and "Ada Lovelace" share a key."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(visible(folded).replace("_", " ").split())


def visible(text: str) -> str:
    """``text`` without its invisible characters: format characters (Cf) dropped, line
    and paragraph separators (Zl, Zp) made spaces."""
    return "".join(" " if unicodedata.category(c) in ("Zl", "Zp") else c for c in text
                   if unicodedata.category(c) != "Cf")


#: Unicode's bidirectional embedding/override (U+202A-202E) and isolate (U+2066-2069)
#: controls: they reverse how the rest of a line is shown ("Ada\u202eecalevol" shows
#: as "Adalovelace" reversed), so a name could look like another on every page and export.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


#: Zero-width non-joiner and joiner: part of the spelling of words in Persian, Kurdish,
#: Urdu and the Indic scripts (Unicode 15 section 23.2), so allowed between two letters
#: or marks of those scripts (U+0590 onwards, past Latin, Greek and Cyrillic), and
#: refused elsewhere; ``name_key`` drops them, so they never make two names differ.
JOINERS = frozenset("\u200c\u200d")


def _script_letter(char: str) -> bool:
    return ord(char) >= 0x0590 and unicodedata.category(char)[0] in "LM"


def _joining(text: str, index: int) -> bool:
    """True when ``text[index]`` (a joiner) sits between two letters of a joining script."""
    return 0 < index < len(text) - 1 and _script_letter(text[index - 1]) and _script_letter(text[index + 1])


def forbidden_character(text: str) -> str | None:
    """The first character a single-line name may not hold, described ("U+001B (a control
    character)"), or None. Refused: Unicode category Cc (C0/C1 controls, including tab and
    line breaks: ESC, BEL, ...), the bidi controls ``BIDI_CONTROLS``, the other invisible
    characters (``INVISIBLE_CATEGORIES``: format characters Cf such as U+200B, U+FEFF,
    U+00AD, and the separators U+2028/U+2029; the ``JOINERS`` only outside the scripts
    that spell with them), surrogates (Cs) and noncharacters (U+FDD0-FDEF and
    U+xxFFFE/U+xxFFFF of every plane, Unicode 15 section 23.7)."""
    for index, char in enumerate(text):
        code = ord(char)
        category = unicodedata.category(char)
        if category == "Cc":
            kind = _("a control character")
        elif char in BIDI_CONTROLS:
            kind = _("a bidirectional-text control")
        elif category in INVISIBLE_CATEGORIES:
            if char in JOINERS and _joining(text, index):
                continue
            kind = {"Zl": _("a line separator"), "Zp": _("a paragraph separator")}.get(
                category, _("an invisible formatting character"))
        elif category == "Cs":
            kind = _("a lone surrogate")
        elif 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
            kind = _("a Unicode noncharacter")
        else:
            continue
        return f"U+{code:04X} ({kind})"
    return None


def validate_single_line_text(value: str) -> None:
    """Raise django.core.exceptions.ValidationError (code "forbidden_character") when
    ``value`` holds a character of ``forbidden_character``. The validator of every name
    field (student, class, period, term, holiday, code): models (so admin), forms, API."""
    from django.core.exceptions import ValidationError

    if isinstance(value, str) and (found := forbidden_character(value)):
        raise ValidationError(_("This text contains %(character)s, which a name cannot hold. Type it again "
                                "without it.") % {"character": found}, code="forbidden_character")


def validate_no_outer_spaces(value: str) -> None:
    """Raise django.core.exceptions.ValidationError (code "outer_spaces") when ``value``
    starts or ends with whitespace: an id (a school id, a SIS ``sourcedId``) is compared as
    typed, so " 1234" and "1234" would otherwise be two ids of one child."""
    from django.core.exceptions import ValidationError

    if isinstance(value, str) and value != value.strip():
        raise ValidationError(gettext_lazy("This id starts or ends with a space. Type it again without the spaces."),
                              code="outer_spaces")


def counted(count: int, singular: str, plural: str = "") -> str:
    """A count and its noun in the right number, for the management commands' output, which
    is English (the web's messages use ``ngettext``): ``counted(1, "photo")`` -> "1 photo",
    ``counted(2, "photo")`` -> "2 photos", ``counted(2, "class", "classes")`` -> "2 classes"."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
