"""CSV/TSV reading and writing.

Parsing uses Python's C-implemented `csv` module (strict mode), not polars'
CSV reader, because polars cannot keep the promises made to sellers:
  * it silently fills a short row (fewer fields than the header) with
    null / "" and has no option to reject it;
  * on a last line without a newline it silently drops extra fields;
  * it rejects a literal quote inside an unquoted cell (`12" Pan`), and it
    reads a lone CR or `x\\r\\r\\n` differently from the csv module, which is
    the reference our byte-for-byte promise is stated against.
The csv module streams at roughly 80 MB/s, which is negligible next to one LLM
call per row, and it tells us the exact record number of every problem.
Writing uses polars' `write_csv`, one batch at a time, appended to the open file.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import polars as pl

from localize.errors import InputError, OutputError

DELIMITERS = {"csv": ",", "tsv": "\t"}

# A cell longer than this is almost certainly an unterminated quote that is
# swallowing the rest of the file; stop before it eats all memory.
FIELD_LIMIT = 16 * 1024 * 1024
_BOM = codecs.BOM_UTF8
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of invalid UTF-8
_RESAVE = "re-save it as UTF-8 (e.g. Excel: File > Save As > 'CSV UTF-8')"


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    line_terminator: str = "\n"  # "\n" or "\r\n", as in the input
    bom: bool = False


def _raise_field_limit() -> None:
    # Module-global setting; only ever raised, never lowered.
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)


def _line_terminator(head: bytes) -> str:
    """The terminator of the first record (the header), quote-aware so a
    quoted header name with a line break does not fool it."""
    in_quotes = False
    for i, byte in enumerate(head):
        if byte == 0x22:  # '"'
            in_quotes = not in_quotes
        elif not in_quotes and byte in (0x0A, 0x0D):
            return "\r\n" if head[i : i + 2] == b"\r\n" else "\n"
    return "\n"  # header-only file without a final newline


class CsvSource:
    """A validated CSV/TSV file: header, dialect, and a stream of records."""

    def __init__(self, path: Path, fmt: str):
        self.path = path
        self.delimiter = DELIMITERS[fmt]
        with open(path, "rb") as raw:
            head = raw.read(1 << 16)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise InputError(path, f"the file is UTF-16 encoded, not UTF-8; {_RESAVE}")
        bom = head.startswith(_BOM)
        if not head[len(_BOM) if bom else 0 :]:
            raise InputError(path, "the file is empty; expected a header row")
        self.dialect = CsvDialect(self.delimiter, _line_terminator(head), bom)
        _raise_field_limit()
        with self._open() as text:
            try:
                header = next(self._reader(text), None)
            except UnicodeDecodeError:
                raise self._locate_bad_utf8() from None
            except csv.Error as e:
                raise self._csv_error(e, None, 1) from None
        if not header:
            raise InputError(path, "the first line is blank; it must be the header row")
        dupes = sorted({name for name in header if header.count(name) > 1})
        if dupes:
            names = ", ".join(repr(n) for n in dupes)
            raise InputError(path, f"duplicate column names in the header: {names}; "
                             "every column needs a unique name")
        self.columns: list[str] = header

    def _open(self) -> IO[str]:
        # utf-8-sig drops a leading BOM; newline="" lets csv see embedded CR/LF.
        return open(self.path, encoding="utf-8-sig", errors="strict", newline="")

    def _reader(self, text: IO[str]):
        return csv.reader(text, delimiter=self.delimiter, quotechar='"',
                          doublequote=True, strict=True)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, fields) for every non-blank data record; the header is
        row 0. Blank lines hold no data and are skipped, but still counted so
        row numbers match what a spreadsheet shows."""
        width = len(self.columns)
        with self._open() as text:
            reader = self._reader(text)
            row = 0
            try:
                next(reader)
                for row, fields in enumerate(reader, start=1):
                    if len(fields) == width:
                        yield row, fields
                    elif fields:
                        raise self._ragged(row, fields)
            except UnicodeDecodeError:
                # The decoder reads ahead, so the failing chunk says little;
                # re-scan tolerantly to name the exact row and cell.
                raise self._locate_bad_utf8() from None
            except csv.Error as e:
                raise self._csv_error(e, row + 1, reader.line_num) from None

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        schema = {name: pl.String for name in self.columns}
        buf: list[list[str]] = []
        for _, fields in self.records():
            buf.append(fields)
            if len(buf) >= batch_rows:
                yield _frame(buf, schema)
                buf = []
        if buf:
            yield _frame(buf, schema)

    def count_rows(self, strict: bool = False) -> int | None:
        """Exact record count (quoted line breaks do not count) with the same
        parser the data goes through; None when the file is malformed, or the
        InputError naming the bad row when `strict`."""
        try:
            return sum(1 for _ in self.records())
        except InputError:
            if strict:
                raise
            return None

    # -- error reports ---------------------------------------------------
    def _ragged(self, row: int, fields: list[str]) -> InputError:
        width = len(self.columns)
        if len(fields) < width:
            return InputError(
                self.path,
                f"this row has {len(fields)} fields but the header has {width} "
                f"(values missing from column {self.columns[len(fields)]!r} on); "
                "check for a line break in an unquoted cell or a missing delimiter",
                row=row)
        return InputError(
            self.path,
            f"this row has {len(fields)} fields but the header has {width}; "
            "a cell probably contains an unquoted delimiter",
            row=row)

    def _csv_error(self, err: csv.Error, row: int | None, line: int) -> InputError:
        text = str(err)
        if "unexpected end of data" in text or "field larger than field limit" in text:
            # The open quote swallowed everything after it, so only the row
            # where it started is meaningful, not the current line.
            where = "cell that starts in this row" if row else "header name"
            msg = f'a quoted {where} is never closed: check for a stray "'

        elif "expected after" in text:
            msg = (f'a quoted cell has text after its closing quote (line {line}); '
                   'a " inside a cell must be doubled ("")')
        else:
            msg = f"not valid CSV (line {line}: {text})"
        return InputError(self.path, msg, row=row)

    def _locate_bad_utf8(self) -> InputError:
        with open(self.path, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
            names: list[str] = []
            try:
                for row, fields in enumerate(self._reader(text)):
                    names = names or fields
                    for name, cell in zip(names, fields):
                        if _BAD_BYTE.search(cell) or (row == 0 and _BAD_BYTE.search(name)):
                            if row == 0:
                                return InputError(self.path, "the header row is not valid "
                                                  f"UTF-8; {_RESAVE}")
                            return InputError(
                                self.path, f"the file is not valid UTF-8 (in this cell); {_RESAVE}",
                                row=row, column=name)
            except csv.Error:
                pass
        return InputError(self.path, f"the file is not valid UTF-8; {_RESAVE}")


def _frame(rows: list[list[str]], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(list(zip(*rows)), schema=schema, orient="col")


class CsvSink:
    """Appends polars batches to an open binary file as CSV/TSV."""

    def __init__(self, fh: IO[bytes], columns: list[str], dialect: CsvDialect,
                 dtypes: dict[str, pl.DataType], dest: Path):
        # Parquet input may hold lists/structs/bytes that a CSV cell cannot.
        for name, dtype in dtypes.items():
            if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
                raise OutputError(f"{dest}: column {name!r} holds {dtype} values, which CSV "
                                  "cannot represent; write Parquet (.parquet) instead")
        self._fh, self._columns, self._dialect = fh, columns, dialect
        header = pl.DataFrame(schema={name: pl.String for name in columns})
        self._write(header, include_header=True, include_bom=dialect.bom)

    def write(self, batch: pl.DataFrame) -> None:
        if batch.width == 1 and batch.null_count().item():
            # A lone empty field would be a blank line, which readers skip;
            # "" keeps the row.
            batch = batch.select(pl.all().cast(pl.String).fill_null(""))
        self._write(batch, include_header=False, include_bom=False)

    def _write(self, frame: pl.DataFrame, **kw) -> None:
        frame.write_csv(self._fh, separator=self._dialect.delimiter,
                        line_terminator=self._dialect.line_terminator,
                        quote_style="necessary", **kw)

    def close(self) -> None:
        pass  # nothing buffered beyond the file object itself

    def discard(self) -> None:
        pass
