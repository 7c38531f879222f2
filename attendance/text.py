"""Names and other single-line text people type: how they are compared and cleaned.

One place for the rules so the web forms, the models' ``clean``, the zip and ``enrol``
command paths and the API serializers agree."""
import unicodedata


def name_key(name: str) -> str:
    """The key two spellings of one name share: Unicode compatibility-normalised (NFKC:
    composed and decomposed "Zoë", full-width "Ａｄａ" and "Ada" alike), case-folded, and
    whitespace runs (underscores included, as in folder names) collapsed to one space.
    Unicode's "canonical caseless match" (NFKC of the case fold of NFKC)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.replace("_", " ").split())


#: Unicode's bidirectional embedding/override (U+202A-202E) and isolate (U+2066-2069)
#: controls: they reverse how the rest of a line is shown ("Ada\u202eecalevol" shows
#: as "Adalovelace" reversed), so a name could look like another on every page and export.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def forbidden_character(text: str) -> str | None:
    """The first character a single-line name may not hold, described ("U+001B (a control
    character)"), or None. Refused: Unicode category Cc (C0/C1 controls, including tab and
    line breaks: ESC, BEL, ...), the bidi controls ``BIDI_CONTROLS``, surrogates (Cs) and
    noncharacters (U+FDD0-FDEF and U+xxFFFE/U+xxFFFF of every plane, Unicode 15 section 23.7)."""
    for char in text:
        code = ord(char)
        category = unicodedata.category(char)
        if category == "Cc":
            kind = "a control character"
        elif char in BIDI_CONTROLS:
            kind = "a bidirectional-text control"
        elif category == "Cs":
            kind = "a lone surrogate"
        elif 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
            kind = "a Unicode noncharacter"
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
        raise ValidationError(f"This text contains {found}, which a name cannot hold. Type it again "
                              "without it.", code="forbidden_character")

