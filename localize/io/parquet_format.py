"""Parquet reading and writing.

Reading goes through pyarrow's ParquetFile.iter_batches with pre_buffer=False,
which decodes one record batch at a time and stays flat in memory (polars'
Parquet reader does not). Column types are kept as they are so untouched
columns round-trip exactly; on the way out each polars batch is cast back to
the input's Arrow schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Iterator

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from localize.errors import InputError, OutputError

# Row-group target: batches are small (thousands of rows); one row group per
# batch would make the file slow to scan, so a few are buffered per group.
_GROUP_ROWS = 64 * 1024
_GROUP_BYTES = 64 * 1024 * 1024


def _reason(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__


class ParquetSource:
    def __init__(self, path: Path):
        self.path = path
        if path.stat().st_size == 0:
            raise InputError(path, "the file is empty (0 bytes), not a Parquet file")
        try:
            self._file = pq.ParquetFile(path, pre_buffer=False)
            self.arrow_schema: pa.Schema = self._file.schema_arrow
        except (pa.ArrowException, OSError) as e:
            raise InputError(path, f"not a readable Parquet file; it may be corrupt or "
                             f"truncated ({_reason(e)})") from None
        self.columns: list[str] = list(self.arrow_schema.names)
        try:
            dupes = sorted({n for n in self.columns if self.columns.count(n) > 1})
            if dupes:
                raise InputError(path, "duplicate column names: " + ", ".join(map(repr, dupes)))
            self._check_round_trip()
        except InputError:
            self.close()
            raise

    def _check_round_trip(self) -> None:
        """Fail now, not after an hour of translation, if some column type
        cannot go through polars and back unchanged."""
        for field in self.arrow_schema:
            empty = pa.schema([field]).empty_table()
            try:
                frame = from_arrow(empty)
                to_arrow(frame).cast(pa.schema([field]))
            # polars/arrow raise many types here; a polars panic is a BaseException.
            except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
                raise InputError(self.path, f"column type {field.type} is not supported",
                                 column=field.name) from None

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        done = 0
        batches = self._file.iter_batches(batch_size=batch_rows)
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError) as e:
                raise InputError(self.path, f"the file is corrupt: rows after row {done} "
                                 f"cannot be read ({_reason(e)})") from None
            if batch is None:
                return
            done += batch.num_rows
            if batch.num_rows:
                yield from_arrow(batch)

    def count_rows(self) -> int:
        return self._file.metadata.num_rows

    def close(self) -> None:
        self._file.close()


def _placeholders(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    # Column names cross the Arrow C interface as C strings, and polars
    # panics on a name with a NUL in it; pass placeholders, rename after.
    # The oldest compat level gives large_string instead of string_view,
    # which every pyarrow cast and Parquet writer understands.
    plain = frame.clone()  # shallow: renaming must not touch the caller's frame
    plain.columns = _placeholders(frame.width)
    return plain.to_arrow(compat_level=pl.CompatLevel.oldest()).rename_columns(frame.columns)


def from_arrow(data: pa.RecordBatch | pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(data.rename_columns(_placeholders(data.num_columns)))
    frame.columns = data.schema.names
    return frame


class ParquetSink:
    def __init__(self, fh: IO[bytes], schema: pa.Schema, dest: Path):
        self._schema, self._dest = schema, dest
        self._writer = pq.ParquetWriter(fh, schema)
        self._pending: list[pa.Table] = []
        self._rows = self._bytes = 0

    def write(self, batch: pl.DataFrame) -> None:
        table = to_arrow(batch)
        try:
            table = table.cast(self._schema)
        except (pa.ArrowException, ValueError) as e:
            raise OutputError(f"{self._dest}: a value does not fit the column's Parquet "
                              f"type ({_reason(e)})") from None
        self._pending.append(table)
        self._rows += table.num_rows
        self._bytes += table.nbytes
        if self._rows >= _GROUP_ROWS or self._bytes >= _GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
        self._pending, self._rows, self._bytes = [], 0, 0

    def close(self) -> None:
        """Writes the footer; the caller still owns (and closes) the file."""
        self._flush()
        self._writer.close()

    def discard(self) -> None:
        # Close before the file goes away, or pyarrow's finalizer complains
        # about writing the footer to a closed file.
        self._pending = []
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 -- the output is being thrown away
            pass


def output_schema(columns: list[str], like_schema: pa.Schema | None,
                  extra_columns: list[str]) -> pa.Schema:
    """The input's Arrow schema (or all-string for CSV input) plus string
    extra columns. Schema metadata is kept so other tools read it as before."""
    if like_schema is None:
        base = pa.schema([pa.field(name, pa.string()) for name in columns])
    else:
        base = like_schema
    for name in extra_columns:
        base = base.append(pa.field(name, pa.string()))
    return base
