"""Reading an .xlsx workbook with python-calamine (see localize.io.xlsx_format
for what is kept and why calamine).

Memory: calamine cannot stream a sheet. Loading a sheet parses all of its
cells into one in-memory grid spanning its used range (in Rust), so the
catalog sheet is read once and then sliced into batches, converted to Python
strings one batch at a time. Every other sheet is loaded, copied and dropped
one at a time while the output is written. Before any sheet is loaded its
used range is measured from its XML (localize.io.xlsx_extent): a sheet whose
grid would not fit in memory is refused with one line, never loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Iterator

import polars as pl

from localize.errors import InputError
from localize.io.xlsx_cells import column_letter, first_line, row_text
from localize.io.xlsx_extent import check_sheet_size

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .xls, or an encrypted .xlsx
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # the stream an encrypted OOXML file holds
_ZIP_MAGIC = b"PK\x03\x04"


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
                      f"({first_line(err)})")


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
            self._sized: set[str] = set()
            self._sheet = self._load_checked(meta)
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
            names = row_text(row)
            if any(names):
                break
        else:
            raise InputError(self.path, f"{where} is empty; expected a header row with the column "
                             "names")
        unnamed = [column_letter(self._sheet.first_col + i) for i, n in enumerate(names) if n == ""]
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
            buf.append(row_text(row))
            if len(buf) >= batch_rows:
                yield _frame(buf, schema)
                buf = []
        if buf:
            yield _frame(buf, schema)

    def count_rows(self, strict: bool = False) -> int:
        return max(self._sheet.height - self._skip, 0)

    def check_other_sheets(self) -> None:
        """Raises InputError now, before an output is written, if a sheet
        `other_sheets` will load is too big to load (see xlsx_extent)."""
        for meta in self._metas:
            if meta.name != self.sheet_name:
                self._load_checked(meta, load=False)

    def other_sheets(self) -> Iterator[_Sheet | None]:
        """Every worksheet in workbook order, loaded one at a time; None stands
        for the catalog sheet."""
        for meta in self._metas:
            if meta.name == self.sheet_name:
                yield None
            else:
                yield self._load_checked(meta)

    def _load_checked(self, meta, load: bool = True) -> _Sheet | None:
        """Measures the sheet before calamine loads it (calamine aborts the
        whole process on a grid it cannot allocate); each sheet once."""
        if meta.name not in self._sized:
            check_sheet_size(self.path, meta.name)
            self._sized.add(meta.name)
        return _Sheet(self.path, self._book, meta) if load else None

    def close(self) -> None:
        try:
            self._book.close()
        except Exception:  # noqa: BLE001 -- already closed
            pass


def _frame(rows: list[list[str]], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(list(zip(*rows)), schema=schema, orient="col")
