"""Byte-preserving CSV/TSV output: each record comes back as it was written.

A reader keeps the raw text of every record it parses (`LineRecorder`), and a
writer sends it back unchanged: the quoting, the empty-field style (`,,` or
`,"",`), the line ending of that record, blank lines before it. Only new text
is new: cells appended as added columns, and cells whose value changed (a
localized field in a per-locale file), which are quoted only when CSV needs
it (the delimiter, a quote, CR or LF inside). Those are the only bytes a diff
of input and output shows.

The raw text is decoded text, so a file read in another encoding comes back
as the same text in UTF-8, the output encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    import polars as pl

_TERMINATOR = re.compile(r"(?:\r\n|\r|\n)\Z")
_BLANK_LINES = re.compile(r"\A(?:\r\n|\r|\n)*")


class LineRecorder:
    """Hands a text stream's lines to csv.reader and keeps them, so that after
    each record the lines it was parsed from can be taken. The csv reader
    pulls a line only when the record needs one, so what is taken after a
    record is exactly that record (plus blank lines before it)."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)
        self._taken: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def take(self) -> str:
        text = "".join(self._taken)
        self._taken.clear()
        return text


@dataclass(frozen=True)
class RawBatch:
    """The raw text of each record of one batch, the frame they were parsed
    to (to see which cells a writer changed), and for the last batch the
    blank lines that end the file."""

    records: list[str]
    frame: "pl.DataFrame"
    tail: str = ""


def split_terminator(record: str) -> tuple[str, str]:
    """(text, line ending); the ending is "" for a last line without one."""
    m = _TERMINATOR.search(record)
    return (record[: m.start()], m.group()) if m else (record, "")


def split_fields(text: str, delimiter: str) -> list[str]:
    """A record's raw fields, quotes and all. `text` is one record that the
    strict csv reader accepted, without its line ending: a field is quoted
    when it starts with a quote (a quote elsewhere is a literal character)."""
    field = _field_pattern(delimiter)
    fields, pos = [], 0
    while True:
        m = field.match(text, pos)
        fields.append(m.group())
        pos = m.end()
        if pos >= len(text):
            return fields
        pos += 1  # the delimiter


_FIELD_PATTERNS: dict[str, re.Pattern] = {}


def _field_pattern(delimiter: str) -> re.Pattern:
    if delimiter not in _FIELD_PATTERNS:
        d = re.escape(delimiter)
        _FIELD_PATTERNS[delimiter] = re.compile(rf'"(?:[^"]|"")*"|[^{d}"\r\n][^{d}\r\n]*|', re.DOTALL)
    return _FIELD_PATTERNS[delimiter]


def quote(value, delimiter: str) -> str:
    """A new cell as CSV needs it: quoted only when it holds the delimiter, a
    quote, CR or LF; None is an empty cell."""
    if value is None:
        return ""
    text = str(value)
    if delimiter in text or any(c in text for c in '"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def header_text(raw_header: str, extra: list[str], delimiter: str, terminator: str) -> str:
    """The input's header line as it was, then the names of added columns."""
    text, ending = split_terminator(raw_header)
    return text + "".join(delimiter + quote(name, delimiter) for name in extra) + (ending or terminator)


def records_text(records: list[str], changed: dict[int, tuple[list, list]], added: list[list],
                 delimiter: str) -> str:
    """The batch's records as they were, with changed cells replaced and added
    cells appended. `changed`: column index -> (new values, values read) of
    the columns where some value differs; `added`: the added columns' values."""
    out = []
    for row, record in enumerate(records):
        prefix = _BLANK_LINES.match(record).group()  # blank lines are kept, not counted as rows
        text, ending = split_terminator(record[len(prefix):])
        swaps = [(i, new[row]) for i, (new, old) in changed.items() if (new[row] or "") != old[row]]
        if swaps:
            fields = split_fields(text, delimiter)
            for i, value in swaps:
                fields[i] = quote(value, delimiter)
            text = delimiter.join(fields)
        text += "".join(delimiter + quote(values[row], delimiter) for values in added)
        if not text:
            text = '""'  # a lone empty cell would be a blank line, which readers skip
        out.append(prefix + text + ending)
    return "".join(out)
