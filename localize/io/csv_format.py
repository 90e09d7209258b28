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
Writing gives back the raw text of each record read, plus the new cells
(localize.io.csv_raw), when the output has the input's format and delimiter;
otherwise (a conversion, or Parquet/XLSX input) polars' `write_csv` writes
each batch, appended to the open file.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import polars as pl

from localize.errors import InputError, OutputError
from localize.io import text_encoding
from localize.io.csv_oversize import OversizedCell, find_oversized_cell
from localize.io.csv_raw import LineRecorder, RawBatch, header_text, quoted_cells, records_text

DELIMITERS = {"csv": ",", "tsv": "\t"}
_DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab"}

# The most one cell may hold (in characters). Longer is almost always an
# unterminated quote swallowing the rest of the file, and the limit stops it
# before it eats all memory; a cell that really is longer is told apart
# (localize.io.csv_oversize) and refused with its own message.
FIELD_LIMIT = 16 * 1024 * 1024
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


def _header_line(head: str) -> tuple[str, dict[str, int]]:
    """The terminator of the first record (the header) and how often each
    candidate delimiter occurs in it, quote-aware so a quoted header name
    with a line break or a comma does not fool it."""
    counts = dict.fromkeys(_DELIMITER_NAMES, 0)
    in_quotes = False
    for i, char in enumerate(head):
        if char == '"':
            in_quotes = not in_quotes
        elif in_quotes:
            continue
        elif char in "\r\n":
            return ("\r\n" if head[i : i + 2] == "\r\n" else "\n"), counts
        elif char in counts:
            counts[char] += 1
    return "\n", counts  # header-only file without a final newline


def _delimiter(fmt: str, counts: dict[str, int], head: str) -> str:
    """',' for .csv, unless the header has no comma but ';' (what Excel saves
    as "CSV" in most of continental Europe) or tabs, splitting it into two
    named columns or more, and the data rows in `head` into as many."""
    if fmt == "tsv" or counts[","]:
        return DELIMITERS[fmt]
    for candidate in sorted((";", "\t"), key=counts.__getitem__, reverse=True):
        if counts[candidate] and _splits_evenly(head, candidate):
            return candidate
    return ","


def _splits_evenly(head: str, delimiter: str) -> bool:
    try:
        records = [r for r in itertools.islice(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter),
                                               200) if r]
    except csv.Error:
        return False
    header, data = records[0], records[1:]
    data = data[:-1] if len(data) > 1 else data  # the head may end inside the last record
    named = sum(1 for name in header if name.strip())
    return named >= 2 and bool(data) and all(len(row) == len(header) for row in data)


def _short(name: str, limit: int = 80) -> str:
    # A header "name" can be a megabyte of text from a broken file; keep messages one short line.
    return name if len(name) <= limit else name[: limit - 1] + "…"


class CsvSource:
    """A validated CSV/TSV file: header, dialect, encoding, and a stream of records.

    `encoding` (a Python codec name, from --encoding) skips detection; see
    localize.io.text_encoding. `notices` holds the lines worth telling the
    user before the run: an encoding that was guessed, a ';' delimiter."""

    def __init__(self, path: Path, fmt: str, encoding: str | None = None):
        self.path = path
        with open(path, "rb") as raw:
            head = raw.read(text_encoding.HEAD_BYTES)
        self.encoding = text_encoding.resolve(path, head, encoding)
        text_head = head.decode(self.encoding.codec, errors="replace").removeprefix("\ufeff")
        if not text_head:
            raise InputError(path, "the file is empty; expected a header row")
        terminator, counts = _header_line(text_head)
        self.delimiter = _delimiter(fmt, counts, text_head)
        self.dialect = CsvDialect(self.delimiter, terminator, self.encoding.bom)
        self.notices = [note for note in (self.encoding.notice(path),) if note]
        if self.delimiter != DELIMITERS[fmt]:
            self.notices.append(f"{path}: the header has no comma; read with "
                                f"{_DELIMITER_NAMES[self.delimiter]} as the delimiter (kept in CSV output)")
        _raise_field_limit()
        try:
            with self._open() as text:
                lines = LineRecorder(text)
                header = next(self._reader(lines), None)
                self.raw_header = lines.take().removeprefix("\ufeff")  # the header line as written
        except UnicodeDecodeError:
            raise self._locate_undecodable() from None
        except csv.Error as e:
            raise self._csv_error(e, None, 1, 0) from None
        if not header:
            raise InputError(path, "the first line is blank; it must be the header row")
        header[0] = header[0].removeprefix("\ufeff")  # a BOM the named --encoding kept
        self.columns: list[str] = header
        self.raw_batch: RawBatch | None = None
        self.raw_tail = ""
        self._check_header()

    def _check_header(self) -> None:
        header = self.columns
        unnamed = [str(i + 1) for i, name in enumerate(header) if not name.strip()]
        if len(unnamed) > 1:
            raise InputError(self.path, f"columns {', '.join(unnamed[:10])} of the header have no name; "
                             "give every column a unique name (one unnamed column is allowed)")
        dupes = sorted(name for name, n in Counter(header).items() if n > 1)  # linear: a header can be huge
        if dupes:
            names = ", ".join(repr(_short(n)) for n in dupes[:10])
            raise InputError(self.path, f"duplicate column names in the header: {names}; "
                             "every column needs a unique name")

    def _open(self, errors: str = "strict") -> IO[str]:
        # newline="" lets csv see embedded CR/LF; utf-8-sig and utf-16 drop the BOM.
        return open(self.path, encoding=self.encoding.codec, errors=errors, newline="")

    def _reader(self, text: IO[str]):
        return csv.reader(text, delimiter=self.delimiter, quotechar='"',
                          doublequote=True, strict=True)

    def records(self, raw: bool = False) -> Iterator[tuple[int, list[str], str]]:
        """(row number, fields, raw text) for every non-blank data record; the
        header is row 0. Blank lines hold no data and are skipped, but still
        counted so row numbers match what a spreadsheet shows; with `raw`, the
        record's text as read (blank lines before it included), else ""."""
        width = len(self.columns)
        with self._open() as text:
            lines = LineRecorder(text) if raw else text
            take = lines.take if raw else (lambda: "")
            reader = self._reader(lines)
            row = lines_before = 0  # lines_before: physical lines up to the last good record
            try:
                next(reader)
                take()
                lines_before = reader.line_num
                for row, fields in enumerate(reader, start=1):
                    if len(fields) == width:
                        yield row, fields, take()
                    elif fields:
                        raise self._ragged(row, fields)
                    lines_before = reader.line_num
                self.raw_tail = take()  # blank lines after the last record
            except UnicodeDecodeError:
                # The decoder reads ahead, so the failing chunk says little;
                # re-scan tolerantly to name the exact row and cell.
                raise self._locate_undecodable() from None
            except csv.Error as e:
                raise self._csv_error(e, row + 1, reader.line_num, lines_before) from None

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        """Frames of `batch_rows` records; `raw_batch` holds the raw text of
        the records of the frame last yielded (for byte-preserving output)."""
        schema = {name: pl.String for name in self.columns}
        buf: list[list[str]] = []
        raw: list[str] = []
        for _, fields, text in self.records(raw=True):
            if len(buf) >= batch_rows:  # a full batch goes once another record follows, so the
                yield self._keep_raw(_frame(buf, schema), raw)  # last one can carry the file's end
                buf, raw = [], []
            buf.append(fields)
            raw.append(text)
        if buf:
            yield self._keep_raw(_frame(buf, schema), raw, self.raw_tail)
        self.raw_batch = None

    def _keep_raw(self, frame: pl.DataFrame, records: list[str], tail: str = "") -> pl.DataFrame:
        self.raw_batch = RawBatch(records, frame, tail)
        return frame

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
                f"(values missing from column {_short(self.columns[len(fields)])!r} on); "
                "check for a line break in an unquoted cell or a missing delimiter",
                row=row)
        return InputError(
            self.path,
            f"this row has {len(fields)} fields but the header has {width} "
            f"(extra values after column {_short(self.columns[-1])!r}); "
            "a cell probably contains an unquoted delimiter",
            row=row)

    def _csv_error(self, err: csv.Error, row: int | None, line: int, lines_before: int) -> InputError:
        text = str(err)
        column = None
        if "field larger than field limit" in text:
            oversized = self._oversized_cell(lines_before)
            if oversized is not None and oversized.closed:
                return self._too_large(oversized.field, row)
        if "unexpected end of data" in text or "field larger than field limit" in text:
            # The open quote swallowed everything after it, so only the row
            # where it started is meaningful, not the current line.
            where = "cell that starts in this row" if row else "header name"
            msg = f'a quoted {where} is never closed: check for a stray "'
            if row:
                column = self._unclosed_quote_column(lines_before)
        elif "expected after" in text:
            msg = (f'a quoted cell has text after its closing quote (line {line}); '
                   'a " inside a cell must be doubled ("")')
        else:
            msg = f"not valid CSV (line {line}: {text})"
        return InputError(self.path, msg, row=row, column=column)

    def _oversized_cell(self, lines_before: int) -> OversizedCell | None:
        with self._open(errors="localize-mark") as text:
            for _ in range(lines_before):
                text.readline()
            return find_oversized_cell(text, self.delimiter, FIELD_LIMIT)

    def _too_large(self, field: int, row: int | None) -> InputError:
        limit = f"{FIELD_LIMIT:,} characters ({FIELD_LIMIT // (1024 * 1024)} MB), the most one cell may hold"
        if row is None:
            return InputError(self.path, f"header name {field + 1} is longer than {limit}")
        column = _short(self.columns[field]) if field < len(self.columns) else None
        where = "this cell" if column is not None else f"cell {field + 1} of this row"
        return InputError(self.path, f"{where} is longer than {limit}", row=row, column=column)

    def _unclosed_quote_column(self, lines_before: int) -> str | None:
        """The column whose quote never closes: re-reads the first physical
        line of the failing record and follows its quotes."""
        with self._open(errors="localize-mark") as text:
            line = next(itertools.islice(text, lines_before, None), "")
        field, open_in, at_start, just_closed = 0, None, True, False
        for char in line:
            if open_in is not None:
                if char == '"':
                    open_in, just_closed = None, True
                continue
            # strict csv: a quote opens a cell only at its start ("" re-opens);
            # elsewhere (12" Pan) it is a literal character
            if char == '"' and (at_start or just_closed):
                open_in = field
            elif char == self.delimiter:
                field += 1
            at_start, just_closed = char == self.delimiter, False
        if open_in is None or open_in >= len(self.columns):
            return None
        return _short(self.columns[open_in])

    def _locate_undecodable(self) -> InputError:
        with self._open(errors="localize-mark") as text:
            names: list[str] = []
            try:
                for row, fields in enumerate(self._reader(text)):
                    names = names or fields
                    for i, cell in enumerate(fields):
                        if text_encoding.UNDECODABLE not in cell:
                            continue
                        if row == 0:
                            return InputError(self.path, f"the header row {self._undecodable()}")
                        column = _short(names[i]) if i < len(names) else None
                        return InputError(self.path, f"this cell {self._undecodable()}",
                                          row=row, column=column)
            except csv.Error:
                pass
        return InputError(self.path, f"the file {self._undecodable()}")

    def _undecodable(self) -> str:
        enc = self.encoding
        if enc.given:
            return (f"is not valid {enc.label}, the encoding named with --encoding; "
                    "name the right one, or leave --encoding out to detect it")
        if enc.detected:
            return (f"cannot be read as {enc.label}, the encoding detected; "
                    "name the right one with --encoding")
        if enc.mixed:
            return ("is not valid UTF-8, although the text before it is: the file mixes encodings; "
                    f"{_RESAVE}, or name its encoding with --encoding")
        return f"is not valid {enc.label}; {_RESAVE}, or name its encoding with --encoding"


def _frame(rows: list[list[str]], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(list(zip(*rows)), schema=schema, orient="col")


class CsvSink:
    """Appends batches to an open binary file as CSV/TSV.

    With `raw_header` (the input's header line, when the input is CSV/TSV with
    the same delimiter) the output is byte-preserving (localize.io.csv_raw):
    every batch that comes with its `RawBatch` is written as the input's
    records plus the new cells. Otherwise polars writes each batch."""

    def __init__(self, fh: IO[bytes], columns: list[str], dialect: CsvDialect,
                 dtypes: dict[str, pl.DataType], dest: Path, raw_header: str | None = None,
                 input_columns: int | None = None):
        # Parquet input may hold lists/structs/bytes that a CSV cell cannot.
        for name, dtype in dtypes.items():
            if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
                raise OutputError(f"{dest}: column {name!r} holds {dtype} values, which CSV "
                                  "cannot represent; write Parquet (.parquet) instead")
        self._fh, self._columns, self._dialect = fh, columns, dialect
        self._input_columns = len(columns) if input_columns is None else input_columns
        self._raw = raw_header is not None
        if self._raw:
            if dialect.bom:
                fh.write("\ufeff".encode())
            added = columns[self._input_columns:]
            fh.write(header_text(raw_header, added, dialect.delimiter, dialect.line_terminator).encode())
        else:
            header = pl.DataFrame(schema={name: pl.String for name in columns})
            self._write(header, include_header=True, include_bom=dialect.bom)

    def write(self, batch: pl.DataFrame, raw: RawBatch | None = None) -> None:
        if self._raw and raw is not None and len(raw.records) == batch.height:
            self._fh.write(self._raw_text(batch, raw).encode())
            return
        if batch.width == 1 and batch.null_count().item():
            # A lone empty field would be a blank line, which readers skip;
            # "" keeps the row.
            batch = batch.select(pl.all().cast(pl.String).fill_null(""))
        self._write(batch, include_header=False, include_bom=False)

    def _raw_text(self, batch: pl.DataFrame, raw: RawBatch) -> str:
        """The raw records, with the cells that differ from what was read
        replaced (compared a column at a time, so untouched columns cost nothing)."""
        changed = {}
        for i, name in enumerate(self._columns[: self._input_columns]):
            new, old = batch.get_column(name), raw.frame.get_column(name)
            if new.dtype != pl.String or not new.fill_null("").equals(old):
                changed[i] = (new.cast(pl.String).to_list(), old.to_list())
        delimiter, added = self._dialect.delimiter, self._columns[self._input_columns:]
        appended = None
        if added:
            cells = [pl.lit(delimiter) + quoted_cells(pl.col(name), delimiter) for name in added]
            appended = batch.select(pl.concat_str(cells).alias("appended")).get_column("appended").to_list()
        return records_text(raw.records, changed, appended, delimiter) + raw.tail

    def _write(self, frame: pl.DataFrame, **kw) -> None:
        frame.write_csv(self._fh, separator=self._dialect.delimiter,
                        line_terminator=self._dialect.line_terminator,
                        quote_style="necessary", **kw)

    def close(self) -> None:
        pass  # nothing buffered beyond the file object itself

    def discard(self) -> None:
        pass
