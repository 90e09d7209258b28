"""XLSX (Excel workbook) reading and writing.

Reading uses python-calamine, the Python binding of the Rust `calamine`
reader that pandas also uses (engine="calamine"). fastexcel wraps the same
engine, but its text conversion is lossy (it rounds numbers to 9 decimals:
1.5E-10 becomes "0") and it gives no per-cell types to do better with;
python-calamine hands back every cell typed (str, float, bool, date, ...), so
text cells stay exactly as stored and the others are rendered here (see
`cell_text`).

Memory: calamine cannot stream a sheet. Loading a sheet parses all of its
cells into one in-memory range (in Rust; roughly the size of the sheet's
unzipped XML), so the catalog sheet is read once and then sliced into batches,
converted to Python strings one batch at a time. An Excel sheet holds at most
1,048,576 rows, which bounds this. Every other sheet is loaded, copied and
dropped one at a time while the output is written.

Writing uses xlsxwriter in constant_memory mode: each row goes to a temp file
as soon as the next one starts (so rows must be written in order, which the
batch writer does), and the workbook is zipped on close. Every cell is written
with write_string and the workbook refuses to turn strings into formulas,
URLs or numbers, so no cell of the output is ever a formula.

What is kept: every worksheet, in order, with its name, hidden state and
values (as text, at the same cell positions); the catalog sheet's column order.
What is not: styles, number formats, column widths, merged cells, comments,
images, charts and chart sheets, data validation, defined names, macros;
formulas are replaced by their last computed value (as text), and error values
(#N/A, #DIV/0!) come back empty. xlsxwriter cannot copy formatting from
another workbook.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

import polars as pl

from localize.errors import InputError, OutputError
from localize.io.detachable_file import DetachableFile

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL = 32_767  # UTF-16 code units, which is what Excel counts
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .xls, or an encrypted .xlsx
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # the stream an encrypted OOXML file holds
_ZIP_MAGIC = b"PK\x03\x04"
# Excel stores text as XML; these two code points cannot be stored in XML at all.
_UNSTORABLE = re.compile("[\ufffe\uffff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def _reason(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def _column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# -- reading -----------------------------------------------------------------------

def _number(value: float) -> str:
    """A number as Excel's formula bar shows it: integers in full (up to 15
    digits, so 13-14 digit barcodes stored as numbers keep every digit), other
    values with up to 15 significant digits (Excel's own precision), an
    exponent written 1.5E-10."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # also turns -0.0 into "0"
    return f"{value:.15g}".replace("e", "E")


def _duration(value: dt.timedelta) -> str:
    """[h]:mm:ss, as Excel shows a duration."""
    micros = abs(value) // dt.timedelta(microseconds=1)
    seconds, micros = divmod(micros, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{'-' if value < dt.timedelta(0) else ''}{hours}:{minutes:02}:{seconds:02}"
    return text + (f".{micros:06}".rstrip("0") if micros else "")


def cell_text(value) -> str:
    """The text of one calamine cell. A text cell is returned exactly as
    stored; a number cell has no original text, so it is rendered (see
    `_number`); dates as 2024-03-01, date-times as 2024-03-01 12:30:00, times
    as 12:30:00, durations as 30:00:00, booleans as TRUE/FALSE. Empty and
    error cells are ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    return str(value)


def _row_text(row: list) -> list[str]:
    return [v if type(v) is str else cell_text(v) for v in row]


def check_container(path: Path) -> None:
    """Recognize what is not an .xlsx workbook before calamine reports it as
    a generic parse error."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        if not head:
            raise InputError(path, "the file is empty (0 bytes), not an Excel workbook")
        if head == _OLE_MAGIC:
            if _contains(fh, _ENCRYPTED):
                raise InputError(path, "the workbook is password-protected (encrypted); open it in "
                                 "Excel, remove the password (File > Info > Protect Workbook) and save it "
                                 "as .xlsx")
            raise InputError(path, "this is a legacy Excel 97-2003 workbook (.xls), not .xlsx; open "
                             "it in Excel and save it as .xlsx (Excel Workbook)")
        if not head.startswith(_ZIP_MAGIC):
            raise InputError(path, "not an .xlsx workbook (an .xlsx file is a ZIP container); it may "
                             "be corrupt, or a CSV or other file renamed to .xlsx")


def _contains(fh: IO[bytes], needle: bytes, chunk: int = 1 << 20) -> bool:
    fh.seek(0)
    tail = b""
    while block := fh.read(chunk):
        if needle in tail + block:
            return True
        tail = block[-len(needle):]
    return False


def _unreadable(path: Path, err: BaseException) -> InputError:
    import python_calamine as pc

    if isinstance(err, pc.PasswordError):
        return InputError(path, "the workbook is password-protected; remove the password in Excel "
                          "and save it as .xlsx")
    return InputError(path, f"not a readable .xlsx workbook; it may be corrupt or truncated "
                      f"({_reason(err)})")


def _guarded(path: Path, call):
    """Runs a calamine call; any failure (a Rust panic included, which is a
    BaseException) becomes one InputError line."""
    try:
        return call()
    except Exception as e:  # noqa: BLE001 -- calamine raises many types for a bad file
        raise _unreadable(path, e) from None
    except BaseException as e:
        if type(e).__name__ != "PanicException":
            raise
        raise _unreadable(path, e) from None


class _Sheet:
    """One loaded worksheet: its used range and where that range starts."""

    def __init__(self, path: Path, book, meta):
        self.name: str = meta.name
        self.hidden: str | None = _visibility(meta)
        self.path = path
        self._sheet = _guarded(path, lambda: book.get_sheet_by_name(meta.name))
        start = self._sheet.start
        self.first_row, self.first_col = start if start is not None else (0, 0)
        self.height: int = self._sheet.height if start is not None else 0

    def rows(self) -> Iterator[list]:
        """The used range's rows, top to bottom, as calamine values."""
        if not self.height:
            return iter(())
        rows = self._sheet.iter_rows()
        # python-calamine pads the rows above the used range with empty rows
        # (columns do start at the range's first column): drop the padding.
        for _ in range(self.first_row):
            next(rows, None)
        return rows


def _visibility(meta) -> str | None:
    from python_calamine import SheetVisibleEnum

    if meta.visible == SheetVisibleEnum.Hidden:
        return "hidden"
    if meta.visible == SheetVisibleEnum.VeryHidden:
        return "very_hidden"
    return None


def _worksheets(book) -> list:
    """Worksheet metadata in workbook order; chart sheets and the like hold no
    cells and are left out."""
    from python_calamine import SheetTypeEnum

    return [m for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]


class XlsxSource:
    """A validated .xlsx workbook: the catalog sheet's header, its rows in
    batches, and the other sheets for the writer to carry over.

    The catalog sheet is `sheet` (a name, or a 0-based index among the
    worksheets), by default the first visible worksheet. Its header is the
    first non-empty row; rows above it and columns left of the used range are
    kept as offsets so an .xlsx output puts the table where it was. Every cell
    is text (see `cell_text`); an empty cell is "". Empty rows inside the table
    are kept (a spreadsheet shows them), which CSV input skips."""

    def __init__(self, path: Path, sheet: str | int | None = None):
        import python_calamine as pc

        self.path = path
        check_container(path)
        self._book = _guarded(path, lambda: pc.CalamineWorkbook.from_path(str(path)))
        try:
            self._metas = _worksheets(self._book)
            meta = self._choose(sheet)
            self.sheet_name: str = meta.name
            self.sheet_names: list[str] = [m.name for m in self._metas]
            self._sheet = _Sheet(path, self._book, meta)
            self.hidden = self._sheet.hidden
            self.columns, self._skip = self._read_header()
            self.header_row = self._sheet.first_row + self._skip - 1
            self.first_col = self._sheet.first_col
        except BaseException:
            self.close()
            raise

    def _choose(self, sheet: str | int | None):
        names = [m.name for m in self._metas]
        if not self._metas:
            raise InputError(self.path, "the workbook has no worksheets")
        if sheet is None:
            return next((m for m in self._metas if _visibility(m) is None), self._metas[0])
        if isinstance(sheet, int) and 0 <= sheet < len(self._metas):
            return self._metas[sheet]
        if isinstance(sheet, str) and sheet in names:
            return self._metas[names.index(sheet)]
        raise InputError(self.path, f"no sheet {sheet!r}; the workbook has: "
                         + ", ".join(repr(n) for n in names))

    def _read_header(self) -> tuple[list[str], int]:
        """The header names and how many range rows to skip to reach the data."""
        where = f"sheet {self.sheet_name!r}"
        for skip, row in enumerate(self._sheet.rows(), start=1):
            names = _row_text(row)
            if any(names):
                break
        else:
            raise InputError(self.path, f"{where} is empty; expected a header row with the column "
                             "names")
        unnamed = [_column_letter(self._sheet.first_col + i) for i, n in enumerate(names) if n == ""]
        if len(unnamed) > 1:
            raise InputError(self.path, f"{where}: columns {', '.join(unnamed)} have no name in the "
                             "header row; every column needs a unique name (or delete the empty columns)")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            listed = ", ".join(repr(n) for n in dupes)
            raise InputError(self.path, f"{where}: duplicate column names in the header: {listed}; "
                             "every column needs a unique name")
        return names, skip

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        schema = {name: pl.String for name in self.columns}
        rows = self._sheet.rows()
        for _ in range(self._skip):
            next(rows, None)
        buf: list[list[str]] = []
        for row in rows:
            buf.append(_row_text(row))
            if len(buf) >= batch_rows:
                yield _frame(buf, schema)
                buf = []
        if buf:
            yield _frame(buf, schema)

    def count_rows(self, strict: bool = False) -> int:
        return max(self._sheet.height - self._skip, 0)

    def other_sheets(self) -> Iterator[_Sheet | None]:
        """Every worksheet in workbook order, loaded one at a time; None stands
        for the catalog sheet."""
        for meta in self._metas:
            if meta.name == self.sheet_name:
                yield None
            else:
                yield _Sheet(self.path, self._book, meta)

    def close(self) -> None:
        try:
            self._book.close()
        except Exception:  # noqa: BLE001 -- already closed
            pass


def _frame(rows: list[list[str]], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(list(zip(*rows)), schema=schema, orient="col")


# -- writing -----------------------------------------------------------------------

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
            raise OutputError(f"{self._dest}: sheet name {name!r} cannot be written: {_reason(e)}; "
                              "rename the sheet") from None
        self._sheets.append(ws)
        return ws

    def _check_rows(self, data_rows: int) -> None:
        total = self._first_row + 1 + data_rows
        if total > EXCEL_MAX_ROWS:
            raise OutputError(f"{self._dest}: the catalog has {data_rows:,} rows but an Excel sheet "
                              f"holds at most {EXCEL_MAX_ROWS:,} (header included); nothing was cut: "
                              "write CSV or Parquet instead, or split the catalog")

    def _put(self, ws, row: int, col: int, text: str, where: str, column: str | None = None) -> None:
        if len(text) > EXCEL_MAX_CELL // 2 and utf16_len(text) > EXCEL_MAX_CELL:
            self._too_long(row, col, text, where, column)
        if ws.write_string(row, col, text):  # -1: out of range, -2: truncated
            raise OutputError(f"{self._dest}: sheet {where!r}: cannot write {_column_letter(col)}{row + 1} "
                              "(beyond Excel's limits)")

    def _too_long(self, row, col, text, where, column) -> None:
        if column is not None:  # the catalog sheet: name the data row and column
            at = f"row {row - self._first_row}, column {column!r}"
        else:
            at = f"sheet {where!r}, cell {_column_letter(col)}{row + 1}"
        raise OutputError(f"{self._dest}: {at}: the text is {utf16_len(text):,} characters but an Excel "
                          f"cell holds at most {EXCEL_MAX_CELL:,}; nothing was cut: shorten it, or write "
                          "CSV or Parquet instead")

    def _write_row(self, ws, row: int, col: int, values, *, header: bool = False) -> None:
        for j, value in enumerate(values):
            if value is not None and value != "":
                self._put(ws, row, col + j, value, "", "(header)" if header else self._columns[j])

    def write(self, batch: pl.DataFrame) -> None:
        self._check_rows(self._row - self._first_row + batch.height)
        text = batch.select(pl.col(c).cast(pl.String) if batch.schema[c] != pl.String else pl.col(c)
                            for c in batch.columns)
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
        bad = text.select(pl.col(c).str.contains(_UNSTORABLE.pattern).fill_null(False).arg_max().alias(c)
                          for c in text.columns).row(0)
        for name, i in zip(text.columns, bad):
            value = text[name][i]
            if value is not None and _UNSTORABLE.search(value):
                char = _UNSTORABLE.search(value).group()
                raise OutputError(f"{self._dest}: row {self._row - self._first_row + i + 1}, column "
                                  f"{name!r}: the text contains U+{ord(char):04X}, which an Excel cell "
                                  "cannot store; remove it, or write CSV or Parquet instead")

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
