"""What markup a text holds, as localize's tokenizer reads it, and what
markup an output has that its source does not.

The other reader, html5ever (through nh3), and the sanitizer live in
`html_safety`: a parsing trick must get past both to hide markup.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field
from functools import lru_cache

from localize.text.html import ATTR, TAG, TRANSLATABLE_ATTRS, tokens

NEVER_SCHEMES = frozenset({"javascript", "vbscript"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")  # browsers drop tabs and newlines inside URLs
_RAW_ELEMENT = re.compile(r"<(script|style)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>.*?</\1\s*>", re.S | re.I)
_STRAY = re.compile(r"<[A-Za-z!/?]")  # text that starts markup; unfinished, a template's next ">" completes it

# New markup that only changes how text looks: removed by the sanitizer, the rest of the output kept.
# Anything else (scripts, frames, forms, media, links, handlers, styles, URLs) is "active": it can run
# code, load or link something, or hide text, so a model that wrote it was steered and the cell is withheld.
FORMATTING_TAGS = frozenset(
    "b strong i em u s small sub sup mark span p br hr div h1 h2 h3 h4 h5 h6 ul ol li dl dt dd table thead"
    " tbody tfoot tr td th caption colgroup col blockquote code pre abbr cite q del ins figure figcaption"
    " section article header footer wbr".split()
)
FORMATTING_ATTRS = frozenset(
    {"class", "id", "title", "alt", "lang", "dir", "align", "valign", "colspan", "rowspan", "width", "height",
     "scope", "headers", "span", "start", "reversed", "type", "aria-label", "role"}
)


@dataclass
class Markup:
    """What markup a text contains, as localize's tokenizer reads it."""

    tags: set[str] = field(default_factory=set)
    attributes: dict[str, set[str]] = field(default_factory=dict)  # tag -> attribute names
    values: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (tag, attribute) -> decoded values
    schemes: set[str] = field(default_factory=set)  # URL schemes of attribute values
    comments: int = 0
    declarations: set[str] = field(default_factory=set)
    raw_elements: set[str] = field(default_factory=set)  # <script>/<style> elements as written
    stray: int = 0


@dataclass(frozen=True)
class Finding:
    what: str  # "<script>", "onerror= on <img>", "javascript: URL"
    active: bool  # can run, load, link or hide something (see FORMATTING_TAGS)


def scheme(value: str) -> str | None:
    """The URL scheme of an attribute value as a browser reads it ("java\\tscript:" is javascript)."""
    m = _SCHEME.match(_URL_NOISE.sub("", value).lower())
    return m.group(1) if m else None


def inventory(text: str) -> Markup:
    """Tags, attributes with their decoded values, comments, raw <script>/<style> elements, stray "<"."""
    found = Markup(raw_elements={m.group(0) for m in _RAW_ELEMENT.finditer(text)})
    for is_markup, piece in tokens(text):
        if not is_markup:
            found.stray += len(_STRAY.findall(piece))
        elif piece.startswith("<!--"):
            found.comments += 1
        elif piece.startswith("<!"):
            found.declarations.add(piece.lower())
        elif m := TAG.match(piece):
            _add_tag(found, m)
        else:
            found.stray += 1
    return found


def _add_tag(found: Markup, m: re.Match) -> None:
    closing, name, rest, _ = m.groups()
    name = name.lower()
    found.tags.add(name)
    if closing:
        return
    names = found.attributes.setdefault(name, set())
    for a in ATTR.finditer(rest):
        key = a.group(1).lower()
        names.add(key)
        value = _html.unescape(next((g for g in a.groups()[1:] if g is not None), ""))
        found.values.setdefault((name, key), set()).add(value)
        if (s := scheme(value)) is not None:
            found.schemes.add(s)


@lru_cache(maxsize=1024)
def source_inventory(source: str) -> Markup:
    return inventory(source)  # cached: a page is vetted once per locale (callers never mutate it)


def short(value: str, n: int = 40) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


def tokenizer_findings(output: str, source: str) -> tuple[list[Finding], Markup]:
    """Markup in `output` that `source` lacks, as localize's tokenizer reads both (and the output's inventory)."""
    out, src = inventory(output), source_inventory(source)
    found = [Finding(f"<{t}>", t not in FORMATTING_TAGS) for t in sorted(out.tags - src.tags)]
    for tag, names in sorted(out.attributes.items()):
        allowed = src.attributes.get(tag, set())
        found += [Finding(f"{n}= on <{tag}>", n not in FORMATTING_ATTRS) for n in sorted(names - allowed)]
        for name in sorted(names & allowed - TRANSLATABLE_ATTRS):  # alt, title: translated text, any value
            new = out.values.get((tag, name), set()) - src.values.get((tag, name), set())
            found += [Finding(f'{name}="{short(v)}" on <{tag}>', name not in FORMATTING_ATTRS) for v in sorted(new)]
    dangerous = {scheme(v) for vs in out.values.values() for v in vs} & NEVER_SCHEMES
    found += [Finding(f"{s}: URL", True) for s in sorted(dangerous)]
    if "data" in out.schemes and "data" not in src.schemes:
        found.append(Finding("data: URL", True))
    if out.comments and not src.comments:
        found.append(Finding("HTML comment", False))
    found += [Finding(f"declaration {short(d)}", False) for d in sorted(out.declarations - src.declarations)]
    found += [Finding(f"{short(e, 30)} changed", True) for e in sorted(out.raw_elements - src.raw_elements)]
    if out.stray > src.stray:
        found.append(Finding("unfinished tag", True))  # the shop template's next ">" would complete it
    return found, out


def attribute_text(text: str) -> str:
    """alt, title and other translated attribute values: text a shopper or a search engine reads."""
    found = inventory(text) if "<" in text else Markup()
    return " ".join(v for (_, name), vs in sorted(found.values.items()) if name in TRANSLATABLE_ATTRS for v in vs)
