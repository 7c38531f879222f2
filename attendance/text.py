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
