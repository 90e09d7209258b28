"""Where glossary terms occur in a text: the searchable regions of a field,
word boundaries that work across scripts, and longest-match selection.

Shared by masking (keep terms), `LocaleGlossary.terms_in` (mandated terms in
the source) and `kept_ok`. Target-side matching with case folding and
inflection lives in `localize.glossary.matching`; it reuses the boundary
definition below.

Word boundaries. A match may not start or end inside a word: "Ro" does not
match in "Room" or "Ro4". A character blocks a boundary when it is a word
character (a letter, digit, underscore or combining mark) of a script that
separates words with spaces. Scripts written without spaces between words
(Han, kana, Hangul, Thai, Lao, Khmer, Myanmar, Tibetan, Yi) never block, in
either direction: "ゴム" matches inside "ゴムボート", and "Nordvik" matches in
"Nordvikのジャケット". Korean is in that set on purpose: its particles attach
to the word ("재킷을"), so a substring match is the useful one.

Regions. In HTML only what a shopper reads is searched: text nodes and the
values of translatable attributes (alt, title, placeholder, aria-label,
label), never tag names, attribute names, other attribute values (href, src,
class), comments, or <script>/<style> bodies. Masking treats anything shaped
like a tag this way in every field; the checks (`visible_parts`) read plain
fields as plain text. In every field, URLs and e-mail addresses are left alone.

Source-side case-insensitive matching folds with str.lower (one character to
one character, so offsets stay valid); the locale-aware folding of outputs is
in `localize.glossary.matching`.
"""

from __future__ import annotations

import bisect
import html as _html
import re
import unicodedata
from functools import lru_cache
from typing import Iterable, Sequence

from localize.text.html import TRANSLATABLE_ATTRS, looks_like_html, tokens

# Scripts that do not put spaces between words (see the module docstring).
UNSPACED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1780, 0x17FF),  # Khmer
    (0x3000, 0x30FF),  # CJK symbols, Hiragana, Katakana
    (0x3100, 0x31FF),  # Bopomofo, Hangul compatibility Jamo, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA000, 0xA4CF),  # Yi
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF65, 0xFFDC),  # half-width Katakana and Hangul
    (0x20000, 0x3134F),  # CJK extensions B-G
)
_UNSPACED_STARTS = [a for a, _ in UNSPACED_RANGES]
UNSPACED_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in UNSPACED_RANGES)

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)
_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9:-]*)")
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_RAW_TEXT = {"script", "style"}
# Inline elements: removing them joins the words around them ("<em>merino</em> wool").
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "mark",
           "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"}

# English-side suffixes accepted after a mandated term in the source
# ("base layer" in "Base Layers", "rain jacket" in "rain jacket's").
ENGLISH_SUFFIXES = ("es", "s", "'s", "’s", "s'", "s’")

# Case-insensitive source-side matching folds one character to one character
# (so offsets stay valid): str.lower() except İ, which lower() turns into two.
_FOLD1 = str.maketrans({"İ": "i", "ς": "σ", "ſ": "s", "ẞ": "ß"})


def fold1(text: str) -> str:
    return text.translate(_FOLD1).lower()


def is_unspaced(ch: str) -> bool:
    o = ord(ch)
    i = bisect.bisect_right(_UNSPACED_STARTS, o) - 1
    return i >= 0 and o <= UNSPACED_RANGES[i][1]


def is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M"


def blocks(ch: str) -> bool:
    """True when `ch` next to a word character means "inside a word"."""
    return is_word(ch) and not is_unspaced(ch)


def boundary_ok(text: str, start: int, end: int) -> bool:
    """The match text[start:end] starts and ends at word boundaries."""
    if start > 0 and blocks(text[start]) and blocks(text[start - 1]):
        return False
    if end < len(text) and end > start and blocks(text[end - 1]) and blocks(text[end]):
        return False
    return True


@lru_cache(maxsize=1)
def marks_class() -> str:
    """A regex class body for combining marks of the BMP (not in Python's \\w)."""
    out, start, prev = [], None, None
    for cp in range(0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        if unicodedata.category(chr(cp))[0] == "M":
            if start is None:
                start = cp
            elif cp != prev + 1:
                out.append((start, prev))
                start = cp
            prev = cp
    if start is not None:
        out.append((start, prev))
    return "".join(f"{chr(a)}-{chr(b)}" if a != b else chr(a) for a, b in out)


@lru_cache(maxsize=1)
def blocking_pattern() -> str:
    """Regex for one character that `blocks` (usable inside lookarounds)."""
    return f"(?:(?![{UNSPACED_CLASS}])[\\w{marks_class()}])"


# --- regions -----------------------------------------------------------------


def _minus_urls(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s, e in spans:
        pos = s
        for m in _URL.finditer(text, s, e):
            if m.start() > pos:
                out.append((pos, m.start()))
            pos = m.end()
        if pos < e:
            out.append((pos, e))
    return out


def _tag_name(piece: str) -> str | None:
    m = _START_TAG.match(piece)
    return m.group(1).lower() if m else None


def _attr_values(piece: str) -> list[tuple[int, int]]:
    """Offsets (within the tag) of the values of translatable attributes."""
    m = _START_TAG.match(piece)
    if not m:
        return []
    out = []
    for a in _ATTR.finditer(piece, m.end(), len(piece) - 1):
        if a.group(1).lower() in TRANSLATABLE_ATTRS:
            for g in (2, 3, 4):
                if a.group(g) is not None:
                    if a.end(g) > a.start(g):
                        out.append(a.span(g))
                    break
    return out


def mask_regions(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that may hold customer-facing words (see the docstring).
    Anything shaped like a tag is left alone even outside HTML fields, so
    masking never changes what `localize.text.html.structure` sees."""
    if "<" not in text:
        return _minus_urls(text, [(0, len(text))])
    spans, pos, raw_until = [], 0, None
    for is_markup, piece in tokens(text):
        if is_markup:
            name = _tag_name(piece)
            if raw_until is not None:
                if piece.lower().startswith(f"</{raw_until}"):
                    raw_until = None
            elif name is not None:
                spans.extend((pos + s, pos + e) for s, e in _attr_values(piece))
                if name in _RAW_TEXT and not piece.rstrip().endswith("/>"):
                    raw_until = name
        elif raw_until is None:
            spans.append((pos, pos + len(piece)))
        pos += len(piece)
    return _minus_urls(text, spans)


def visible_parts(text: str) -> list[str]:
    """What a reader sees, for checks that need no offsets: the plain text, or
    for HTML the visible text (inline tags removed, block tags as spaces,
    entities decoded) followed by each translatable attribute value. URLs are
    blanked out."""
    if not looks_like_html(text):
        return [_URL.sub(" ", text)]
    visible, attrs, raw_until = [], [], None
    for is_markup, piece in tokens(text):
        if is_markup:
            name = _tag_name(piece)
            closing = re.match(r"</([a-zA-Z][a-zA-Z0-9:-]*)", piece)
            if raw_until is not None:
                if closing and closing.group(1).lower() == raw_until:
                    raw_until = None
                continue
            if name is not None:
                attrs.extend(_html.unescape(piece[s:e]) for s, e in _attr_values(piece))
                if name in _RAW_TEXT and not piece.rstrip().endswith("/>"):
                    raw_until = name
            tag = name or (closing.group(1).lower() if closing else None)
            if tag not in _INLINE:
                visible.append(" ")
        elif raw_until is None:
            visible.append(piece)
    return [_URL.sub(" ", _html.unescape("".join(visible))), *(_URL.sub(" ", a) for a in attrs)]


# --- finding -----------------------------------------------------------------


def _region_end(starts: list[int], spans: list[tuple[int, int]], pos: int) -> int:
    """End of the region containing pos, or -1."""
    i = bisect.bisect_right(starts, pos) - 1
    if i >= 0 and spans[i][0] <= pos < spans[i][1]:
        return spans[i][1]
    return -1


def candidates(
    text: str,
    entries: Sequence,
    spans: list[tuple[int, int]] | None = None,
    *,
    suffixes: bool = False,
    folded: str | None = None,
) -> list[tuple[int, int, object]]:
    """Every (start, end, entry) where entry.source occurs at word boundaries
    inside one region (overlaps included). Case per entry.case_sensitive.
    `suffixes`: also accept an English plural/possessive after the term."""
    if spans is None:
        spans = _minus_urls(text, [(0, len(text))])
    spans = sorted(spans)
    starts = [s for s, _ in spans]
    folded = fold1(text) if folded is None else folded
    out = []
    for entry in entries:
        source = entry.source
        if not source:
            continue
        cs = entry.case_sensitive
        needle = source if cs else fold1(source)
        hay = text if cs else folded
        pos = hay.find(needle)
        while pos != -1:
            limit = _region_end(starts, spans, pos)
            end = pos + len(needle)
            if limit >= end:
                ends = [end]
                if suffixes and needle[-1].isascii() and needle[-1].isalpha():
                    ends += [end + len(s) for s in ENGLISH_SUFFIXES if folded.startswith(s, end)]
                for e in sorted(ends, reverse=True):
                    if e <= limit and boundary_ok(text, pos, e):
                        out.append((pos, e, entry))
                        break
            pos = hay.find(needle, pos + 1)
    return out


Match = tuple[int, int, object]  # (start, end, entry)


def select(cands: list[Match], taken: Sequence[tuple[int, int]] = ()) -> list[Match]:
    """Non-overlapping matches, longest first (ties: leftmost, then entry
    order); returned sorted by position. `taken` spans are already occupied."""
    order = sorted(range(len(cands)), key=lambda i: (-(cands[i][1] - cands[i][0]), cands[i][0], i))
    chosen: list[tuple[int, int]] = sorted(taken)
    picked = []
    for i in order:
        s, e, entry = cands[i]
        k = bisect.bisect_left(chosen, (s, e))
        if k > 0 and chosen[k - 1][1] > s:
            continue
        if k < len(chosen) and chosen[k][0] < e:
            continue
        chosen.insert(k, (s, e))
        picked.append((s, e, entry))
    picked.sort(key=lambda m: m[0])
    return picked


def find(text: str, entries: Sequence, spans: list[tuple[int, int]] | None = None, **kw) -> list[Match]:
    return select(candidates(text, entries, spans, **kw))
