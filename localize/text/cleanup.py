"""Turn a model's reply into a cell value.

Small models wrap answers in quotes or code fences, echo the delimiters, or
add a second line of commentary. We strip what is clearly packaging; anything
else is left for the seller to see, flagged by the checks (localize.checks).
"""

from __future__ import annotations

import re

from localize.text.unprintable import breaks_like_source, remove_unprintable

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
    out = breaks_like_source(out, source.strip(), one_line=kind in ("title", "label")).strip()
    # Keep the source's surrounding whitespace (HTML pieces are joined back byte for byte).
    lead = source[: len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()) :]
    return lead + out + trail if out else ""
