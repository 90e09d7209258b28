"""Turn a model's reply into a cell value, and say what is wrong with it.

Small models wrap answers in quotes or code fences, echo the delimiters, or
add a second line of commentary. We strip what is clearly packaging; anything
else is left for the seller to see, flagged.
"""

from __future__ import annotations

import re
from collections import Counter

from localize.text.html import has_text, structure_diff, visible_text
from localize.text.unprintable import breaks_like_source, remove_unprintable

_DIGITS = re.compile(r"\d+")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)
_QUOTES = [('"', '"'), ("“", "”"), ("«", "»"), ("'", "'"), ("„", "“")]


def clean_output(text: str, source: str, kind: str) -> str:
    # Control characters, escape sequences, noncharacters: no listing may hold them (text/unprintable.py).
    out = remove_unprintable(text).strip()
    m = _FENCE.match(out)
    if m and "```" not in source:
        out = m.group(1).strip()
    # The prompt's delimiters at either end, either way round: the 1.5B model, asked
    # without the worked example, answered "Bote insulado de 750 ml <<<".
    for _ in range(2):
        for mark in ("<<<", ">>>"):
            if mark not in source:
                if out.startswith(mark):
                    out = out[3:].lstrip()
                if out.endswith(mark):
                    out = out[:-3].rstrip()
    for left, right in _QUOTES:
        if (
            len(out) >= 2 and out.startswith(left) and out.endswith(right)
            and not (source.strip().startswith(left) and source.strip().endswith(right))
        ):
            out = out[len(left) : -len(right)].strip()
    if kind in ("title", "label") and "\n" not in source.strip():
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        # "Here is the translation:" followed by the answer: the answer is what we want.
        if len(lines) > 1 and lines[0].endswith(":") and not source.strip().endswith(":"):
            lines = lines[1:]
        out = lines[0] if lines else ""
    out = breaks_like_source(out, source.strip()).strip()
    # Keep the source's surrounding whitespace (HTML pieces are joined back byte for byte).
    lead = source[: len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()) :]
    return lead + out + trail if out else ""


def problems(output: str, source: str, kind: str, max_chars: int | None) -> list[tuple[str, str]]:
    """(code, detail) pairs for a cleaned output. Empty list means fine."""
    found = []
    if not output.strip():
        return [("empty_output", "the model returned no text")]
    if kind == "html" or "<" in source:
        diff = structure_diff(source, output)
        if diff:
            found.append(("html_structure", diff))
    if max_chars:
        length = len(visible_text(output)) if kind == "html" else len(output.strip())
        if length > max_chars:
            found.append(("too_long", f"{length} characters, market limit {max_chars}"))
    missing = _missing_numbers(source, output, kind)
    if missing:
        found.append(("numbers_changed", f"missing from the output: {', '.join(missing)}"))
    if has_text(source) and output.strip() == source.strip() and len(visible_text(source)) > 12:
        found.append(("unchanged", "output identical to the source"))
    return found


def _missing_numbers(source: str, output: str, kind: str) -> list[str]:
    """Digit runs of the source (sizes, capacities, model numbers) absent from the output.

    Runs, not numbers, so locale punctuation is free: "20,000 mm" may become
    "20.000 mm" and "1.5 l" "1,5 l". HTML compares visible text (URLs are
    covered by the tag-structure check).
    """
    if kind == "html":
        source, output = visible_text(source), visible_text(output)
    need, have = Counter(_DIGITS.findall(source)), Counter(_DIGITS.findall(output))
    return sorted(n for n, count in need.items() if have[n] < count)
