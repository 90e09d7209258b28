"""Keep terms out of the model's reach: placeholders in, originals back.

Placeholders look like ⟦1⟧ (U+27E6 MATHEMATICAL LEFT WHITE SQUARE BRACKET,
a number, U+27E7). Why this shape:
  * nothing in it can be translated, inflected, transliterated or re-cased:
    no word inside, only a number;
  * the brackets are not punctuation in any language, so a model has no
    reason to "localize" them the way it turns "quotes" into «guillemets»;
    and no catalog markup uses them, unlike {{ }} (Shopify Liquid, Jinja),
    [[ ]] (wiki links), %s / {0} (printf, ICU) or <x/> tags, which would also
    disturb the HTML structure check;
  * no HTML-special character (< > & " '), so a placeholder is valid inside a
    text node and inside an attribute value, quoted or not;
  * short (a few tokens), and it behaves like a proper noun in the sentence,
    so word order can move around it and Turkish can suffix it
    ("⟦1⟧'in" restores to "Nordvik'in").
If the text already contains ⟦ or ⟧, the next unused pair is taken (⟪⟫, ⦃⦄,
〖〗, then private-use characters), so a placeholder never collides with text.

What is masked: each occurrence of a keep entry's source in the searchable
regions (`localize.glossary.scan`: text nodes and alt/title-like attribute
values in HTML; never tag or attribute names, href/src, URLs), at word
boundaries, case per entry, longest match first ("Nordvik Outfitters" beats
"Nordvik"). The same original string always gets the same placeholder; the
same term written in another case is another string, so another placeholder,
and comes back as it was written.

`unmask` never raises. It restores every recognizable placeholder (also one a
model spaced out, "⟦ 1 ⟧", or wrote with other digits, "⟦١⟧") and reports,
one line each: placeholders missing, duplicated, altered, or unknown.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from localize.glossary import scan
from localize.glossary.model import Entry
from localize.text.html import structure

STYLES = (("⟦", "⟧"), ("⟪", "⟫"), ("⦃", "⦄"), ("〖", "〗"))


@dataclass
class Masked:
    text: str  # text with placeholders
    placeholders: dict[str, str]  # placeholder -> original term, e.g. {"⟦1⟧": "Nordvik"}
    style: tuple[str, str] = field(default=STYLES[0])  # the bracket pair used

    def pattern(self) -> re.Pattern:
        o, c = (re.escape(x) for x in self.style)
        return re.compile(rf"{o}\s*(\d+)\s*{c}")


def choose_style(text: str) -> tuple[str, str]:
    for o, c in STYLES:
        if o not in text and c not in text:
            return o, c
    present = set(text)
    free = (chr(cp) for cp in range(0xE000, 0xF900) if chr(cp) not in present)
    return next(free), next(free)


def mask(text: str, keep: Sequence[Entry]) -> Masked:
    """Replace keep terms with placeholders (see the module docstring)."""
    if not keep or not text:
        return Masked(text, {})
    matches = scan.find(text, keep, scan.mask_regions(text))
    if not matches:
        return Masked(text, {})
    style = choose_style(text)
    masked = _replace(text, matches, style)
    if "<" in text:
        # A term made of markup characters (a quote inside broken markup)
        # could turn text into a tag: masking must never change the structure.
        before = structure(text)
        if structure(masked.text) != before:
            safe = [m for m in matches if not _MARKUP_CHARS & set(text[m[0]:m[1]])]
            masked = _replace(text, safe, style)
            if structure(masked.text) != before:
                return Masked(text, {})
    return masked


_MARKUP_CHARS = set("<>\"'=/")


def _replace(text: str, matches, style: tuple[str, str]) -> Masked:
    if not matches:
        return Masked(text, {})
    numbers: dict[str, str] = {}  # original -> placeholder
    pieces, pos = [], 0
    for start, end, _ in matches:
        original = text[start:end]
        if original not in numbers:
            numbers[original] = f"{style[0]}{len(numbers) + 1}{style[1]}"
        pieces += [text[pos:start], numbers[original]]
        pos = end
    pieces.append(text[pos:])
    return Masked("".join(pieces), {ph: original for original, ph in numbers.items()}, style)


def unmask(output: str, masked: Masked) -> tuple[str, list[str]]:
    """The output with originals restored, and a list of problems (each one
    line; empty when every placeholder came back exactly as often as sent)."""
    if output is None:
        output = ""
    elif not isinstance(output, str):
        output = str(output)
    if not masked.placeholders:
        return output, []
    pattern = masked.pattern()
    o, c = masked.style
    expected = Counter(m.group(0) for m in pattern.finditer(masked.text))
    found: Counter = Counter()
    problems: list[str] = []

    def restore(m: re.Match) -> str:
        key = f"{o}{int(m.group(1))}{c}"
        original = masked.placeholders.get(key)
        if original is None:
            problems.append(f"unknown placeholder {m.group(0)!r} in the output (altered); left as is")
            return m.group(0)
        found[key] += 1
        if m.group(0) != key:
            problems.append(f"placeholder {key} for {original!r} was altered to {m.group(0)!r}; restored")
        return original

    restored = pattern.sub(restore, output)
    for key, original in masked.placeholders.items():
        want, got = expected[key], found[key]
        if got < want:
            problems.append(f"placeholder {key} for {original!r} is missing ({got} of {want} in the output)")
        elif got > want:
            problems.append(f"placeholder {key} for {original!r} is duplicated ({got} times, expected {want})")
    return restored, problems
