"""Facts of the source a translation must carry over as written: measurements
with their unit symbols, model numbers and SKUs, URLs and e-mail addresses.

Each check takes a `Pair` and returns a one-line detail when it fails, else None.
"""

from __future__ import annotations

import re
from collections import Counter

from localize.checks.pair import Pair

# Unit symbols written the same way in every target language localize supports.
# (Percent is left to the numbers check: Turkish writes %50, French 50 %.)
_UNITS = ("mm|cm|dm|km|m|mg|kg|g|ml|mL|cl|dl|l|L|kWh|Wh|mAh|Ah|kW|W|kV|V|mA|TB|GB|MB|KB|GHz|MHz|kHz|Hz"
          "|°C|°F|dB|lm|MP|fps|rpm|psi|nm|µm|m²|m³|cm²|cm³")
# A number (not the tail of a word or of a longer number; "20x30 cm" counts 30) and its unit.
_MEASURE = re.compile(rf"(?<![\d.,])(?<![^\W\dx×])(\d+(?:[.,]\d+)*)\s?({_UNITS})(?![\w²³])")
# Model numbers and SKUs: a token mixing letters and digits (WH-1000XM5, B07ZPKN6YR, RX-78). The
# lookaheads stop after 64 characters (no code is longer): unbounded, they made the search quadratic
# on a long run of "a.a.a..." (20,000 characters took 9 s).
_CODE = re.compile(r"(?<![\w-])(?=[\w./-]{0,64}\d)(?=[\w./-]{0,64}[A-Za-z])[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*(?![\w-])")
_NOT_A_CODE = re.compile(
    rf"^(?:\d+(?:[.,]\d+)*(?:{_UNITS})|\d+(?:st|nd|rd|th|s|x|h|er|e|º|ª)|\d+(?:[.,]\d+)?(?:x\d+(?:[.,]\d+)?)+)$",
    re.I,
)
# A hyphenated phrase, not a code: numbers and ordinary words (2-Person, 3-in-1, 12-Cup, 5-ply).
_PHRASE_PART = re.compile(r"^(?:\d+|[A-Za-z]?[a-z]+)$")
# An e-mail address starts where a token starts: tried at every letter of a long word, the
# search was quadratic (20,000 letters took 8 s, a 10 MB answer would hang the run).
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()]+|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)
_TRAILING = ".,;:!?»”’"


def units_changed(pair: Pair) -> str | None:
    source, output = pair.source_text, pair.output_text
    return _missing(measures(source), measures(output), _measure_names(source))


def codes_changed(pair: Pair) -> str | None:
    return _missing(codes(pair.source_text), codes(pair.output_text))


def urls_changed(pair: Pair) -> str | None:
    """Raw text: a link's href counts as much as a URL written out."""
    return _missing(urls(pair.source or ""), urls(pair.output))


def measures(text: str) -> Counter:
    return Counter(_measure_key(num, unit) for num, unit in _MEASURE.findall(text))


def codes(text: str) -> Counter:
    """Model-number-like tokens: letters and digits mixed (KT-450), not a measure or an ordinal."""
    return Counter(t for t in (m.group(0) for m in _CODE.finditer(text)) if _is_code(t))


def urls(text: str) -> Counter:
    return Counter(m.group(0).rstrip(_TRAILING) for m in _URL.finditer(text))


def _measure_key(num: str, unit: str) -> str:
    """Digits and unit only: "1.5 l", "1,5 L" and "1.5l" are the same measurement."""
    return f"{re.sub(r'[.,]', '', num)} {_unit_key(unit)}"


def _measure_names(text: str) -> dict[str, str]:
    """Key -> the measurement as the source writes it, for messages."""
    return {_measure_key(m.group(1), m.group(2)): m.group(0) for m in _MEASURE.finditer(text)}


def _unit_key(unit: str) -> str:
    return unit.lower() if unit in ("l", "L", "mL") else unit


def _is_code(token: str) -> bool:
    if len(token) < 3 or _NOT_A_CODE.match(token):
        return False
    return not all(_PHRASE_PART.match(part) for part in re.split(r"[-/.]", token))


def _missing(need: Counter, have: Counter, names: dict[str, str] | None = None) -> str | None:
    lost = sorted((names or {}).get(item, item) for item, n in need.items() if have[item] < n)
    return f"missing from the output: {', '.join(lost)}" if lost else None
