"""HTML detail pages: tag-structure signatures, safe splitting, visible text.

A regex tokenizer rather than a DOM parser on purpose: seller HTML is often
broken (unclosed <p>, stray </div>), and we must compare and split it exactly
as written, never "repair" it. Joining the pieces of `split_blocks` gives the
input back byte for byte.
"""

from __future__ import annotations

import html as _html
import re

# A quoted attribute value may contain ">" (alt="5 > 3"): quotes are consumed whole.
_TOKEN = re.compile(r"""<!--.*?-->|<![^>]*>|<[/a-zA-Z](?:[^>"']|"[^"]*"|'[^']*')*>""", re.S)
TAG = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""", re.S)
ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_LOOKS_HTML = re.compile(r"<(p|div|br|ul|ol|li|h[1-6]|span|strong|b|i|em|table|tr|td|a|img)\b[^>]*>", re.I)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Attribute values that are customer-facing text: translated, so only their presence is compared.
TRANSLATABLE_ATTRS = {"alt", "title", "placeholder", "aria-label", "label"}


def looks_like_html(text: str) -> bool:
    """Common page markup (<p>, <li>, <a>, ...): a description cell is an HTML page."""
    return bool(_LOOKS_HTML.search(text))


def has_markup(text: str) -> bool:
    """Any tag, comment or declaration as `tokens` reads them ("<3 pack" has none)."""
    return bool(_TOKEN.search(text))


def tokens(text: str) -> list[tuple[bool, str]]:
    """Split into (is_markup, piece) pairs covering the whole text."""
    out, pos = [], 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos : m.start()]))
        out.append((True, m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def _tag_signature(markup: str) -> tuple:
    if markup.startswith("<!--"):
        return ("comment",)
    if markup.startswith("<!"):
        return ("decl", markup.lower())
    m = TAG.match(markup)
    if not m:
        return ("raw", markup)
    closing, name, rest, selfclose = m.groups()
    attrs = []
    for a in ATTR.finditer(rest):
        key = a.group(1).lower()
        value = next((g for g in a.groups()[1:] if g is not None), None)
        if key in TRANSLATABLE_ATTRS:
            value = "<text>" if value else value
        attrs.append((key, value))
    return ("end" if closing else "start", name.lower(), tuple(sorted(attrs)))


def structure(text: str) -> list[tuple]:
    """The tag skeleton: tags in order with attributes (translatable values masked)."""
    return [_tag_signature(piece) for is_markup, piece in tokens(text) if is_markup]


def structure_diff(source: str, output: str) -> str | None:
    """None when the tag structure is identical, else a short human description."""
    a, b = structure(source), structure(output)
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"tag {i + 1}: expected {_show(x)}, got {_show(y)}"
    if len(a) > len(b):
        return f"{len(a) - len(b)} tag(s) missing, first {_show(a[len(b)])}"
    return f"{len(b) - len(a)} extra tag(s), first {_show(b[len(a)])}"


def _show(sig: tuple) -> str:
    if sig[0] in ("start", "end"):
        attrs = "".join(f" {k}" + (f'="{v}"' if v is not None else "") for k, v in sig[2])
        return f"<{'/' if sig[0] == 'end' else ''}{sig[1]}{attrs}>"
    return sig[0]


# Tags that separate what a browser shows (cells, items, lines): a space, not nothing,
# or "USB-C</td><td>65 W" would read "USB-C65 W".
_SEPARATING = {"p", "div", "br", "li", "td", "th", "tr", "ul", "ol", "table", "hr", "dd", "dt",
               "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "blockquote"}


def visible_text(text: str) -> str:
    """Text a shopper sees: tags removed, entities decoded, whitespace collapsed."""
    parts = []
    for is_markup, piece in tokens(text):
        if not is_markup:
            parts.append(piece)
        elif (sig := _tag_signature(piece))[0] in ("start", "end") and sig[1] in _SEPARATING:
            parts.append(" ")
    return " ".join(_html.unescape("".join(parts)).split())


def has_text(text: str) -> bool:
    return any(ch.isalpha() for ch in visible_text(text))


# Containers whose children are separate blocks; a long one is split between
# its children. Sentences live in <p>, <li>, <h*>, <td>: those are never cut.
BLOCK_CONTAINERS = {"ul", "ol", "dl", "div", "section", "article", "table", "thead", "tbody", "tfoot", "tr", "blockquote"}


def _opens(sig: tuple, piece: str) -> bool:
    return sig[0] == "start" and sig[1] not in VOID and not piece.rstrip().endswith("/>")


def _top_level_units(text: str) -> list[str]:
    """Consecutive complete top-level nodes; an unclosed tail is one unit."""
    units, start, depth, pos = [], 0, 0, 0
    for is_markup, piece in tokens(text):
        pos += len(piece)
        if is_markup:
            sig = _tag_signature(piece)
            if _opens(sig, piece):
                depth += 1
            elif sig[0] == "end":
                depth = max(0, depth - 1)
        if depth == 0:
            units.append(text[start:pos])
            start = pos
    if start < len(text):
        units.append(text[start:])
    return units


def _split_container(unit: str, max_chars: int) -> list[str]:
    toks = tokens(unit)
    if len(toks) >= 2 and toks[0][0] and toks[-1][0]:
        first, last = _tag_signature(toks[0][1]), _tag_signature(toks[-1][1])
        if first[0] == "start" and last[0] == "end" and first[1] == last[1] and first[1] in BLOCK_CONTAINERS:
            head, tail = toks[0][1], toks[-1][1]
            return [head, *split_blocks(unit[len(head) : len(unit) - len(tail)], max_chars), tail]
    return [unit]


def split_blocks(text: str, max_chars: int) -> list[str]:
    """Cut long HTML into pieces of at most ~max_chars between block elements.

    Small models translate short pieces far more faithfully, and identical
    pieces (a shared care-instructions list) are then generated once. Cuts fall
    between complete top-level nodes, or between the children of a long block
    container (<ul>, <table>, <div>: its own tags become text-free pieces);
    never inside a paragraph or list item. "".join(pieces) == text always.
    """
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for unit in _top_level_units(text):
        if len(unit) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.extend(_split_container(unit, max_chars))
        elif current and len(current) + len(unit) > max_chars and unit.strip():
            pieces.append(current)
            current = unit
        else:
            current += unit
    if current:
        pieces.append(current)
    # Whitespace-only pieces are merged into their neighbours.
    merged: list[str] = []
    for p in pieces:
        if merged and not p.strip():
            merged[-1] += p
        else:
            merged.append(p)
    return merged
