"""Streaming catalog reading and atomic catalog writing (CSV, TSV, Parquet).

    with CatalogReader(src, batch_rows=2048) as reader, \\
            CatalogWriter(dst, like=reader, extra_columns=["title_de"]) as writer:
        for batch in reader.batches():
            writer.write(batch.with_columns(...))

The writer commits (renames its temp file into place) on a clean exit and
leaves nothing behind on an exception.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

import polars as pl
import pyarrow as pa

from localize.errors import InputError, OutputError
from localize.io.csv_format import DELIMITERS, CsvDialect, CsvSink, CsvSource
from localize.io.parquet_format import ParquetSink, ParquetSource, from_arrow, output_schema

__all__ = ["FORMATS", "CatalogReader", "CatalogWriter", "CsvDialect", "catalog_format"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}


def catalog_format(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        supported = ", ".join(sorted(FORMATS))
        raise InputError(path, f"unsupported file type {suffix or '(no suffix)'!r}; "
                         f"supported: {supported}")
    return FORMATS[suffix]


class CatalogReader:
    """Opens and validates a catalog; `batches()` streams it as polars frames.

    CSV/TSV columns are all pl.String (nothing is inferred, so `00123`, `NA`
    and `1.2E+12` stay text; empty cells are ""). Parquet columns keep their
    types. Blank lines in a CSV are skipped."""

    def __init__(self, path, *, batch_rows: int = 2048):
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self.path = Path(path)
        self.batch_rows = batch_rows
        self.rows_read = 0
        self._active: Iterator | None = None
        _check_readable(self.path)
        self.format = catalog_format(self.path)
        self.dialect: CsvDialect | None = None
        self.arrow_schema: pa.Schema | None = None
        if self.format == "parquet":
            self._source = ParquetSource(self.path)
            self.arrow_schema = self._source.arrow_schema
        else:
            self._source = CsvSource(self.path, self.format)
            self.dialect = self._source.dialect
        self.columns: list[str] = list(self._source.columns)

    def batches(self) -> Iterator[pl.DataFrame]:
        """Streams the data rows from the start; only one batch is in memory
        at a time. rows_read counts the rows yielded so far."""
        self._close_active()
        self._active = self._batches()
        return self._active

    def _batches(self) -> Iterator[pl.DataFrame]:
        self.rows_read = 0
        for batch in self._source.batches(self.batch_rows):
            self.rows_read += batch.height
            yield batch

    def count_rows(self, strict: bool = False) -> int | None:
        """Total data rows; with `strict`, a malformed CSV raises its InputError
        (one full parse, so a bad row is found before hours of generation)."""
        if isinstance(self._source, ParquetSource):
            return self._source.count_rows()
        return self._source.count_rows(strict=strict)

    def polars_schema(self) -> dict[str, pl.DataType]:
        if self.arrow_schema is None:
            return {name: pl.String() for name in self.columns}
        return dict(from_arrow(self.arrow_schema.empty_table()).schema)

    def _close_active(self) -> None:
        if self._active is not None:
            self._active.close()  # closes the generator's file handle
            self._active = None

    def close(self) -> None:
        self._close_active()
        if isinstance(self._source, ParquetSource):
            self._source.close()

    def __enter__(self) -> CatalogReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CatalogReader({str(self.path)!r}, format={self.format!r})"


def _check_readable(path: Path) -> None:
    try:
        if path.is_dir():
            raise InputError(path, "is a folder, not a catalog file")
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except PermissionError:
        raise InputError(path, "cannot be read: permission denied") from None
    except OSError as e:
        raise InputError(path, f"cannot be read: {e.strerror or e}") from None


class CatalogWriter:
    """Writes `like.columns + extra_columns` to `path` atomically.

    The format follows the output suffix. CSV dialect (line terminator, BOM)
    is copied from `like` when it is CSV/TSV; the delimiter follows the output
    suffix. Parquet output uses the input's Arrow schema (all strings for CSV
    input) plus string extra columns."""

    def __init__(self, path, *, like: CatalogReader, extra_columns: list[str]):
        self.path = Path(path)
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
        self._tmp = _TempFile(self.path)
        try:
            if self.format == "parquet":
                schema = output_schema(like.columns, like.arrow_schema, extra)
                self._sink = ParquetSink(self._tmp.fh, schema, self.path)
                self.dialect: CsvDialect | None = None
            else:
                src = like.dialect or CsvDialect()
                self.dialect = CsvDialect(DELIMITERS[self.format], src.line_terminator, src.bom)
                dtypes = like.polars_schema()
                self._sink = CsvSink(self._tmp.fh, self.columns, self.dialect, dtypes, self.path)
        except OSError as e:
            self._tmp.discard()
            raise _write_error(self.path, e) from None
        except BaseException:
            self._tmp.discard()
            raise

    def write(self, batch: pl.DataFrame) -> None:
        if self._tmp.done:
            raise RuntimeError("CatalogWriter is closed")
        if batch.columns != self.columns:
            raise ValueError(f"batch columns {batch.columns} != writer columns {self.columns}")
        try:
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


def _write_error(path: Path, err: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write the output: {err.strerror or err}")


class _TempFile:
    """`.<name>.<random>.tmp` next to the destination, so the final rename is
    atomic (same filesystem) and an interrupted run never leaves a partial
    catalog under the real name."""

    def __init__(self, dest: Path):
        self.dest = dest
        parent = dest.parent
        _check_destination(dest)
        try:
            fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=parent)
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
