"""Streaming catalog reading and atomic catalog writing (CSV, TSV, Parquet, XLSX).

    with CatalogReader(src, batch_rows=2048) as reader, \\
            CatalogWriter(dst, like=reader, extra_columns=["title_de"]) as writer:
        for batch in reader.batches():
            writer.write(batch.with_columns(...))

The writer commits (renames its temp file into place) on a clean exit and
leaves nothing behind on an exception. Cells the model wrote
(`generated_columns`) are neutralized against formula injection in the
formats a spreadsheet opens (see `neutralize_formulas`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Iterator

import polars as pl
import pyarrow as pa

from localize.errors import InputError, OutputError, UsageError
from localize.io.csv_format import DELIMITERS, CsvDialect, CsvSink, CsvSource
from localize.io.csv_raw import RawBatch
from localize.io.input_file import PipeCopy, input_kind
from localize.io.parquet_format import ParquetSink, ParquetSource, output_schema
from localize.io.stale_temps import make_temp
from localize.io.xlsx_format import XlsxSink, XlsxSource, sheet_name_for

__all__ = ["FORMATS", "CatalogReader", "CatalogWriter", "CsvDialect", "catalog_format",
           "neutralize_formulas"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".xlsx": "xlsx"}

_SAVE_AS_XLSX = "open it in Excel (or LibreOffice) and save it as .xlsx (Excel Workbook)"
REFUSED = {
    ".xls": f"a legacy Excel 97-2003 workbook (.xls) is not supported; {_SAVE_AS_XLSX}",
    ".xlsm": ("a macro-enabled workbook (.xlsm) is not supported, as its macros cannot be carried "
              f"over; {_SAVE_AS_XLSX}"),
    ".xlsb": f"a binary Excel workbook (.xlsb) is not supported; {_SAVE_AS_XLSX}",
    ".ods": f"an OpenDocument spreadsheet (.ods) is not supported; {_SAVE_AS_XLSX}",
    ".numbers": "a Numbers spreadsheet is not supported; export it as .xlsx or CSV",
}

# OWASP CSV-injection guidance: a cell starting with one of these is read as a
# formula (or a DDE payload) by some spreadsheet; the full-width forms are
# folded to ASCII by some spreadsheet versions.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_TRIGGER_RE = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in FORMULA_TRIGGERS) + "]"
_NEUTRALIZED_FORMATS = ("csv", "tsv", "xlsx")


def neutralize_formulas(batch: pl.DataFrame, columns, written=None) -> pl.DataFrame:
    """Prefixes `'` to every value of `columns` that a spreadsheet could run
    as a formula (OWASP: = + - @ tab CR LF, and full-width ＝＋－＠). Only for
    text the model generated: the seller's own cells are never touched.
    `written` ({column: one bool per row}) narrows it to the cells the model
    wrote, when a column also holds cells copied from the seller's."""
    dtypes = batch.schema  # once: polars builds it afresh on every access
    names = [c for c in columns if dtypes[c] == pl.String]
    if not names:
        return batch

    def risky(c: str) -> pl.Expr:
        trigger = pl.col(c).str.contains(_TRIGGER_RE)
        if written is None or c not in written:
            return trigger
        return trigger & pl.Series(written[c], dtype=pl.Boolean)

    return batch.with_columns(
        pl.when(risky(c)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c) for c in names)


def catalog_format(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in REFUSED:
        raise InputError(path, REFUSED[suffix])
    if suffix not in FORMATS:
        supported = ", ".join(sorted(FORMATS))
        raise InputError(path, f"unsupported file type {suffix or '(no suffix)'!r}; "
                         f"supported: {supported}")
    return FORMATS[suffix]


class CatalogReader:
    """Opens and validates a catalog; `batches()` streams it as polars frames.

    CSV/TSV columns are all pl.String (nothing is inferred, so `00123`, `NA`
    and `1.2E+12` stay text; empty cells are ""). Parquet columns keep their
    types. Blank lines in a CSV are skipped. A CSV/TSV that is not UTF-8 is
    read in the encoding detected (or given as `encoding`); see
    localize.io.text_encoding.

    An .xlsx workbook is read from `sheet` (a name or 0-based index), by
    default its first visible worksheet; its cells are all pl.String too (see
    localize.io.xlsx_format.cell_text for number and date cells). Unlike
    CSV, the whole sheet is loaded into memory once (calamine cannot stream
    it), then handed out in batches."""

    def __init__(self, path, *, batch_rows: int = 2048, sheet: str | int | None = None,
                 encoding: str | None = None):
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self.path = Path(path)
        self.batch_rows = batch_rows
        self.rows_read = 0
        self._active: Iterator | None = None
        kind = input_kind(self.path)
        self.format = catalog_format(self.path)
        self.dialect: CsvDialect | None = None
        self.arrow_schema: pa.Schema | None = None
        self.sheet: str | None = None  # the catalog sheet of an .xlsx workbook
        self._row_count: int | None = None
        self.notices: list[str] = []  # worth telling the user: a guessed encoding, a ';' delimiter
        if sheet is not None and self.format != "xlsx":
            raise UsageError(f"{self.path}: a sheet can only be chosen in an .xlsx workbook")
        if encoding is not None and self.format not in ("csv", "tsv"):
            raise UsageError(f"{self.path}: --encoding applies to CSV and TSV files only")
        # A named pipe is read once, into a copy the readers can open again.
        self._pipe_copy = PipeCopy(self.path) if kind == "pipe" else None
        try:
            with self._naming_the_input():
                self._open_source(self._pipe_copy.path if self._pipe_copy else self.path, sheet, encoding)
        except BaseException:
            self.close()
            raise

    def _open_source(self, data: Path, sheet, encoding) -> None:
        if self.format == "parquet":
            self._source = ParquetSource(data)
            self.arrow_schema = self._source.arrow_schema
        elif self.format == "xlsx":
            self._source = XlsxSource(data, sheet)
            self.sheet = self._source.sheet_name
        else:
            self._source = CsvSource(data, self.format, encoding)
            self.dialect = self._source.dialect
            self.notices = [self._named(n) for n in self._source.notices]
        self.columns: list[str] = list(self._source.columns)

    @contextlib.contextmanager
    def _naming_the_input(self):
        """Errors from the readers name the user's path, never a pipe's copy."""
        try:
            yield
        except InputError as e:
            if self._pipe_copy is None:
                raise
            raise self._pipe_copy.named_as_pipe(e) from None

    def _named(self, notice: str) -> str:
        return notice.replace(str(self._pipe_copy.path), str(self.path)) if self._pipe_copy else notice

    def batches(self) -> Iterator[pl.DataFrame]:
        """Streams the data rows from the start; only one batch is in memory
        at a time. rows_read counts the rows yielded so far."""
        self._close_active()
        self._active = self._batches()
        return self._active

    def _batches(self) -> Iterator[pl.DataFrame]:
        self.rows_read = 0
        with self._naming_the_input():
            for batch in self._source.batches(self.batch_rows):
                self.rows_read += batch.height
                yield batch

    def count_rows(self, strict: bool = False) -> int | None:
        """Total data rows; with `strict`, a malformed CSV raises its InputError
        (one full parse, so a bad row is found before hours of generation).
        The count is kept, so a second call (a writer checking Excel's row
        limit) costs nothing."""
        if self._row_count is None:
            with self._naming_the_input():
                if isinstance(self._source, ParquetSource):
                    self._row_count = self._source.count_rows()
                else:
                    self._row_count = self._source.count_rows(strict=strict)
        return self._row_count

    @property
    def raw_header(self) -> str | None:
        """A CSV/TSV input's header line as written (for byte-preserving output)."""
        return self._source.raw_header if isinstance(self._source, CsvSource) else None

    @property
    def raw_batch(self) -> RawBatch | None:
        """The raw records of the batch last yielded by a CSV/TSV input."""
        return self._source.raw_batch if isinstance(self._source, CsvSource) else None

    def polars_schema(self) -> dict[str, pl.DataType]:
        if isinstance(self._source, ParquetSource):
            return self._source.polars_schema()
        return {name: pl.String() for name in self.columns}

    def _close_active(self) -> None:
        if self._active is not None:
            self._active.close()  # closes the generator's file handle
            self._active = None

    def close(self) -> None:
        self._close_active()
        if isinstance(getattr(self, "_source", None), (ParquetSource, XlsxSource)):
            self._source.close()
        if self._pipe_copy is not None:
            self._pipe_copy.close()

    def __enter__(self) -> CatalogReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CatalogReader({str(self.path)!r}, format={self.format!r})"


class CatalogWriter:
    """Writes `like.columns + extra_columns` to `path` atomically.

    The format follows the output suffix. CSV dialect (line terminator, BOM)
    is copied from `like` when it is CSV/TSV; the delimiter follows the output
    suffix; `excel_csv` forces a UTF-8 BOM, without which Excel reads UTF-8 as
    a legacy code page. Parquet output uses the input's Arrow schema (all
    strings for CSV input) plus string extra columns. XLSX output holds every
    cell as text; when `like` is a workbook, its other sheets are carried over.

    `generated_columns` names the columns whose values the model wrote; in
    CSV, TSV and XLSX output their formula-like values are neutralized (see
    `neutralize_formulas`). Not in Parquet: no spreadsheet opens it, and its
    readers (pandas, Spark, a database load) would get the apostrophe as data.
    """

    def __init__(self, path, *, like: CatalogReader, extra_columns: list[str],
                 generated_columns: list[str] | None = None, excel_csv: bool = False):
        self.path = Path(path)
        self._like = like
        _check_destination(self.path)
        try:
            self.format = catalog_format(self.path)
        except InputError as e:
            raise OutputError(str(e)) from None
        extra = list(extra_columns)
        clash = [n for i, n in enumerate(extra) if n in like.columns or n in extra[:i]]
        if clash:
            raise OutputError(f"{self.path}: output column {clash[0]!r} already exists; "
                              "choose another name")
        self.columns: list[str] = list(like.columns) + extra
        generated = list(generated_columns or [])
        unknown = [n for n in generated if n not in self.columns]
        if unknown:
            raise ValueError(f"generated column {unknown[0]!r} is not an output column")
        self.generated_columns = generated if self.format in _NEUTRALIZED_FORMATS else []
        self.dialect: CsvDialect | None = None
        if self.format != "parquet" and isinstance(like._source, ParquetSource):
            _check_text_output(self.path, like._source)
        self._tmp = _TempFile(self.path)
        try:
            if self.format == "parquet":
                schema = output_schema(like.columns, like.arrow_schema, extra, localized=generated)
                carried = like._source.carried if isinstance(like._source, ParquetSource) else None
                self._sink = ParquetSink(self._tmp.fh, schema, self.path, carried)
            elif self.format == "xlsx":
                source = like._source if isinstance(like._source, XlsxSource) else None
                self._sink = XlsxSink(
                    self._tmp.fh, self.columns, like.polars_schema(), self.path, source=source,
                    sheet_name=sheet_name_for(like.path), expected_rows=like.count_rows())
            else:
                src = like.dialect or CsvDialect()
                # CSV to CSV keeps a ';' delimiter; a conversion takes its suffix's
                delimiter = src.delimiter if like.format == self.format else DELIMITERS[self.format]
                self.dialect = CsvDialect(delimiter, src.line_terminator, src.bom or excel_csv)
                dtypes = like.polars_schema()
                # Same format and delimiter: every record comes back as it was read (csv_raw).
                raw_header = like.raw_header if delimiter == src.delimiter and like.dialect else None
                self._sink = CsvSink(self._tmp.fh, self.columns, self.dialect, dtypes, self.path,
                                     raw_header=raw_header, input_columns=len(like.columns))
        except OSError as e:
            self._tmp.discard()
            raise _write_error(self.path, e) from None
        except BaseException:
            self._tmp.discard()
            raise

    def write(self, batch: pl.DataFrame, model_written: dict[str, list[bool]] | None = None) -> None:
        """`model_written` ({generated column: one bool per row}) says which
        cells the model wrote; only those are neutralized. Without it, every
        cell of the generated columns is."""
        if self._tmp.done:
            raise RuntimeError("CatalogWriter is closed")
        if batch.columns != self.columns:
            raise ValueError(f"batch columns {batch.columns} != writer columns {self.columns}")
        if self.generated_columns:
            batch = neutralize_formulas(batch, self.generated_columns, model_written)
        try:
            if isinstance(self._sink, CsvSink):
                self._sink.write(batch, self._like.raw_batch)
            else:
                self._sink.write(batch)
        except OSError as e:
            raise _write_error(self.path, e) from None

    def commit(self) -> Path:
        if self._tmp.committed:
            return self.path
        if self._tmp.done:
            raise RuntimeError("CatalogWriter was aborted")
        try:
            self._sink.close()
            self._tmp.commit()
        except OSError as e:
            self.abort()
            raise _write_error(self.path, e) from None
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drops the partial output; a no-op after commit() or a second call."""
        if not self._tmp.done:
            self._sink.discard()
        self._tmp.discard()

    def __enter__(self) -> CatalogWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _check_text_output(dest: Path, source: ParquetSource) -> None:
    source.text_needed = True
    if source.untextable:
        name = source.untextable[0]
        raise OutputError(f"{dest}: column {name!r} holds {source.arrow_schema.field(name).type} values, which "
                          "have no text form for a CSV, TSV or XLSX file; write Parquet (.parquet) instead")


def _write_error(path: Path, err: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write the output: {err.strerror or err}")


class _TempFile:
    """`.<name>.<pid>.<random>.tmp` next to the destination, so the final rename is
    atomic (same filesystem) and an interrupted run never leaves a partial
    catalog under the real name."""

    def __init__(self, dest: Path):
        self.dest = dest
        parent = dest.parent
        _check_destination(dest)
        try:
            fd, name = make_temp(dest)  # also removes the temps of killed runs (stale_temps)
        except PermissionError:
            raise OutputError(f"{dest}: cannot write to the folder {parent}: "
                              "permission denied") from None
        except OSError as e:
            raise OutputError(f"{dest}: cannot create the output file: {e.strerror or e}") from None
        self.tmp = Path(name)
        self.fh: IO[bytes] = os.fdopen(fd, "wb")
        self.done = self.committed = False

    def commit(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        # mkstemp makes the file 0600; give it the mode a plain open() would.
        os.chmod(self.tmp, _existing_mode(self.dest))
        os.replace(self.tmp, self.dest)
        self.done = self.committed = True
        _fsync_dir(self.dest.parent)

    def discard(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.fh.close()
        except OSError:
            pass
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass


def _check_destination(dest: Path) -> None:
    if not dest.parent.is_dir():
        raise OutputError(f"{dest}: the output folder {dest.parent} does not exist")
    if dest.is_dir():
        raise OutputError(f"{dest}: is a folder; give a file name for the output")


def _existing_mode(dest: Path) -> int:
    try:
        return dest.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)  # reading the umask requires setting it
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
