"""Writing an .xlsx workbook with xlsxwriter (see localize.io.xlsx_format for
what is kept).

xlsxwriter runs in constant_memory mode: each row goes to a temp file as soon
as the next one starts (so rows must be written in order, which the batch
writer does), and the workbook is zipped on close. Every cell is written with
write_string and the workbook refuses to turn strings into formulas, URLs or
numbers, so no cell of the output is ever a formula.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import IO

import polars as pl

from localize.errors import OutputError
from localize.io import xlsx_cells
from localize.io.detachable_file import DetachableFile
from localize.io.xlsx_cells import EXCEL_MAX_CELL, EXCEL_MAX_COLUMNS, cell_text, column_letter, first_line, utf16_len
from localize.io.xlsx_read import XlsxSource

# Excel stores text as XML; these two code points cannot be stored in XML at all.
_UNSTORABLE = re.compile("[\ufffe\uffff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def sheet_name_for(path: Path) -> str:
    """A valid Excel sheet name from a file name: no []:*?/\\, at most 31
    characters, not starting or ending with an apostrophe."""
    name = _SHEET_NAME_BAD.sub("_", path.stem)[:31].strip("'").strip()
    return name if name and name.lower() != "history" else "Sheet1"


class XlsxSink:
    """Writes the output workbook: the catalog sheet (header, then batches as
    they come) and, when the input is a workbook, every other worksheet copied
    over in its place.

    Excel's limits are checked, never worked around: a cell over 32,767
    characters or a sheet over 1,048,576 rows is an OutputError (xlsxwriter
    would silently truncate the one and drop the other)."""

    def __init__(self, fh: IO[bytes], columns: list[str], dtypes: dict[str, pl.DataType], dest: Path,
                 *, source: XlsxSource | None, sheet_name: str, expected_rows: int | None = None):
        import xlsxwriter

        for name, dtype in dtypes.items():
            if dtype.is_nested() or dtype in (pl.Binary, pl.Object):
                raise OutputError(f"{dest}: column {name!r} holds {dtype} values, which a spreadsheet "
                                  "cell cannot represent; write Parquet (.parquet) instead")
        if len(columns) > EXCEL_MAX_COLUMNS:
            raise OutputError(f"{dest}: {len(columns):,} columns; an Excel sheet holds at most "
                              f"{EXCEL_MAX_COLUMNS:,}: write CSV or Parquet instead")
        self._dest, self._columns = dest, columns
        self._first_row = source.header_row if source else 0
        self._first_col = source.first_col if source else 0
        if self._first_col + len(columns) > EXCEL_MAX_COLUMNS:
            self._first_col = 0  # the table moves left rather than lose columns
        self._row = self._first_row  # the header's row; data rows follow
        if expected_rows is not None:
            self._check_rows(expected_rows)
        if source is not None:
            source.check_other_sheets()  # refused before the workbook is started, not half-way
        # xlsxwriter's temp files (one per sheet, one per zip part) go to a
        # folder of our own, removed whatever happens: it leaves them behind
        # when a write fails. The output goes through a DetachableFile (see there).
        try:
            self._tmpdir = tempfile.mkdtemp(prefix="localize-xlsx-")
        except OSError as e:
            raise self._os_error(e) from None
        self._fh = DetachableFile(fh)
        self._book = xlsxwriter.Workbook(self._fh, {
            "tmpdir": self._tmpdir,
            "constant_memory": True,       # rows stream to a temp file as they are written
            "strings_to_formulas": False,  # belt and braces: only write_string is used
            "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        self._sheets: list = []
        try:
            self._catalog = self._add_sheets(source, sheet_name)
            self._write_row(self._catalog, self._row, self._first_col, columns, header=True)
        except BaseException:
            self.discard()
            raise

    def _add_sheets(self, source: XlsxSource | None, sheet_name: str):
        if source is None:
            return self._add_sheet(sheet_name)
        catalog = first_visible = None
        for sheet in source.other_sheets():
            ws = self._add_sheet(sheet.name if sheet else source.sheet_name)
            hidden = sheet.hidden if sheet else source.hidden
            if hidden == "hidden":
                ws.hide()
            elif hidden == "very_hidden":
                ws.very_hidden()
            elif first_visible is None:
                first_visible = ws
            if sheet is None:
                catalog = ws
                continue
            for i, row in enumerate(sheet.rows()):
                r = sheet.first_row + i
                for j, value in enumerate(row):
                    if value != "":
                        self._put(ws, r, sheet.first_col + j, cell_text(value), sheet.name)
        # The catalog sheet opens first unless the seller hid it.
        (catalog if source.hidden is None else first_visible or catalog).activate()
        return catalog

    def _add_sheet(self, name: str):
        from xlsxwriter.exceptions import XlsxWriterException

        try:
            ws = self._book.add_worksheet(name)
        except XlsxWriterException as e:  # a name another program allowed but Excel does not
            raise OutputError(f"{self._dest}: sheet name {name!r} cannot be written: {first_line(e)}; "
                              "rename the sheet") from None
        self._sheets.append(ws)
        return ws

    def _check_rows(self, data_rows: int) -> None:
        total = self._first_row + 1 + data_rows
        limit = xlsx_cells.EXCEL_MAX_ROWS  # looked up here so a test can lower it
        if total > limit:
            raise OutputError(f"{self._dest}: the catalog has {data_rows:,} rows but an Excel sheet "
                              f"holds at most {limit:,} (header included); nothing was cut: "
                              "write CSV or Parquet instead, or split the catalog")

    def _put(self, ws, row: int, col: int, text: str, where: str, column: str | None = None) -> None:
        if len(text) > EXCEL_MAX_CELL // 2 and utf16_len(text) > EXCEL_MAX_CELL:
            self._too_long(row, col, text, where, column)
        if ws.write_string(row, col, text):  # -1: out of range, -2: truncated
            raise OutputError(f"{self._dest}: sheet {where!r}: cannot write {column_letter(col)}{row + 1} "
                              "(beyond Excel's limits)")

    def _too_long(self, row, col, text, where, column) -> None:
        if column is not None:  # the catalog sheet: name the data row and column
            at = f"row {row - self._first_row}, column {column!r}"
        else:
            at = f"sheet {where!r}, cell {column_letter(col)}{row + 1}"
        raise OutputError(f"{self._dest}: {at}: the text is {utf16_len(text):,} characters but an Excel "
                          f"cell holds at most {EXCEL_MAX_CELL:,}; nothing was cut: shorten it, or write "
                          "CSV or Parquet instead")

    def _write_row(self, ws, row: int, col: int, values, *, header: bool = False) -> None:
        for j, value in enumerate(values):
            if value is not None and value != "":
                self._put(ws, row, col + j, value, "", "(header)" if header else self._columns[j])

    def write(self, batch: pl.DataFrame) -> None:
        self._check_rows(self._row - self._first_row + batch.height)
        # One schema for the whole batch: polars builds `batch.schema` afresh on
        # every access, so asking it per column made a wide sheet quadratic.
        dtypes = batch.schema
        text = batch.select(pl.col(c) if dtype == pl.String else pl.col(c).cast(pl.String)
                            for c, dtype in dtypes.items())
        self._check_unstorable(text)
        col = self._first_col
        try:
            for values in text.iter_rows():
                self._row += 1
                self._write_row(self._catalog, self._row, col, values)
        except OSError as e:  # the rows' temp file (see _tmpdir)
            raise self._os_error(e) from None

    def _os_error(self, e: OSError) -> OutputError:
        return OutputError(f"{self._dest}: cannot write the workbook: {e.strerror or e} (it is assembled "
                           f"in temporary files under {tempfile.gettempdir()} first, which needs space "
                           "too; or set TMPDIR)")

    def _check_unstorable(self, text: pl.DataFrame) -> None:
        if not text.height:
            return
        first_bad = text.select(pl.col(c).str.contains(_UNSTORABLE.pattern).fill_null(False).arg_max()
                                for c in text.columns).row(0)
        for series, i in zip(text.get_columns(), first_bad):
            value = series[i]
            found = _UNSTORABLE.search(value) if value is not None else None
            if found:
                raise OutputError(f"{self._dest}: row {self._row - self._first_row + i + 1}, column "
                                  f"{series.name!r}: the text contains U+{ord(found.group()):04X}, which an "
                                  "Excel cell cannot store; remove it, or write CSV or Parquet instead")

    def close(self) -> None:
        """Zips the workbook into the (still open) output file."""
        import xlsxwriter.exceptions as xe

        try:
            try:
                self._book.close()
            finally:
                self._remove_temp_files()  # xlsxwriter leaves an empty sheet's behind
        except xe.FileSizeError:
            raise OutputError(f"{self._dest}: the workbook would be over 4 GB, which Excel cannot open; "
                              "write CSV or Parquet instead") from None
        except xe.FileCreateError as e:
            cause = e.args[0] if e.args and isinstance(e.args[0], OSError) else OSError(str(e))
            raise self._os_error(cause) from None
        except OSError as e:  # a temp file of a zip part
            raise self._os_error(e) from None

    def discard(self) -> None:
        """Drops xlsxwriter's per-sheet temp files without building the zip."""
        self._book.fileclosed = True  # nothing is to be written any more
        self._remove_temp_files()
        self._fh.detach()  # a zip left open by a failed close() stays silent

    def _remove_temp_files(self) -> None:
        # constant_memory mode keeps each sheet's rows in a named temp file
        # (xlsxwriter's own attributes; there is no public way to drop them).
        for ws in self._sheets:
            fh = getattr(ws, "row_data_fh", None)
            try:
                if fh is not None:
                    fh.close()
            except OSError:
                pass
        self._sheets = []
        shutil.rmtree(self._tmpdir, ignore_errors=True)
