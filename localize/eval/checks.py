"""Reference-free checks on every (source, output) pair: they need no
reference, so they run on any real localized catalog.

The per-row checks a localization run already does (empty output, HTML tag
structure, market length limit, digit runs, output identical to the source)
come from `localize.text.cleanup.problems`, unchanged; this module adds what
only an evaluation needs: units, model numbers and SKUs, URLs, and the
language of the output.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Protocol

import html as _html

from localize.text.cleanup import _missing_numbers, problems
from localize.text.html import tokens

# Every violation code, in report order. The first five are `cleanup.problems`'s.
CHECKS = (
    "empty_output",
    "html_structure",
    "numbers_changed",
    "unchanged",
    "too_long",
    "units_changed",
    "codes_changed",
    "urls_changed",
    "untranslated",
    "wrong_language",
    "keep_missing",
    "term_missing",
    "banned_term",
)
DESCRIPTIONS = {
    "empty_output": "output is empty",
    "html_structure": "HTML tag structure differs from the source",
    "numbers_changed": "a number of the source is missing",
    "unchanged": "output is a copy of the source",
    "too_long": "over the market's length limit",
    "units_changed": "a measurement lost its unit symbol",
    "codes_changed": "a model number or SKU is missing",
    "urls_changed": "a URL or e-mail address is missing",
    "untranslated": "output is in the source's language",
    "wrong_language": "output is in another language than the target",
    "keep_missing": "a glossary keep-term (brand, product line) is not in the output as in the source",
    "term_missing": "a mandated glossary term is not used",
    "banned_term": "a banned word appears",
}

# Unit symbols written the same way in every target language localize supports.
# (Percent is left to the numbers check: Turkish writes %50, French 50 %.)
_UNITS = ("mm|cm|dm|km|m|mg|kg|g|ml|mL|cl|dl|l|L|kWh|Wh|mAh|Ah|kW|W|kV|V|mA|TB|GB|MB|KB|GHz|MHz|kHz|Hz"
          "|°C|°F|dB|lm|MP|fps|rpm|psi|nm|µm|m²|m³|cm²|cm³")
# A number (not the tail of a word or of a longer number; "20x30 cm" counts 30) and its unit.
_MEASURE = re.compile(rf"(?<![\d.,])(?<![^\W\dx×])(\d+(?:[.,]\d+)*)\s?({_UNITS})(?![\w²³])")
# Model numbers and SKUs: a token mixing letters and digits (WH-1000XM5, B07ZPKN6YR, RX-78).
_CODE = re.compile(r"(?<![\w-])(?=[\w./-]*\d)(?=[\w./-]*[A-Za-z])[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*(?![\w-])")
_NOT_A_CODE = re.compile(
    rf"^(?:\d+(?:[.,]\d+)*(?:{_UNITS})|\d+(?:st|nd|rd|th|s|x|h|er|e|º|ª)|\d+(?:[.,]\d+)?(?:x\d+(?:[.,]\d+)?)+)$",
    re.I,
)
# A hyphenated phrase, not a code: numbers and ordinary words (2-Person, 3-in-1, 12-Cup, 5-ply).
_PHRASE_PART = re.compile(r"^(?:\d+|[A-Za-z]?[a-z]+)$")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)
_TRAILING = ".,;:!?»”’"


@dataclass
class Row:
    """One (source, output) pair of one locale, and what the checks found."""

    id: str
    locale: str
    language: str  # the target's language subtag, for the language check
    kind: str  # title | text | html | label
    source: str | None  # None: line files given without --src
    output: str
    reference: str | None = None
    role: str | None = None  # field role for the market limit
    max_chars: int | None = None
    violations: list[tuple[str, str]] = field(default_factory=list)  # (code, detail)
    sentence_chrf: float | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id, "locale": self.locale, "kind": self.kind, "source": self.source,
            "output": self.output, "reference": self.reference,
            "violations": [{"check": c, "detail": d} for c, d in self.violations],
            "sentence_chrf": None if self.sentence_chrf is None else round(self.sentence_chrf, 2),
        }


class TermCheck(Protocol):
    """The glossary hook. A glossary issue will supply one: it returns
    (terms expected, terms found) for a row, from which the terminology
    accuracy gate is computed. Until then no terminology number exists and a
    `min_terminology_accuracy` gate reports "not measured", never a pass."""

    def __call__(self, row: Row) -> tuple[int, int]: ...


def check_row(row: Row, identifier=None) -> list[tuple[str, str]]:
    """All violations of one row (also stored on `row.violations`).

    Without a source (line files with no --src) only the empty-output and
    language checks can run."""
    if row.source is None:
        found = [] if (row.output or "").strip() else [("empty_output", "the output is empty")]
        if not found and identifier is not None:
            found += _language(row, identifier, None, _texts(row)[1])
        row.violations = found
        return found
    found = list(problems(row.output or "", row.source, row.kind, row.max_chars))
    if row.output and row.output.strip():
        src_text, out_text = _texts(row)
        if is_html(row.kind, row.source):
            # cleanup compares digit runs of `visible_text`, which glues the text of
            # adjacent cells ("USB-C2" + "65 W" -> "USB-C265 W"): same rule, on spaced text.
            found = [f for f in found if f[0] != "numbers_changed"]
            missing = _missing_numbers(src_text, out_text, "text")
            if missing:
                found.append(("numbers_changed", f"missing from the output: {', '.join(missing)}"))
        found += _missing("units_changed", _measures(src_text), _measures(out_text), _measure_names(src_text))
        found += _missing("codes_changed", _codes(src_text), _codes(out_text))
        found += _missing("urls_changed", _urls(row.source), _urls(row.output))
        if identifier is not None:
            found += _language(row, identifier, src_text, out_text)
    row.violations = found
    return found


def plain_text(text: str) -> str:
    """The text of HTML with every tag turned into a space, entities decoded, whitespace collapsed.

    Unlike `html.visible_text`, words on both sides of a tag stay apart
    (`<li>Bluetooth</li><li>5.3</li>` gives "Bluetooth 5.3", not "Bluetooth5.3"),
    so numbers, codes and n-grams are not glued across list items and cells.
    """
    return " ".join(_html.unescape(" ".join(piece for markup, piece in tokens(text) if not markup)).split())


def is_html(kind: str, source: str | None) -> bool:
    return kind == "html" or "<" in (source or "")


def _texts(row: Row) -> tuple[str, str]:
    source = row.source or ""
    if is_html(row.kind, source):
        return plain_text(source), plain_text(row.output)
    return source, row.output


def _measure_key(num: str, unit: str) -> str:
    """Digits and unit only: "1.5 l", "1,5 L" and "1.5l" are the same measurement."""
    return f"{re.sub(r'[.,]', '', num)} {_unit_key(unit)}"


def _measures(text: str) -> Counter:
    return Counter(_measure_key(num, unit) for num, unit in _MEASURE.findall(text))


def _measure_names(text: str) -> dict[str, str]:
    """Key -> the measurement as the source writes it, for messages."""
    return {_measure_key(m.group(1), m.group(2)): m.group(0) for m in _MEASURE.finditer(text)}


def _unit_key(unit: str) -> str:
    return unit.lower() if unit in ("l", "L", "mL") else unit


def _codes(text: str) -> Counter:
    return Counter(t for t in (m.group(0) for m in _CODE.finditer(text)) if _is_code(t))


def _is_code(token: str) -> bool:
    if len(token) < 3 or _NOT_A_CODE.match(token):
        return False
    return not all(_PHRASE_PART.match(part) for part in re.split(r"[-/.]", token))


def _urls(text: str) -> Counter:
    return Counter(m.group(0).rstrip(_TRAILING) for m in _URL.finditer(text))


def _missing(code: str, need: Counter, have: Counter, names: dict[str, str] | None = None) -> list[tuple[str, str]]:
    lost = sorted((names or {}).get(item, item) for item, n in need.items() if have[item] < n)
    return [(code, f"missing from the output: {', '.join(lost)}")] if lost else []


# Tags that start a new block of text; inline tags (strong, em, a, span) stay inside their block.
_BLOCK_TAG = re.compile(r"</?(?:p|li|h[1-6]|td|th|tr|div|ul|ol|dl|dt|dd|table|section|article|blockquote|br)\b",
                        re.I)


def blocks(text: str, html: bool) -> list[str]:
    """The separately readable pieces of a text: one for plain text, one per block element for HTML."""
    if not html:
        return [text]
    out, current = [], []
    for markup, piece in tokens(text):
        if not markup:
            current.append(piece)
        elif _BLOCK_TAG.match(piece):
            out.append(current)
            current = []
        else:
            current.append(" ")
    out.append(current)
    return [t for t in (" ".join(_html.unescape("".join(c)).split()) for c in out) if t]


def _language(row: Row, identifier, src_text: str | None, out_text: str) -> list[tuple[str, str]]:
    """HTML is judged block by block (blocks of `min_block_letters` or more), so a page
    with one paragraph left in English is caught; otherwise the whole text is judged."""
    pieces = blocks(row.output, is_html(row.kind, row.source))
    long = [p for p in pieces if sum(ch.isalpha() for ch in p) >= identifier.min_block_letters]
    judged = long if len(long) > 1 else [out_text]
    source_lang = identifier.identify(src_text).language if src_text else None
    found = []
    for index, piece in enumerate(judged):
        wrong = identifier.contradicts(piece, row.language)
        if wrong is not None:
            where = f"block {pieces.index(piece) + 1} " if len(judged) > 1 else ""
            what = (f"{where}reads as {wrong.language} (p={wrong.confidence:.2f}), "
                    f"{row.language} p={wrong.target_probability:.2f}")
            if wrong.language == source_lang:
                return [("untranslated", what + ", the source's language")]
            found = found or [("wrong_language", what)]
    return found


def run_checks(rows: list[Row], identifier=None, on_row: Callable[[Row], None] | None = None) -> None:
    for row in rows:
        check_row(row, identifier)
        if on_row:
            on_row(row)
