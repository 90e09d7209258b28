"""Which cell made the csv module stop with "field larger than field limit".

The limit (`csv_format.FIELD_LIMIT`) is hit in two different ways: a cell
that really is that long, and a quote that never closes and swallows the rest
of the file into one cell. The csv module says the same for both; this scan
tells them apart, so the user reads the right fix. It follows the record from
its first line the way the strict csv reader does, jumping from quote to
quote (a 16 MB cell takes a fraction of a second), and keeps nothing but
counters in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class OversizedCell:
    field: int  # 0-based index of the cell in its record
    closed: bool  # False: its quote is never closed properly (a stray quote, not a long cell)


def find_oversized_cell(text: IO[str], delimiter: str, limit: int) -> OversizedCell | None:
    """`text` is positioned at the first line of the failing record. The first
    cell whose content is longer than `limit`, and whether it ends where a cell
    may end; None if the record holds no such cell."""
    stream = _Chars(text)
    unquoted_end = re.compile(f"[{re.escape(delimiter)}\r\n]")
    field = 0
    while True:
        length, closed, end = _cell(stream, delimiter, unquoted_end)
        if length > limit:
            return OversizedCell(field, closed)
        if end != delimiter:  # end of the record (a line break or the end of the file)
            return None
        field += 1


def _cell(stream: "_Chars", delimiter: str, unquoted_end: re.Pattern) -> tuple[int, bool, str]:
    """(content length, closed properly, what ended it: the delimiter, a line
    break, "" at the end of the file or after a quote that cannot close)."""
    if stream.peek() != '"':
        length = stream.skip_to(unquoted_end)
        return length, True, stream.take()
    stream.take()
    length = 0
    while True:
        length += stream.skip_quoted_text()
        if stream.take() != '"':
            return length, False, ""  # the end of the file inside the quotes
        after = stream.peek()
        if after == '"':  # a doubled quote is one quote of content
            stream.take()
            length += 1
            continue
        if after in (delimiter, "\r", "\n", ""):
            return length, True, stream.take()
        return length, False, ""  # text after the closing quote: the quote was a stray one


class _Chars:
    """A text stream read in chunks, with the two jumps the scan needs."""

    def __init__(self, text: IO[str]):
        self._text, self._buf, self._pos = text, "", 0

    def _fill(self) -> bool:
        chunk = self._text.read(CHUNK)
        self._buf, self._pos = self._buf[self._pos:] + chunk, 0
        return bool(chunk)

    def peek(self) -> str:
        if self._pos >= len(self._buf) and not self._fill():
            return ""
        return self._buf[self._pos]

    def take(self) -> str:
        char = self.peek()
        self._pos += len(char)
        return char

    def skip_to(self, pattern: re.Pattern) -> int:
        """Moves to the next match of `pattern` (or the end); returns the characters skipped."""
        skipped = 0
        while True:
            m = pattern.search(self._buf, self._pos)
            if m:
                skipped += m.start() - self._pos
                self._pos = m.start()
                return skipped
            skipped += len(self._buf) - self._pos
            self._pos = len(self._buf)
            if not self._fill():
                return skipped

    def skip_quoted_text(self) -> int:
        """Moves to the next quote that is not half of a doubled one; returns
        the characters of content skipped (a doubled quote is one)."""
        content = 0
        while True:
            m = _QUOTED_TEXT.match(self._buf, self._pos)
            content += m.end() - self._pos - m.group().count('"') // 2
            self._pos = m.end()
            if self._pos < len(self._buf) or not self._fill():
                return content


_QUOTED_TEXT = re.compile('[^"]*(?:""[^"]*)*')
