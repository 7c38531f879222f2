"""What tests/test_translations.py reads from the sources: the template text a person sees
that is not marked for translation, and every msgid the templates, the Python sources and
the scripts mark (with its context and plural), to compare with the catalogues.
"""
import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from django.template import engines
from django.template.base import Lexer, TokenType
from django.templatetags.i18n import BlockTranslateNode, TranslateNode

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
#: Attributes whose values a person reads (or hears, with a screen reader); data-label is
#: shown by the style sheet (``content: attr(data-label)``) on a phone's stacked tables.
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-label"}
#: Elements whose text is not for translation: scripts, styles, and code or file formats
#: the reader types as they are (CSV columns, API paths, file names).
SKIPPED_ELEMENTS = {"script", "style", "code"}
#: What stands for a tag or a variable in a template's text: never a word.
HOLE = "\x00"
#: A word: a letter of any script (not a digit or an underscore).
WORD = re.compile(r"[^\W\d_]")
#: The Python calls that mark a string, and the argument positions of (context, singular, plural).
PYTHON_MARKERS = {
    "_": (None, 0, None), "gettext": (None, 0, None), "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None), "ngettext": (None, 0, 1), "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None), "pgettext_lazy": (0, 1, None), "npgettext": (0, 1, 2), "npgettext_lazy": (0, 1, 2),
}
#: gettext("..."), ngettext("...", "...", n), pgettext("context", "...") in the scripts.
JS_CALL = re.compile(r"""\b(n?p?gettext)\(\s*("(?:[^"\\]|\\.)*")(?:\s*,\s*("(?:[^"\\]|\\.)*"))?""")


def template_files() -> list[Path]:
    """Every template of the site (templates/**/*.html), drf-spectacular's page aside (no text)."""
    return [p for p in sorted(TEMPLATES.rglob("*.html")) if "drf_spectacular" not in p.parts]


def unmarked_skeleton(source: str) -> str:
    """The template's text with every variable replaced by HOLE, and every tag, comment and
    translated block by a space (so that ``<tr{% if %} class="x"{% endif %}>`` stays one
    HTML tag): what remains is text no translation tag covers."""
    out, skipping = [], None
    for token in Lexer(source).tokenize():
        contents = token.contents.split(" ", 1)[0] if token.token_type == TokenType.BLOCK else ""
        if skipping:
            if token.token_type == TokenType.BLOCK and contents == skipping:
                skipping = None
            out.append(" ")
            continue
        if token.token_type == TokenType.BLOCK and contents in ("comment", "blocktranslate", "blocktrans"):
            skipping = "endcomment" if contents == "comment" else "end" + contents
            out.append(" ")
        elif token.token_type == TokenType.TEXT:
            out.append(token.contents)
        else:
            out.append(HOLE if token.token_type == TokenType.VAR else " ")
    return "".join(out)


class _ReadText(HTMLParser):
    """Collects the text nodes and READ_ATTRIBUTES values of an HTML skeleton."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._skipping = [], []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_ELEMENTS:
            self._skipping.append(tag)
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.found.append(value)

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping:
            self.found.append(data)


def unmarked_texts(path: Path) -> list[str]:
    """The pieces of ``path``'s text and read attributes that hold a word outside any
    translation tag, each trimmed (whitespace and holes)."""
    parser = _ReadText()
    parser.feed(unmarked_skeleton(path.read_text()))
    parser.close()
    pieces = []
    for text in parser.found:
        for piece in text.split(HOLE):
            piece = " ".join(piece.split())
            if WORD.search(piece):
                pieces.append(piece)
    return pieces


def template_msgids() -> dict[tuple, str]:
    """{(context, msgid, plural): "file"} for every string the templates mark: {% translate
    "literal" %} and {% blocktranslate %} (its msgid as Django builds it: %(name)s, trimmed)."""
    found = {}
    engine = engines["django"].engine
    for path in template_files():
        nodelist = engine.from_string(path.read_text()).nodelist
        for node in nodelist.get_nodes_by_type(TranslateNode):
            var = node.filter_expression.var
            literal = getattr(var, "literal", None)
            if isinstance(literal, str):
                context = _literal(node.message_context)
                found[(context, literal, None)] = path.name
        for node in nodelist.get_nodes_by_type(BlockTranslateNode):
            singular, _ = node.render_token_list(node.singular)
            plural = node.render_token_list(node.plural)[0] if node.plural else None
            found[(_literal(node.message_context), singular, plural)] = path.name
    return found


def _literal(filter_expression):
    """A tag argument's quoted string (a context: "date format"), else None."""
    if filter_expression is None:
        return None
    var = filter_expression.var
    return var if isinstance(var, str) else getattr(var, "literal", None)


def python_msgids(roots=("attendance", "faces")) -> dict[tuple, str]:
    """{(context, msgid, plural): "file:line"} for every literal string passed to a gettext
    function (PYTHON_MARKERS) in the product's Python sources, migrations aside."""
    found = {}
    for root in roots:
        for path in sorted((REPO / root).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name not in PYTHON_MARKERS:
                    continue
                positions = PYTHON_MARKERS[name]
                values = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
                          for a in node.args]
                picked = [values[i] if i is not None and i < len(values) else None for i in positions]
                if picked[1] is not None:
                    found[tuple(picked)] = f"{path.relative_to(REPO)}:{node.lineno}"
    return found


def javascript_msgids() -> dict[tuple, str]:
    """{(context, msgid, plural): "file"} for the gettext/ngettext/pgettext calls of static/*.js."""
    found = {}
    for path in sorted((REPO / "static").glob("*.js")):
        for call in JS_CALL.finditer(path.read_text()):
            name, first, second = call.group(1), ast.literal_eval(call.group(2)), call.group(3)
            second = ast.literal_eval(second) if second else None
            if name == "gettext":
                found[(None, first, None)] = path.name
            elif name == "ngettext":
                found[(None, first, second)] = path.name
            elif name == "pgettext":
                found[(first, second, None)] = path.name
    return found


PLACEHOLDER = re.compile(r"%\([^)]+\)[sdifr]|%[sdif]|\{[a-z_0-9]*\}")


def placeholders(text: str) -> list[str]:
    """The placeholders of a message, sorted: %(name)s, %s, %d, {name}, {}."""
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))
