"""What a translation must keep as it is: some text, the tag skeleton, the
numbers, the market's length limit; and an output that is the source itself.

Each check takes a `Pair` and returns a one-line detail when it fails, else None.
"""

from __future__ import annotations

import re
from collections import Counter

from localize.checks.pair import Pair
from localize.text.html import has_text, structure_diff, visible_text

_DIGITS = re.compile(r"\d+")


def empty_output(pair: Pair) -> str | None:
    return "the model returned no text" if pair.empty else None


def html_structure(pair: Pair) -> str | None:
    if not pair.html or pair.source is None:
        return None
    return structure_diff(pair.source, pair.output)


def too_long(pair: Pair) -> str | None:
    """The market's limit counts what a shopper reads: the visible text of HTML."""
    if not pair.max_chars:
        return None
    length = len(visible_text(pair.output)) if pair.html else len(pair.output.strip())
    return f"{length} characters, market limit {pair.max_chars}" if length > pair.max_chars else None


def numbers_changed(pair: Pair) -> str | None:
    missing = missing_numbers(pair.source_text, pair.output_text)
    return f"missing from the output: {', '.join(missing)}" if missing else None


def unchanged(pair: Pair) -> str | None:
    source = pair.source or ""
    if has_text(source) and pair.output.strip() == source.strip() and len(visible_text(source)) > 12:
        return "output identical to the source"
    return None


def missing_numbers(source_text: str, output_text: str) -> list[str]:
    """Digit runs of the source (sizes, capacities, model numbers) absent from the output.

    Runs, not numbers, so locale punctuation is free: "20,000 mm" may become
    "20.000 mm" and "1.5 l" "1,5 l". HTML is compared as plain text, where
    adjacent cells stay apart ("USB-C</td><td>65 W" is "USB-C 65 W"), and
    URLs in attributes are the tag-structure check's.
    """
    need, have = Counter(_DIGITS.findall(source_text)), Counter(_DIGITS.findall(output_text))
    return sorted(n for n, count in need.items() if have[n] < count)


STRUCTURE_CHECKS = {
    "empty_output": empty_output, "html_structure": html_structure, "numbers_changed": numbers_changed,
    "unchanged": unchanged, "too_long": too_long,
}


def problems(output: str, source: str, kind: str, max_chars: int | None) -> list[tuple[str, str]]:
    """(code, detail) of the structure checks for a cleaned output; empty: fine.

    What a repair round must not make worse (numbers, tags), so it is cheap:
    no language model, no markup parser beyond the tag skeleton."""
    pair = Pair(source, output, kind, "", max_chars)
    if pair.empty:
        return [("empty_output", empty_output(pair))]
    return [(code, detail) for code, check in STRUCTURE_CHECKS.items() if (detail := check(pair))]
