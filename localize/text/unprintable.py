"""Characters no listing may contain, and the test for a text every output format can write.

A model's answer can carry what no product listing should: NUL, BEL, terminal
escape sequences (ESC [ 31 m), other control characters, Unicode
noncharacters (U+FFFF) and lone surrogates. Some would break the output
(XML, and so .xlsx, cannot hold U+0000-U+0008 or U+FFFF; UTF-8 cannot hold a
lone surrogate), the rest would reach a shop page or a terminal. They are
removed from every answer; tabs and line breaks stay only where the source
had them.
"""

from __future__ import annotations

import re

# Terminal escape sequences, removed whole (not only their ESC, or "[31m" would stay):
# CSI (ESC [ or the 8-bit CSI) params intermediates final; OSC up to BEL or ESC \.
_ESCAPE_SEQUENCE = re.compile(
    "(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]"
    "|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)"  # unterminated, only its number goes:
    "|\x1b\\][0-9;]*"  # a terminal would hide the rest of the text, a listing must not lose it
)  # Two-character ones (ESC M) lose only their ESC: the letter may be the listing's own.
_ASTRAL_NONCHARACTERS = "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(1, 17))
# C0 controls but tab, LF and CR; DEL and the C1 controls; noncharacters; surrogates.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff" + _ASTRAL_NONCHARACTERS + "]"
)
# What some output format cannot write at all: XML 1.0's illegal characters and lone surrogates.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# What a terminal skips inside an escape sequence (it carries on with the
# sequence): every character of _UNPRINTABLE but the two that start one and BEL.
_INSIDE_SEQUENCES = re.compile("(?![\x1b\x9b\x07])" + _UNPRINTABLE.pattern)  # BEL ends an OSC


def remove_unprintable(text: str) -> str:
    """`text` without escape sequences, control characters (tab, LF and CR
    kept), noncharacters and lone surrogates. A NUL inside "ESC [ 3 1 m" must
    not leave "[31m" behind, so the sequences go after the other controls."""
    return _UNPRINTABLE.sub("", _ESCAPE_SEQUENCE.sub("", _INSIDE_SEQUENCES.sub("", text)))


def breaks_like_source(text: str, source: str, one_line: bool = True) -> str:
    """Tabs and line breaks of `text` only where `source` has that kind: a
    one-line title does not become two lines, nor gain a tab. A description
    (`one_line=False`) may gain a paragraph break; a CR or a tab it may not."""
    if "\r" not in source:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if one_line and "\n" not in source:
        text = re.sub(r"[ \t]*\n[ \t\n]*", " ", text)
    if "\t" not in source:
        text = text.replace("\t", " ")
    return text


def writable(text: str) -> bool:
    """True when every output format (CSV/TSV in UTF-8, .xlsx, Parquet) can hold `text`."""
    return _UNWRITABLE.search(text) is None
