"""Parquet reading and writing.

Reading goes through pyarrow's ParquetFile.iter_batches with pre_buffer=False,
which decodes one record batch at a time and stays flat in memory (polars'
Parquet reader does not). Each batch is handed to the pipeline as a polars
frame; on the way out the text columns come from that frame, cast back to the
input's Arrow types, and every other column comes from the input's own Arrow
batch (`CarriedColumns`), so it is written byte for byte whatever its type,
even one polars cannot hold (see localize.io.parquet_types).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Iterator

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from localize.errors import InputError, OutputError
from localize.io.parquet_carry import CarriedColumns
from localize.io.parquet_types import is_text_type, localized_field, polars_may_hold

# Row-group target: batches are small (thousands of rows); one row group per
# batch would make the file slow to scan, so a few are buffered per group.
_GROUP_ROWS = 64 * 1024
_GROUP_BYTES = 64 * 1024 * 1024


def _reason(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__


def _round_trips(field: pa.Field) -> bool:
    """True if an empty column of this type goes to polars and back to the
    same Arrow type (only asked of types polars_may_hold accepts, so polars
    is never handed a type that makes it panic)."""
    empty = pa.schema([field]).empty_table()
    try:
        to_arrow(from_arrow(empty)).cast(pa.schema([field]))
    # polars/arrow raise many types here; a polars panic is a BaseException.
    except (Exception, pl.exceptions.PanicException):  # noqa: BLE001
        return False
    return True


def _is_bytes(dtype: pa.DataType) -> bool:
    return (pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype)
            or pa.types.is_fixed_size_binary(dtype))


def _has_text(dtype: pa.DataType) -> bool:
    """Whether Arrow can write this type's values as text (judged on the
    type: an empty cast succeeds for some types whose values then fail)."""
    storage = dtype.storage_type if isinstance(dtype, pa.BaseExtensionType) else dtype
    if pa.types.is_nested(storage) or pa.types.is_duration(storage) or _is_bytes(storage):
        return False  # a duration's text would be a bare number, its unit lost
    try:
        pa.array([], storage).cast(pa.large_string())
    except (pa.ArrowException, ValueError):
        return False
    return True


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
            self._sort_columns()
        except InputError:
            self.close()
            raise
        self.carried = CarriedColumns(pa.schema([f for f in self.arrow_schema if not is_text_type(f.type)],
                                                metadata=self.arrow_schema.metadata))

    def _sort_columns(self) -> None:
        """Decides, per column, how it travels. Text columns (the ones the
        pipeline may write into) go through polars, and fail now, not after an
        hour of translation, if they cannot. A column polars cannot hold is
        shown to the pipeline as its text (`text_stand_ins`, for a CSV or XLSX
        output), or as empty if Arrow has no text for it (`untextable`)."""
        self.text_stand_ins: list[str] = []
        self.untextable: list[str] = []
        self.text_needed = False  # set when a CSV, TSV or XLSX output will write the stand-ins
        for field in self.arrow_schema:
            if polars_may_hold(field.type) and _round_trips(field):
                continue
            if is_text_type(field.type):
                raise InputError(self.path, f"column type {field.type} is not supported", column=field.name)
            self.text_stand_ins.append(field.name)
            if not _has_text(field.type):
                self.untextable.append(field.name)

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        done = 0
        self.carried.restart()
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
                self.carried.keep(batch)
                yield self.polars_view(batch)

    def polars_view(self, batch: pa.RecordBatch | pa.Table) -> pl.DataFrame:
        """The batch as the pipeline sees it: stand-ins replace what polars cannot hold."""
        if self.text_stand_ins:
            arrays = [self._text_of(name, batch.column(i)) if name in self.text_stand_ins else batch.column(i)
                      for i, name in enumerate(batch.schema.names)]
            batch = pa.table(arrays, names=batch.schema.names)
        return from_arrow(batch)

    def _text_of(self, name: str, column) -> pa.Array | pa.ChunkedArray:
        try:
            if isinstance(column.type, pa.BaseExtensionType):
                column = column.cast(column.type.storage_type)
            return column.cast(pa.large_string())
        except (pa.ArrowException, ValueError):
            if not self.text_needed:  # only a Parquet output reads this column, from the input itself
                return pa.nulls(len(column), pa.large_string())
            dtype = self.arrow_schema.field(name).type
            raise InputError(self.path, f"{dtype} values that have no text form for a CSV, TSV or XLSX output; "
                             "write Parquet (.parquet) instead", column=name) from None

    def polars_schema(self) -> dict[str, pl.DataType]:
        return dict(self.polars_view(self.arrow_schema.empty_table()).schema)

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
    """Writes a Parquet output. With `carried` (the input's CarriedColumns),
    those columns are taken from the input's Arrow batches, not from the
    frames, which must then come in the input's row order (they do: the
    pipeline writes every batch it reads, in order)."""

    def __init__(self, fh: IO[bytes], schema: pa.Schema, dest: Path, carried: CarriedColumns | None = None):
        self._schema, self._dest = schema, dest
        self._carried = carried if carried is not None and carried.names else None
        carried_names = set(self._carried.names) if self._carried else set()
        self._own = pa.schema([f for f in schema if f.name not in carried_names])
        self._writer = pq.ParquetWriter(fh, schema)
        self._key = self._carried.subscribe() if self._carried else None
        self._pending: list[pa.Table] = []
        self._rows = self._bytes = 0

    def write(self, batch: pl.DataFrame) -> None:
        carry = self._carried is not None and self._carried.in_use
        table = to_arrow(batch.select(self._own.names) if carry else batch)
        try:
            table = table.cast(self._own if carry else self._schema)
        except (pa.ArrowException, ValueError) as e:
            raise OutputError(f"{self._dest}: a value does not fit the column's Parquet "
                              f"type ({_reason(e)})") from None
        if carry:
            carried = self._carried.take(self._key, batch.height)
            table = pa.table([(carried if name in carried.column_names else table).column(name)
                              for name in self._schema.names], schema=self._schema)
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
        self._release()

    def _release(self) -> None:
        if self._carried:
            self._carried.unsubscribe(self._key)

    def discard(self) -> None:
        # Close before the file goes away, or pyarrow's finalizer complains
        # about writing the footer to a closed file.
        self._pending = []
        self._release()
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 -- the output is being thrown away
            pass


def output_schema(columns: list[str], like_schema: pa.Schema | None, extra_columns: list[str],
                  localized: list[str] = ()) -> pa.Schema:
    """The input's Arrow schema (or all-string for CSV input) plus string
    extra columns; the `localized` columns (written by the model in place)
    become nullable text (see parquet_types.localized_field). Schema metadata
    is kept so other tools read it as before."""
    if like_schema is None:
        base = pa.schema([pa.field(name, pa.string()) for name in columns])
    else:
        base = like_schema
    for name in localized:
        if name in base.names:
            i = base.get_field_index(name)
            base = base.set(i, localized_field(base.field(i)))
    for name in extra_columns:
        base = base.append(pa.field(name, pa.string()))
    return base
