"""What every check looks at: one (source, output) pair, and the views of it
that several checks share (its plain text, whether it is HTML).

"Is this HTML?" has one answer for a run and for `localize eval`: the kind
says so, or the source holds markup as localize's tokenizer reads it (a tag,
a comment: "<3 pack" is not markup, "H<sub>2</sub>O" is).
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass
from functools import cached_property

from localize.text.html import has_markup, tokens


def is_html(kind: str, source: str | None) -> bool:
    return kind == "html" or has_markup(source or "")


def plain_text(text: str) -> str:
    """The text of HTML with every tag turned into a space, entities decoded, whitespace collapsed.

    Unlike `html.visible_text`, words on both sides of a tag stay apart
    (`<li>Bluetooth</li><li>5.3</li>` gives "Bluetooth 5.3", not "Bluetooth5.3"),
    so numbers, codes and n-grams are not glued across list items and cells.
    """
    return " ".join(_html.unescape(" ".join(piece for markup, piece in tokens(text) if not markup)).split())


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


@dataclass(frozen=True)
class Pair:
    """One output of one source in one target language: the argument of every check.

    `source` None: line files given without a source (only the empty-output and
    language checks can run). `identifier` None: the language is not judged
    (`localize eval --no-language-id`)."""

    source: str | None
    output: str
    kind: str  # title | text | html | label
    language: str  # the target's language subtag ("es", "pt")
    max_chars: int | None = None  # the market's limit for this field
    identifier: object | None = None  # a langid.LanguageIdentifier

    @property
    def empty(self) -> bool:
        return not self.output.strip()

    @cached_property
    def html(self) -> bool:
        return is_html(self.kind, self.source)

    @cached_property
    def source_text(self) -> str:
        """The source as read: plain text for HTML (tags are the structure check's)."""
        source = self.source or ""
        return plain_text(source) if self.html else source

    @cached_property
    def output_text(self) -> str:
        return plain_text(self.output) if self.html else self.output
