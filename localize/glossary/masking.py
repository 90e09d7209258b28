"""Keep terms out of the model's reach: placeholders in, originals back.

Placeholders look like QX1, QX2 (a two-letter prefix that occurs nowhere in
the text, then a number). Why this shape, measured with the embedded 1.5B
model on the example catalog's titles (36 title×locale cases with keep terms,
first answer, no repair round): `⟦1⟧` placeholders came back intact in 6/36
(the model read them as markup: dropped them or rewrote them as `<<<1>>>` in
the style of the prompt's delimiters); `QX1` in 32/36 — a small model copies
a model-number-looking token as it copies "X2" or "IPX4". Also:
  * nothing in it can be translated, inflected or transliterated: an
    uppercase code is not a word in any language, and it behaves like a
    proper noun, so word order can move around it and Turkish can suffix it
    ("QX1'in" restores to "Nordvik'in");
  * no HTML-special character (< > & " '), so a placeholder is valid inside a
    text node and inside an attribute value, and never disturbs the HTML
    structure check; no braces or brackets that catalog markup uses
    ({{ }} Liquid, [[ ]], %s, {0}).
The prefix is chosen so that it occurs nowhere in the text, in any case
(QX, then XQ, ZQ, ...), so a placeholder never collides with text; an
occurrence glued to a letter or digit on its left, or to a digit on its right,
is left unmasked (a placeholder there would not read back unambiguously) and
is still checked in the output.

What is masked: each occurrence of a keep entry's source in the searchable
regions (`localize.glossary.scan`: text nodes and alt/title-like attribute
values in HTML; never tag or attribute names, href/src, URLs), at word
boundaries, case per entry, longest match first ("Nordvik Outfitters" beats
"Nordvik"). The same original string always gets the same placeholder; the
same term written in another case is another string, so another placeholder,
and comes back as it was written.

Mandated terms can be locked the same way (`lock_terms`, the repair round
for a term the model translated its own way): the placeholder then stands
for the term's target, which comes back capitalized at the start of a
sentence, and its own placeholder problems are not reported (the term check
judges the output instead). A locked term next to a keep placeholder joins
it ("QX1 QX2" for "Nordvik Outfitters Gift Card" became "Nordvik
Outfitters y tarjeta regalo", brand *and* gift card).

`unmask` never raises. It restores every recognizable placeholder (also one a
model spaced, hyphenated or lower-cased, "QX 1", "qx-1", or wrote with other
digits, "QX١") and reports, one line each: placeholders missing, duplicated,
altered, or unknown.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import NamedTuple, Sequence

from localize.glossary import scan
from localize.glossary.model import Entry
from localize.text.html import structure

PREFIXES = ("QX", "XQ", "ZQ", "QZ", "JQ", "QJ", "VQ", "QV", "XZ", "ZX")


@dataclass
class Masked:
    text: str  # text with placeholders
    placeholders: dict[str, str]  # placeholder -> original term, e.g. {"QX1": "Nordvik"}
    prefix: str = PREFIXES[0]
    # From lock_terms: placeholders that stand for a mandated term's target alone
    # (problems not reported), and those that start with one (capitalized where a
    # sentence starts; a kept original is never re-cased: "iPhone").
    silent: frozenset[str] = frozenset()
    sentence_case: frozenset[str] = frozenset()

    def pattern(self) -> re.Pattern:
        return _pattern(self.prefix)


# Letters and digits a placeholder must not be glued to. Under IGNORECASE,
# [A-Za-z] also matches İ ı ſ and the Kelvin sign, so they are listed to keep
# `mask` (which tests case-sensitively) and the pattern in agreement.
_GLUE = "A-Za-z0-9\u0130\u0131\u017f\u212a"


def _pattern(prefix: str) -> re.Pattern:
    return re.compile(rf"(?<![{_GLUE}]){re.escape(prefix)}[ \-]?(\d+)(?![0-9])", re.IGNORECASE)


def choose_prefix(text: str) -> str:
    folded = text.casefold()
    for prefix in PREFIXES:
        if prefix.casefold() not in folded:
            return prefix
    letters = "QXZJVKW"
    return next(a + b + c for a in letters for b in letters for c in letters if (a + b + c).casefold() not in folded)


def mask(text: str, keep: Sequence[Entry]) -> Masked:
    """Replace keep terms with placeholders (see the module docstring)."""
    if not keep or not text:
        return Masked(text, {})
    matches = scan.find(text, keep, scan.mask_regions(text))
    if not matches:
        return Masked(text, {})
    prefix = choose_prefix(text)
    # A placeholder glued to a letter or digit on its left, or a digit on its
    # right, would not read back unambiguously ("QX12" = QX1 + "2"?).
    matches = _merge_runs(text, _readable(text, matches))
    masked = _replace(text, matches, prefix)
    if "<" in text:
        # A term made of markup characters (a quote inside broken markup)
        # could turn text into a tag: masking must never change the structure.
        before = structure(text)
        if structure(masked.text) != before:
            safe = [m for m in matches if not _MARKUP_CHARS & set(text[m[0]:m[1]])]
            masked = _replace(text, safe, prefix)
            if structure(masked.text) != before:
                return Masked(text, {})
    return masked


_MARKUP_CHARS = set("<>\"'=/")
_ALNUM = re.compile(rf"[{_GLUE}]")


def _readable(text: str, matches):
    """The matches whose placeholder reads back as itself: not after a letter or
    digit (nor right after another placeholder, which ends in a digit), not
    before a digit."""
    kept, last_end = [], -1
    for m in matches:
        start, end = m[0], m[1]
        glued_left = start > 0 and (start == last_end or _ALNUM.match(text[start - 1]))
        if glued_left or (end < len(text) and text[end].isdigit()):
            continue
        kept.append(m)
        last_end = end
    return kept


def _merge_runs(text: str, matches):
    """Keep terms separated only by spaces ("Nordvik Kilde 750 ml": brand, then
    product line) become one placeholder. Two codes side by side read to a
    small model as a list: it wrote "Nordvik y Kilde", "Nordvik et Kilde",
    "Nordvik ve Kilde" for "QX1 QX2"."""
    merged: list = []
    for m in matches:
        if merged and text[merged[-1][1]:m[0]].strip(" \t\u00a0") == "" and merged[-1][1] < m[0]:
            merged[-1] = (merged[-1][0], m[1], merged[-1][2])
        else:
            merged.append(m)
    return merged


def _replace(text: str, matches, prefix: str) -> Masked:
    if not matches:
        return Masked(text, {})
    numbers: dict[str, str] = {}  # original -> placeholder
    pieces, pos = [], 0
    for start, end, _ in matches:
        original = text[start:end]
        if original not in numbers:
            numbers[original] = f"{prefix}{len(numbers) + 1}"
        pieces += [text[pos:start], numbers[original]]
        pos = end
    pieces.append(text[pos:])
    return Masked("".join(pieces), {ph: original for original, ph in numbers.items()}, prefix)


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
    expected = Counter(m.group(0) for m in pattern.finditer(masked.text))
    found: Counter = Counter()
    problems: list[str] = []

    def restore(m: re.Match) -> str:
        key = f"{masked.prefix}{int(m.group(1))}"
        original = masked.placeholders.get(key)
        if original is None:
            problems.append(f"unknown placeholder {m.group(0)!r} in the output (altered); left as is")
            return m.group(0)
        found[key] += 1
        if key in masked.sentence_case:
            original = _sentence_case(original, output, m.start())
        if key in masked.silent:
            return original
        if m.group(0) != key:
            problems.append(f"placeholder {key} for {original!r} was altered to {m.group(0)!r}; restored")
        return original

    restored = pattern.sub(restore, output)
    for key, original in masked.placeholders.items():
        if key in masked.silent:
            continue
        want, got = expected[key], found[key]
        if got < want:
            problems.append(f"placeholder {key} for {original!r} is missing ({got} of {want} in the output)")
        elif got > want:
            problems.append(f"placeholder {key} for {original!r} is duplicated ({got} times, expected {want})")
    return restored, problems


# Where a locked term starts a sentence: the text's start, after . ! ?, a block
# tag (not <strong>: that is mid-sentence), an attribute's opening quote, or a
# title separator.
_SENTENCE_START = re.compile(
    r"(?:^|[.!?]\s+|<(?:p|li|h[1-6]|td|th|div|dt|dd|caption|br\s*/?)(?:\s[^<>]*)?>\s*|=[\"']\s*|\s[|\-–—]\s+)$",
    re.IGNORECASE,
)


def _sentence_case(target: str, output: str, at: int) -> str:
    """A locked term's target as it must read at this place: capitalized where
    a sentence, a title, a list item or a title segment starts."""
    if target[:1].islower() and _SENTENCE_START.search(output[:at]):
        return target[0].upper() + target[1:]
    return target


def lock_terms(masked: Masked, terms: Sequence[Entry]) -> tuple[Masked, list[Entry]]:
    """`masked` with the sources of these mandated terms replaced by
    placeholders that restore to their targets (numbered after the keep
    placeholders), and the terms that were locked. A term around a keep term
    ("DWR finish" around "DWR") is found in its masked form ("QX3 finish");
    a term next to keep placeholders joins them in one placeholder. Markup is
    never changed."""
    if not terms or not masked.text:
        return masked, []
    text = masked.text
    pairs = _masked_forms(masked, terms)
    term_of = {id(proxy): term for proxy, term in pairs}  # `pairs` keeps the proxies (and their ids) alive
    matches = _readable(text, scan.find(text, [proxy for proxy, _ in pairs], scan.mask_regions(text), suffixes=True))
    if not matches:
        return masked, []
    spans = [_Span(start, end, term_of[id(proxy)].target, True) for start, end, proxy in matches]
    spans += _keep_spans_outside(masked, spans)
    locked = _write_runs(masked, _runs(text, sorted(spans)))
    if "<" in text and structure(locked.text) != structure(text):
        return masked, []
    return locked, list(dict.fromkeys(term_of[id(proxy)] for *_, proxy in matches))


class _Span(NamedTuple):
    """A stretch of the masked text and what it restores to: a locked term's
    target, or a keep placeholder's original."""

    start: int
    end: int
    restored: str
    is_term: bool


def _masked_forms(masked: Masked, terms: Sequence[Entry]) -> list[tuple[Entry, Entry]]:
    """(proxy, term) pairs: each term as it reads in the masked text, its keep
    parts already placeholders ("DWR finish" -> "QX3 finish")."""
    keep_forms = sorted(masked.placeholders.items(), key=lambda kv: -len(kv[1]))
    pairs = []
    for entry in terms:
        source = entry.source
        for placeholder, original in keep_forms:
            source = source.replace(original, placeholder)
        pairs.append((replace(entry, source=source), entry))
    return pairs


def _keep_spans_outside(masked: Masked, taken: list[_Span]) -> list[_Span]:
    """Keep placeholders not inside a locked term: they may join a term's run."""
    out = []
    for m in masked.pattern().finditer(masked.text):
        if not any(t.start < m.end() and m.start() < t.end for t in taken):
            out.append(_Span(m.start(), m.end(), masked.placeholders.get(m.group(0), m.group(0)), False))
    return out


def _runs(text: str, spans: list[_Span]) -> list[list[_Span]]:
    """Spans separated only by spaces form one run (one placeholder)."""
    runs: list[list[_Span]] = []
    for span in spans:
        if runs and text[runs[-1][-1].end:span.start].strip(" \t\u00a0") == "":
            runs[-1].append(span)
        else:
            runs.append([span])
    return runs


def _write_runs(masked: Masked, runs: list[list[_Span]]) -> Masked:
    """Each run holding a term becomes one placeholder for its restored text;
    runs of keep placeholders alone stay as they were."""
    text = masked.text
    placeholders = dict(masked.placeholders)
    by_text: dict[str, str] = {}
    silent, cased = set(masked.silent), set(masked.sentence_case)
    pieces, pos = [], 0
    for run in runs:
        if not any(span.is_term for span in run):
            continue
        restored = "".join((text[run[k - 1].end:span.start] if k else "") + span.restored for k, span in enumerate(run))
        if restored not in by_text:
            by_text[restored] = f"{masked.prefix}{len(placeholders) + 1}"
            placeholders[by_text[restored]] = restored
        token = by_text[restored]
        if run[0].is_term:
            cased.add(token)  # the run starts with a target: capitalized where a sentence starts
        if all(span.is_term for span in run):
            silent.add(token)  # the term check judges it, not the placeholder check
        pieces += [text[pos:run[0].start], token]
        pos = run[-1].end
    pieces.append(text[pos:])
    return Masked("".join(pieces), placeholders, masked.prefix, frozenset(silent), frozenset(cased))


def problem_kind(detail: str) -> str:
    """What an `unmask` problem line says: "missing", "duplicated", "altered"
    (restored anyway) or "unknown" (a code left in the output)."""
    if detail.startswith("unknown placeholder "):
        return "unknown"
    m = re.search(r" is (missing|duplicated) \(\d+ (?:of \d+ in the output|times, expected \d+)\)$", detail)
    return m.group(1) if m else "altered"


def reinsert_at_edges(output: str, masked: Masked, *, last_resort: bool = False) -> str:
    """Put back placeholders a model dropped when their place is unambiguous.

    A title that starts with its keep terms ("QX1 QX2 Wool Beanie": brand,
    product line) gets them back in front, where marketplaces want the brand
    anyway; a trailing "| QX3" or "- QX3" comes back at the end. A placeholder
    in the middle of the text is left to the repair round: there is no safe
    place to guess for it. `last_resort` (a short title after the repair round
    failed): every placeholder still wholly missing goes in front, in source
    order, so the product line is named rather than lost. Plain text only;
    HTML output is never edited this way.
    """
    if not masked.placeholders or not output:
        return output
    pattern = masked.pattern()
    found = Counter(f"{masked.prefix}{int(n)}" for n in pattern.findall(output))
    token = rf"{re.escape(masked.prefix)}\d+"
    lead = re.match(rf"(?:{token}[ \t]*)+(?=\s|$)", masked.text)
    if lead:
        run = lead.group(0).strip()
        if all(found[t] == 0 for t in run.split()):
            output = f"{run} {output.lstrip()}"
            found.update(run.split())
    tail = re.search(rf"(\s+[|\-–—·:]\s+|,\s+)((?:{token}[ \t]*)+)$", masked.text)
    if tail:
        run = tail.group(2).strip()
        if all(found[t] == 0 for t in run.split()):
            output = output.rstrip() + tail.group(1) + run
            found.update(run.split())
    if last_resort:
        missing = list(dict.fromkeys(t for t in re.findall(token, masked.text) if found[t] == 0))
        if missing:
            output = f"{' '.join(missing)} {output.lstrip()}"
    return output
