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

import itertools
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


def split_fields(text: str, delimiter: str, count: int) -> tuple[list[str], str | None]:
    """A record's first `count` raw fields, quotes and all, and the raw text
    after the delimiter that follows them (None when they are all the fields).
    `text` is one record that the strict csv reader accepted, without its line
    ending: a field is quoted when it starts with a quote (a quote elsewhere is
    a literal character). Splitting stops early: only cells up to the last one
    to change need it."""
    fields, end = [], None
    for m in itertools.islice(_field_pattern(delimiter).finditer(text), count):
        fields.append(m.group(1))
        end = m
    rest = text[end.end():] if end is not None and end.end() > end.end(1) else None
    return fields, rest


_FIELD_PATTERNS: dict[str, re.Pattern] = {}


def _field_pattern(delimiter: str) -> re.Pattern:
    """One field and the delimiter (or the end) after it."""
    if delimiter not in _FIELD_PATTERNS:
        d = re.escape(delimiter)
        _FIELD_PATTERNS[delimiter] = re.compile(rf'("[^"]*(?:""[^"]*)*"|[^{d}"\r\n][^{d}\r\n]*|)(?:{d}|\Z)')
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


def quoted_cells(column: "pl.Expr", delimiter: str) -> "pl.Expr":
    """`quote`, column-wise in polars: the cells of an added column as CSV text."""
    import polars as pl

    text = column.cast(pl.String)
    needs_quotes = text.str.contains_any([delimiter, '"', "\r", "\n"])
    return (pl.when(needs_quotes).then(pl.lit('"') + text.str.replace_all('"', '""', literal=True) + pl.lit('"'))
            .otherwise(text).fill_null(""))


def records_text(records: list[str], changed: dict[int, tuple[list, list]], appended: list[str] | None,
                 delimiter: str) -> str:
    """The batch's records as they were, with changed cells replaced and the
    added cells appended. `changed`: column index -> (new values, values read)
    of the columns where some value differs; `appended`: per record, the added
    cells as CSV text, each after a delimiter (see `quoted_cells`)."""
    out = []
    for row, record in enumerate(records):
        prefix = _BLANK_LINES.match(record).group() if record[:1] in ("\r", "\n") else ""
        ending = "\r\n" if record.endswith("\r\n") else record[-1:] if record[-1:] in ("\r", "\n") else ""
        text = record[len(prefix): len(record) - len(ending)]
        swaps = [(i, new[row]) for i, (new, old) in changed.items() if (new[row] or "") != old[row]]
        if swaps:
            fields, rest = split_fields(text, delimiter, max(i for i, _ in swaps) + 1)
            for i, value in swaps:
                fields[i] = quote(value, delimiter)
            text = delimiter.join(fields) + ("" if rest is None else delimiter + rest)
        if appended is not None:
            text += appended[row]
        out.append(prefix + (text or '""') + ending)  # a lone empty cell would be a blank line
    return "".join(out)
