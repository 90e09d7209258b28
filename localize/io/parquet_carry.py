"""The Arrow columns a Parquet input hands straight to its Parquet outputs.

The reader keeps each batch's non-text columns here as it yields the batch;
each Parquet writer (one per output file: per-locale runs have several) takes
the same rows back, in order, when it writes that batch. A batch is dropped
once every writer has taken it, so at most about one batch is held, and
nothing at all when no Parquet output asked for them. A writer fed frames
that did not come from the reader (`localize eval` writes its dev set from
records) finds nothing kept (`in_use` is False) and writes its frames as they
are.
"""

from __future__ import annotations

from collections import deque

import pyarrow as pa


class CarriedColumns:
    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.names: list[str] = list(schema.names)
        self._batches: deque[pa.RecordBatch] = deque()
        self._first_row = 0  # the input row the oldest kept batch starts at
        self._rows_kept = 0
        self._cursors: dict[int, int] = {}  # writer -> next input row it takes
        self._next_key = 0

    def subscribe(self) -> int:
        """A writer that will take every row from the first batch on."""
        if self._rows_kept or self._first_row:
            raise RuntimeError("a Parquet writer must be opened before the catalog is read")
        key, self._next_key = self._next_key, self._next_key + 1
        self._cursors[key] = 0
        return key

    def unsubscribe(self, key: int) -> None:
        self._cursors.pop(key, None)
        self._trim()

    @property
    def in_use(self) -> bool:
        """Whether the reader has handed out rows since the writers subscribed."""
        return bool(self._rows_kept or self._first_row)

    def restart(self) -> None:
        """The reader starts over from the first row."""
        self._batches.clear()
        self._first_row = self._rows_kept = 0
        self._cursors = dict.fromkeys(self._cursors, 0)

    def keep(self, batch: pa.RecordBatch) -> None:
        if self._cursors and self.names:
            self._batches.append(batch.select(self.names))
            self._rows_kept += batch.num_rows

    def take(self, key: int, rows: int) -> pa.Table:
        """The next `rows` input rows of the carried columns for writer `key`."""
        start = self._cursors[key] - self._first_row
        table = pa.Table.from_batches(list(self._batches), schema=self.schema).slice(start, rows)
        if table.num_rows != rows:
            raise RuntimeError(f"a Parquet writer asked for rows the reader has not read ({rows} from "
                               f"row {self._cursors[key]})")
        self._cursors[key] += rows
        self._trim()
        return table

    def _trim(self) -> None:
        done = min(self._cursors.values(), default=self._first_row + self._rows_kept)
        while self._batches and self._first_row + self._batches[0].num_rows <= done:
            dropped = self._batches.popleft()
            self._first_row += dropped.num_rows
            self._rows_kept -= dropped.num_rows
