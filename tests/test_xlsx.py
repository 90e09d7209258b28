"""Spreadsheets: .xlsx in and out, formula-injection neutralization, Excel's
limits, CSV for Excel, and bad workbooks.

The promise is the one made for CSV: every cell the seller had comes back
exactly (as text), in the same sheet, column and order; cells the model wrote
never run as formulas; anything that cannot be kept is an error, never a silent
cut.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import python_calamine as pc
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localize.backends.base import Backend
from localize.errors import InputError, OutputError
from localize.io import xlsx_cells, xlsx_format
from localize.io.catalog import FORMATS, CatalogReader, CatalogWriter, catalog_format, neutralize_formulas
from localize.pipeline.run import RunOptions, run
from localize.testing.fake_engine import FakeEngine, serving
from localize.text.locales import parse_locales

BOM = b"\xef\xbb\xbf"
CATALOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "catalogs"

# Values a spreadsheet or a naive parser would mangle (as in test_io_catalog).
TRICKY = [
    "00123", "0850064060010", "08500640600101", "'0850064060010", "NA", "null", "NULL", "None", "NaN",
    "1.2E+12", "3.65275E+11", "2024-03-01", "01/02/2024", "TRUE", "-0", " padded ", " ",
    "😀 emoji 👍🏽", "שלום עולם", "مرحبا", "line\nbreak", "crlf\r\nbreak", "lone\rcr",
    'say "hi"', '"', "a,b", "tab\there", '12" Pan', "#", "=SUM(A1)", "\x00nul", "_x0041_",
    "http://example.com", "#N/A",
]
INJECTIONS = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x", "\r=x", "\n=x", "＝1", "＋1", "－1", "＠x",
              '=HYPERLINK("http://x","y")']


# -- helpers -------------------------------------------------------------------

def csv_bytes(rows, *, bom=False) -> bytes:
    """RFC 4180 text, every cell quoted (no csv.writer quirks)."""
    text = "".join(",".join('"' + v.replace('"', '""') + '"' for v in r) + "\n" for r in rows)
    return (BOM if bom else b"") + text.encode("utf-8")


def parse_csv(path: Path, delimiter=",") -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, delimiter=delimiter, strict=True))


def make_xlsx(path: Path, sheets: dict[str, list[list]], *, hidden=(), at=None) -> Path:
    """A workbook written cell by cell with xlsxwriter: str cells as text,
    numbers, dates and booleans typed; `at` gives a sheet's top-left offset."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        r0, c0 = (at or {}).get(name, (0, 0))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                r, c = r0 + i, c0 + j
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                elif isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, (dt.date, dt.datetime, dt.time)):
                    ws.write_datetime(r, c, v, date_fmt)
                else:
                    ws.write_number(r, c, v)
        if name in hidden:
            ws.hide()
    # xlsxwriter shows the first sheet when no other is active, hidden or not.
    visible = [ws for ws in book.worksheets() if ws.name not in hidden]
    if visible:
        visible[0].activate()
    book.close()
    return path


def read_all(path: Path, batch_rows: int = 3, **kw) -> tuple[list[str], list[list[str]]]:
    with CatalogReader(path, batch_rows=batch_rows, **kw) as reader:
        return reader.columns, [list(r) for b in reader.batches() for r in b.rows()]


def copy_catalog(src: Path, dst: Path, extra=("extra",), value="x", batch_rows=3, **kw) -> None:
    with CatalogReader(src, batch_rows=batch_rows) as reader, \
            CatalogWriter(dst, like=reader, extra_columns=list(extra), **kw) as writer:
        for batch in reader.batches():
            writer.write(batch.with_columns(pl.lit(value, pl.String).alias(n) for n in extra))


def workbook_cells(path: Path) -> dict[str, list[list]]:
    """Every sheet as calamine sees it, from A1 (leading empty area kept)."""
    book = pc.CalamineWorkbook.from_path(str(path))
    try:
        return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
                for name in book.sheet_names}
    finally:
        book.close()


def sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")}


def formula_cells(path: Path) -> int:
    return sum(len(re.findall(r"<f[ >]", xml)) for xml in sheet_xml(path).values())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def input_error(path: Path, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        read_all(path, **kw)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message and "Traceback" not in message
    return info.value


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """xlsxwriter's constant_memory temp files go here, so a test can see that
    none is left behind."""
    folder = tmp_path / "_xlsxwriter_tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    assert list(folder.iterdir()) == [], "xlsxwriter temp files left behind"


# -- formats ---------------------------------------------------------------------

def test_xlsx_is_a_catalog_format_and_legacy_formats_are_refused(tmp_path):
    assert FORMATS[".xlsx"] == "xlsx" and catalog_format("A.XLSX") == "xlsx"
    for name, needle in [("old.xls", "save it as .xlsx"), ("macro.xlsm", "macros"),
                         ("bin.xlsb", "save it as .xlsx"), ("calc.ods", "save it as .xlsx")]:
        with pytest.raises(InputError, match=re.escape(needle)):
            catalog_format(name)
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    assert "save it as .xlsx" in str(input_error(path))
    src = tmp_path / "in.csv"
    src.write_bytes(b"a\n1\n")
    with CatalogReader(src) as reader:
        for name in ("o.xls", "o.xlsm"):
            with pytest.raises(OutputError, match=re.escape(name[1:])):
                CatalogWriter(tmp_path / name, like=reader, extra_columns=[])
    assert leftovers(tmp_path) == []


# -- values through XLSX ----------------------------------------------------------

def test_tricky_values_csv_to_xlsx_to_csv(tmp_path):
    rows = [["sku", "value", "reversed"]] + [[f"r{i}", v, v[::-1]] for i, v in enumerate(TRICKY)]
    src = tmp_path / "in.csv"
    src.write_bytes(csv_bytes(rows))
    copy_catalog(src, tmp_path / "mid.xlsx")
    columns, got = read_all(tmp_path / "mid.xlsx")
    assert columns == rows[0] + ["extra"]
    assert [r[:-1] for r in got] == rows[1:]
    assert formula_cells(tmp_path / "mid.xlsx") == 0           # "=SUM(A1)" stays text
    xml = "".join(sheet_xml(tmp_path / "mid.xlsx").values())
    assert "<v>" not in xml                                    # no number cells: all inline text
    copy_catalog(tmp_path / "mid.xlsx", tmp_path / "out.csv", extra=("more",))
    assert [r[:-2] for r in parse_csv(tmp_path / "out.csv")] == rows
    copy_catalog(tmp_path / "mid.xlsx", tmp_path / "out.xlsx", extra=("more",))
    assert [r[:-1] for r in read_all(tmp_path / "out.xlsx")[1]] == got


def test_number_and_date_cells_are_rendered_as_excel_shows_them(tmp_path):
    rows = [
        ["kind", "value"],
        ["barcode as number", 850064060010],
        ["14 digits", 10850064060017],
        ["big", 1.2e12],
        ["price", 19.99],
        ["third", 1 / 3],
        ["tiny", 1.5e-10],
        ["huge", 1e21],
        ["negative zero", -0.0],
        ["bool", True],
        ["date", dt.date(2024, 3, 1)],
        ["datetime", dt.datetime(2024, 3, 1, 12, 30, 5)],
        ["text", "00123"],
    ]
    path = make_xlsx(tmp_path / "typed.xlsx", {"Products": rows})
    assert read_all(path)[1] == [
        ["barcode as number", "850064060010"], ["14 digits", "10850064060017"], ["big", "1200000000000"],
        ["price", "19.99"], ["third", "0.333333333333333"], ["tiny", "1.5E-10"], ["huge", "1E+21"],
        ["negative zero", "0"], ["bool", "TRUE"], ["date", "2024-03-01"],
        ["datetime", "2024-03-01 12:30:05"], ["text", "00123"],
    ]


def test_cell_text_renders_times_and_durations():
    assert xlsx_format.cell_text(dt.time(12, 30)) == "12:30:00"
    assert xlsx_format.cell_text(dt.timedelta(hours=30, minutes=5)) == "30:05:00"
    assert xlsx_format.cell_text(dt.timedelta(seconds=-90)) == "-0:01:30"
    assert xlsx_format.cell_text(7) == "7" and xlsx_format.cell_text(False) == "FALSE"


def test_empty_cells_blank_rows_and_offsets(tmp_path):
    # Table at C3; an empty row inside it and an unnamed column in the middle.
    rows = [["sku", "", "title"], ["1", "", "a"], [None, None, None], ["3", "note", None]]
    path = make_xlsx(tmp_path / "in.xlsx", {"Products": rows}, at={"Products": (2, 2)})
    with CatalogReader(path) as reader:
        assert reader.columns == ["sku", "", "title"] and reader.count_rows() == 3
    assert read_all(path)[1] == [["1", "", "a"], ["", "", ""], ["3", "note", ""]]
    copy_catalog(path, tmp_path / "out.xlsx")
    cells = workbook_cells(tmp_path / "out.xlsx")["Products"]
    assert cells[2][2:] == ["sku", "", "title", "extra"]       # written where it was
    assert cells[4][2:] == ["", "", "", "x"]


def test_header_only_sheet(tmp_path):
    path = make_xlsx(tmp_path / "in.xlsx", {"S": [["a", "b"]]})
    with CatalogReader(path) as reader:
        assert reader.count_rows() == 0 and list(reader.batches()) == []
    copy_catalog(path, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == b"a,b,extra\n"


def test_parquet_to_xlsx_writes_typed_values_as_text(tmp_path):
    import pyarrow as pa

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"n": pa.array([1, None], pa.int64()), "d": [dt.date(2024, 3, 1), None],
                             "s": ["00123", None]}), src)
    copy_catalog(src, tmp_path / "out.xlsx")
    assert read_all(tmp_path / "out.xlsx")[1] == [["1", "2024-03-01", "00123", "x"], ["", "", "", "x"]]
    pq.write_table(pa.table({"tags": pa.array([["a"]])}), tmp_path / "nested.parquet")
    with pytest.raises(OutputError, match="'tags'.*Parquet"):
        copy_catalog(tmp_path / "nested.parquet", tmp_path / "nested.xlsx")
    assert leftovers(tmp_path) == [] and not (tmp_path / "nested.xlsx").exists()


# -- other sheets --------------------------------------------------------------------

def test_other_sheets_are_carried_over(tmp_path):
    sheets = {
        "Products": [["Handle", "Title", "Price"], ["tee", "Tee", 9.5], ["mug", "=not a formula", 12]],
        "Read me": [["Exported 2024", None, "by"], [None, "tab\there", None], ["", "", "last"]],
        "Lookup": [["code", "name"], ["007", "Bond"], [44, dt.date(2024, 1, 2)]],
        "Empty": [],
    }
    src = make_xlsx(tmp_path / "catalog.xlsx", sheets, hidden={"Lookup"}, at={"Read me": (3, 1)})
    copy_catalog(src, tmp_path / "out.xlsx", extra=("Title_es",), value="Camiseta")
    book = pc.CalamineWorkbook.from_path(str(tmp_path / "out.xlsx"))
    assert book.sheet_names == ["Products", "Read me", "Lookup", "Empty"]
    assert [m.visible for m in book.sheets_metadata] == [
        pc.SheetVisibleEnum.Visible, pc.SheetVisibleEnum.Visible, pc.SheetVisibleEnum.Hidden,
        pc.SheetVisibleEnum.Visible]
    book.close()
    cells = workbook_cells(tmp_path / "out.xlsx")
    assert cells["Products"] == [["Handle", "Title", "Price", "Title_es"], ["tee", "Tee", "9.5", "Camiseta"],
                                 ["mug", "=not a formula", "12", "Camiseta"]]
    read_me = cells["Read me"]                                 # same positions (starts at B4)
    assert read_me[3] == ["", "Exported 2024", "", "by"] and read_me[4] == ["", "", "tab\there", ""]
    assert read_me[5] == ["", "", "", "last"] and read_me[:3] == [["", "", "", ""]] * 3
    assert cells["Lookup"] == [["code", "name"], ["007", "Bond"], ["44", "2024-01-02"]]
    assert cells["Empty"] == []
    assert formula_cells(tmp_path / "out.xlsx") == 0
    # Every cell of the output is text, the carried-over sheets included.
    assert all("<v>" not in xml for xml in sheet_xml(tmp_path / "out.xlsx").values())


def test_choose_the_sheet_and_default_first_visible(tmp_path):
    src = make_xlsx(tmp_path / "book.xlsx", {"Hidden": [["x"], ["1"]], "Notes": [["n"], ["a"]],
                                              "Products": [["Title"], ["Tee"]]}, hidden={"Hidden"})
    with CatalogReader(src) as reader:
        assert reader.sheet == "Notes" and reader.columns == ["n"]
    assert read_all(src, sheet="Products") == (["Title"], [["Tee"]])
    assert read_all(src, sheet=2) == (["Title"], [["Tee"]])
    err = input_error(src, sheet="Produkte")
    assert "'Produkte'" in str(err) and "'Products'" in str(err)
    with CatalogReader(src, sheet="Products") as reader, \
            CatalogWriter(tmp_path / "out.xlsx", like=reader, extra_columns=["Title_es"]) as writer:
        for batch in reader.batches():
            writer.write(batch.with_columns(Title_es=pl.lit("Camiseta")))
    cells = workbook_cells(tmp_path / "out.xlsx")
    assert list(cells) == ["Hidden", "Notes", "Products"]
    assert cells["Products"] == [["Title", "Title_es"], ["Tee", "Camiseta"]]
    assert cells["Notes"] == [["n"], ["a"]] and cells["Hidden"] == [["x"], ["1"]]


def test_xlsx_to_csv_keeps_only_the_catalog_sheet_and_csv_to_xlsx_names_the_sheet(tmp_path):
    src = make_xlsx(tmp_path / "book.xlsx", {"P": [["a"], ["1"]], "Q": [["b"], ["2"]]})
    copy_catalog(src, tmp_path / "out.csv")
    assert parse_csv(tmp_path / "out.csv") == [["a", "extra"], ["1", "x"]]
    csv_src = tmp_path / "products_export[2025]: final?.csv"
    csv_src.write_bytes(b"a\n1\n")
    copy_catalog(csv_src, tmp_path / "out.xlsx")
    assert list(workbook_cells(tmp_path / "out.xlsx")) == ["products_export_2025__ final_"]


# -- formula injection -----------------------------------------------------------------

@pytest.fixture
def injection_csv(tmp_path) -> Path:
    rows = [["sku", "title"]] + [[f"s{i}", v] for i, v in enumerate(INJECTIONS)] + [["s99", "Tee"]]
    path = tmp_path / "in.csv"
    path.write_bytes(csv_bytes(rows))
    return path


def write_localized(src: Path, dst: Path, **kw) -> None:
    """title_es holds the model's answer: the title itself, dangerous or not."""
    with CatalogReader(src, batch_rows=4) as reader, \
            CatalogWriter(dst, like=reader, extra_columns=["title_es"], generated_columns=["title_es"],
                          **kw) as writer:
        for batch in reader.batches():
            writer.write(batch.with_columns(title_es=pl.col("title")))


def test_generated_formulas_are_neutralized_in_xlsx(injection_csv, tmp_path):
    out = tmp_path / "out.xlsx"
    write_localized(injection_csv, out)
    assert formula_cells(out) == 0
    assert "HYPERLINK" in "".join(sheet_xml(out).values())    # there, but as text
    columns, rows = read_all(out)
    assert columns == ["sku", "title", "title_es"]
    assert [r[1] for r in rows] == INJECTIONS + ["Tee"]        # the seller's cells: as they were
    assert [r[2] for r in rows] == ["'" + v for v in INJECTIONS] + ["Tee"]
    # Reading the output back with calamine directly (not our reader) agrees.
    cells = workbook_cells(out)["in"]
    assert all(isinstance(v, str) for row in cells for v in row)
    assert [r[2] for r in cells[1:]] == ["'" + v for v in INJECTIONS] + ["Tee"]


@pytest.mark.parametrize("suffix,delimiter", [(".csv", ","), (".tsv", "\t")])
def test_generated_formulas_are_neutralized_in_csv_and_tsv(injection_csv, tmp_path, suffix, delimiter):
    out = tmp_path / f"out{suffix}"
    write_localized(injection_csv, out)
    rows = parse_csv(out, delimiter)
    assert [r[1] for r in rows[1:]] == INJECTIONS + ["Tee"]
    assert [r[2] for r in rows[1:]] == ["'" + v for v in INJECTIONS] + ["Tee"]


def test_parquet_output_is_not_neutralized(injection_csv, tmp_path):
    write_localized(injection_csv, tmp_path / "out.parquet")
    assert pq.read_table(tmp_path / "out.parquet").column("title_es").to_pylist() == INJECTIONS + ["Tee"]


def test_seller_cells_starting_with_equals_stay_text_in_xlsx(tmp_path):
    src = make_xlsx(tmp_path / "in.xlsx", {"P": [["sku", "formula-like"], ["1", "=1+1"], ["2", "@SUM(A1)"]]})
    copy_catalog(src, tmp_path / "out.xlsx", value="=2+2")    # not declared generated: left as is
    assert formula_cells(tmp_path / "out.xlsx") == 0
    assert read_all(tmp_path / "out.xlsx")[1] == [["1", "=1+1", "=2+2"], ["2", "@SUM(A1)", "=2+2"]]


def test_neutralize_formulas_leaves_safe_and_null_values():
    frame = pl.DataFrame({"a": ["ok", " =x", "'=x", "", None, "a=b", "1-2"], "n": [1, 2, 3, 4, 5, 6, 7]})
    assert neutralize_formulas(frame, ["a", "n"]).equals(frame)


def test_unknown_generated_column_is_a_bug(injection_csv, tmp_path):
    with CatalogReader(injection_csv) as reader:
        with pytest.raises(ValueError):
            CatalogWriter(tmp_path / "o.csv", like=reader, extra_columns=[], generated_columns=["nope"])
    assert leftovers(tmp_path) == []


# -- Excel's limits ------------------------------------------------------------------------

def test_cell_over_32767_characters_is_an_error_not_a_cut(injection_csv, tmp_path):
    for text, length in [("x" * 32_768, "32,768"), ("😀" * 16_384, "32,768")]:   # Excel counts UTF-16
        with CatalogReader(injection_csv, batch_rows=5) as reader:
            with pytest.raises(OutputError) as info:
                with CatalogWriter(tmp_path / "out.xlsx", like=reader, extra_columns=["title_es"]) as writer:
                    for i, batch in enumerate(reader.batches()):
                        long = pl.Series("title_es", [text if i == 1 and j == 2 else "ok"
                                                      for j in range(batch.height)])
                        writer.write(batch.with_columns(long))
        message = str(info.value)
        assert "row 8, column 'title_es'" in message and length in message and "32,767" in message
        assert "\n" not in message
        assert not (tmp_path / "out.xlsx").exists() and leftovers(tmp_path) == []


def test_cell_of_exactly_32767_characters_is_kept(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes(b"a\n1\n")
    copy_catalog(src, tmp_path / "out.xlsx", value="y" * 32_767)
    assert read_all(tmp_path / "out.xlsx")[1] == [["1", "y" * 32_767]]


def test_too_many_rows_is_an_error_before_and_while_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_cells, "EXCEL_MAX_ROWS", 5)
    src = tmp_path / "in.csv"
    src.write_bytes(b"a\n" + b"1\n" * 5)                       # header + 5 rows = 6 > 5
    with CatalogReader(src) as reader:
        with pytest.raises(OutputError, match="5 rows.*at most 5.*CSV or Parquet"):
            CatalogWriter(tmp_path / "out.xlsx", like=reader, extra_columns=[])
        monkeypatch.setattr(reader, "count_rows", lambda strict=False: None)   # count unknown
        with pytest.raises(OutputError, match="at most 5"):
            with CatalogWriter(tmp_path / "out.xlsx", like=reader, extra_columns=[]) as writer:
                for batch in reader.batches():
                    writer.write(batch)
    assert not (tmp_path / "out.xlsx").exists() and leftovers(tmp_path) == []
    src.write_bytes(b"a\n" + b"1\n" * 4)
    copy_catalog(src, tmp_path / "ok.xlsx", extra=())
    assert len(read_all(tmp_path / "ok.xlsx")[1]) == 4


def test_character_excel_cannot_store_is_an_error(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("a,b\n1,ok\n2,bad\uffff\n".encode())
    with pytest.raises(OutputError, match=r"row 2, column 'b'.*U\+FFFF"):
        copy_catalog(src, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists() and leftovers(tmp_path) == []


# -- CSV for Excel ------------------------------------------------------------------------

def test_excel_csv_writes_a_bom(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("a\nשלום\n".encode())
    copy_catalog(src, tmp_path / "plain.csv")
    copy_catalog(src, tmp_path / "excel.csv", excel_csv=True)
    copy_catalog(src, tmp_path / "excel.tsv", excel_csv=True)
    copy_catalog(src, tmp_path / "excel.xlsx", excel_csv=True)   # no effect on a workbook
    assert not (tmp_path / "plain.csv").read_bytes().startswith(BOM)
    assert (tmp_path / "excel.csv").read_bytes() == BOM + "a,extra\nשלום,x\n".encode()
    assert (tmp_path / "excel.tsv").read_bytes().startswith(BOM + b"a\textra\n")
    assert read_all(tmp_path / "excel.xlsx")[1] == [["שלום", "x"]]


# -- bad workbooks -------------------------------------------------------------------------

def test_corrupt_workbooks(tmp_path):
    good = make_xlsx(tmp_path / "good.xlsx", {"S": [["a"]] + [[str(i)] for i in range(2000)]})
    data = good.read_bytes()
    zipped_csv = io.BytesIO()
    with zipfile.ZipFile(zipped_csv, "w") as z:
        z.writestr("data.csv", "a,b\n")
    cases = {
        "empty.xlsx": (b"", "empty"),
        "csv.xlsx": (b"a,b\n1,2\n", "not an .xlsx workbook"),
        "trunc.xlsx": (data[: len(data) // 2], "corrupt"),
        "zip.xlsx": (zipped_csv.getvalue(), "corrupt"),
        "xls.xlsx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000, "save it as .xlsx"),
    }
    for name, (blob, needle) in cases.items():
        path = tmp_path / name
        path.write_bytes(blob)
        assert needle in str(input_error(path)), name


def test_password_protected_workbook(tmp_path):
    # An encrypted .xlsx is an OLE compound file holding an "EncryptedPackage"
    # stream; the directory entry names it in UTF-16.
    blob = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000)
    blob[3000:3000] = "EncryptionInfo".encode("utf-16-le") + b"\0" * 50 + "EncryptedPackage".encode("utf-16-le")
    path = tmp_path / "locked.xlsx"
    path.write_bytes(bytes(blob))
    assert "password-protected" in str(input_error(path))


def test_empty_sheet_duplicate_and_missing_header_names(tmp_path):
    err = input_error(make_xlsx(tmp_path / "empty.xlsx", {"Products": []}))
    assert "'Products' is empty" in str(err)
    err = input_error(make_xlsx(tmp_path / "dup.xlsx", {"P": [["Title", "SKU", "Title"], ["a", "b", "c"]]}))
    assert "duplicate" in str(err) and "'Title'" in str(err)
    err = input_error(make_xlsx(tmp_path / "unnamed.xlsx", {"P": [["Title", None, "SKU", None], ["a", "b", "c", "d"]]}))
    assert "columns B, D have no name" in str(err)


def test_bad_workbook_on_the_command_line_is_one_line_and_writes_nothing(tmp_path):
    folder = tmp_path / "cli"
    folder.mkdir()
    bad = folder / "dup.xlsx"
    make_xlsx(bad, {"P": [["Title", "Title"], ["a", "b"]]})
    proc = subprocess.run([sys.executable, "-m", "localize", str(bad), "--to", "es"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("localize: error: ") and "duplicate" in lines[0]
    assert sorted(p.name for p in folder.iterdir()) == ["dup.xlsx"]


def test_cli_excel_flag_reaches_the_run(monkeypatch, tmp_path):
    import localize.pipeline.run as run_module
    from localize.cli.app import main

    seen = {}

    def fake_run(opts):
        seen["opts"] = opts
        return run_module.RunStats()

    monkeypatch.setattr(run_module, "run", fake_run)
    for argv, expected in [([], False), (["--excel"], True)]:
        with pytest.raises(SystemExit) as info:
            main([str(tmp_path / "c.csv"), "--to", "es", "--quiet", *argv])
        assert info.value.code == 0 and seen["opts"].excel_csv is expected


# -- properties ----------------------------------------------------------------------------

# Everything an Excel cell can hold: U+FFFE/U+FFFF cannot be stored in XML at all
# (an OutputError, tested above), surrogates are not text.
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff"), max_size=12)
cells = st.one_of(st.sampled_from(TRICKY + INJECTIONS + ["", "\r\n", "\n", ",", '""', "1" * 30]), _text,
                  st.text(st.sampled_from(list('ab ,"\r\n\t0😀ש=_x')), max_size=10))
# An empty name at the table's edge with no values under it is, in a sheet,
# just unused cells; names are non-empty here (a middle empty name is tested above).
names = st.one_of(st.sampled_from(TRICKY), _text).filter(lambda s: s != "")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 4), data=st.data(), batch_rows=st.integers(1, 5), bom=st.booleans())
def test_property_csv_to_xlsx_to_csv(width, data, batch_rows, bom):
    header = data.draw(st.lists(names, min_size=width, max_size=width, unique=True)
                       .filter(lambda h: "extra" not in h and "more" not in h))
    rows = data.draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=10))
    with tempfile.TemporaryDirectory() as tmp:
        src, mid = Path(tmp) / "in.csv", Path(tmp) / "mid.xlsx"
        src.write_bytes(csv_bytes([header] + rows, bom=bom))
        copy_catalog(src, mid, batch_rows=batch_rows)
        assert formula_cells(mid) == 0
        columns, got = read_all(mid, batch_rows=batch_rows)
        assert columns == header + ["extra"]
        assert got == [r + ["x"] for r in rows]
        copy_catalog(mid, Path(tmp) / "out.csv", extra=("more",), batch_rows=batch_rows)
        assert parse_csv(Path(tmp) / "out.csv") == [header + ["extra", "more"]] + [
            r + ["x", "x"] for r in rows]
        copy_catalog(mid, Path(tmp) / "out.parquet", extra=("more",), batch_rows=batch_rows)
        table = pq.read_table(Path(tmp) / "out.parquet")
        assert [table.column(j).to_pylist() for j in range(width)] == [[r[j] for r in rows] for j in range(width)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 4), data=st.data(), batch_rows=st.integers(1, 5))
def test_property_xlsx_written_by_xlsxwriter_reads_back_exactly(width, data, batch_rows):
    header = ["sku"] + data.draw(st.lists(names, min_size=width, max_size=width, unique=True)
                                 .filter(lambda h: "sku" not in h))
    # The first column is never empty, so no row is entirely empty (a sheet has no
    # way to tell a trailing empty row from unused cells).
    rows = data.draw(st.lists(st.lists(cells, min_size=width, max_size=width), max_size=10))
    rows = [[f"s{i}"] + r for i, r in enumerate(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        path = make_xlsx(Path(tmp) / "in.xlsx", {"Products": [header] + rows, "Other": [["keep", "me"]]})
        assert read_all(path, batch_rows=batch_rows) == (header, rows)
        copy_catalog(path, Path(tmp) / "out.xlsx", batch_rows=batch_rows)
        cells_out = workbook_cells(Path(tmp) / "out.xlsx")
        assert cells_out["Products"] == [header + ["extra"]] + [r + ["x"] for r in rows]
        assert cells_out["Other"] == [["keep", "me"]]


# -- real catalogs ----------------------------------------------------------------------------

REAL = sorted(CATALOGS.rglob("*.csv")) if CATALOGS.is_dir() else []


@pytest.mark.parametrize("path", REAL or [None], ids=lambda p: p and p.name)
def test_real_catalog_round_trips_through_xlsx(path, tmp_path):
    if path is None:
        pytest.skip(f"no shared catalogs at {CATALOGS}")
    original = parse_csv(path)
    header, rows = original[0], [r for r in original[1:] if r]
    if path.name == "products_export.2025.yadayada.csv":
        assert (len(header), len(rows)) == (54, 61)
    copy_catalog(path, tmp_path / "out.xlsx", extra=("Title (de)",), value="übersetzt", batch_rows=7)
    assert formula_cells(tmp_path / "out.xlsx") == 0
    columns, got = read_all(tmp_path / "out.xlsx", batch_rows=7)
    assert columns == header + ["Title (de)"]
    assert len(got) == len(rows)
    for i, (want, row) in enumerate(zip(rows, got), start=1):
        assert row == want + ["übersetzt"], f"row {i} differs"
    copy_catalog(tmp_path / "out.xlsx", tmp_path / "back.csv", extra=("again",), batch_rows=7)
    assert [r[:-2] for r in parse_csv(tmp_path / "back.csv")] == [header] + rows


# -- the whole run ------------------------------------------------------------------------------

def echo_engine(answer=None) -> FakeEngine:
    """A deterministic stand-in for the model: answers `[<locale>] <source>`,
    or `answer(source)` when given. A fake, because these tests check exact
    cells and bytes that a real model's free text cannot pin down; the real
    model runs end to end in tests/test_end_to_end.py."""
    return FakeEngine(first=(lambda kind, locale, source: answer(source)) if answer else None)


@pytest.fixture
def shop_xlsx(tmp_path) -> Path:
    return make_xlsx(tmp_path / "products.xlsx", {
        "Products": [["Handle", "Title", "Variant SKU", "Variant Barcode"],
                     ["tee", "Organic Tee", "00123", "0850064060010"],
                     ["mug", "=1+1", "00124", 850064060027]],
        "Notes": [["Exported by the shop", None], [None, "=kept as text"]],
    })


def localize(path: Path, engine: Backend, to: str = "es", **kw):
    with serving(engine):  # built by the engine registry, as --backend fake
        return run(RunOptions(input=path, locales=parse_locales(to), quiet=True, backend="fake", **kw))


def test_run_xlsx_to_xlsx_with_two_sheets(shop_xlsx, tmp_path):
    stats = localize(shop_xlsx, echo_engine(), to="es,fr")
    out = tmp_path / "products.localized.xlsx"
    assert stats.outputs == [str(out)] and stats.rows == 2
    cells = workbook_cells(out)
    assert list(cells) == ["Products", "Notes"]
    assert cells["Products"] == [
        ["Handle", "Title", "Variant SKU", "Variant Barcode", "Title_es", "Title_fr"],
        ["tee", "Organic Tee", "00123", "0850064060010", "[es] Organic Tee", "[fr] Organic Tee"],
        # "=1+1" has no words, so it is copied without a model call: the
        # seller's own text, never neutralized (only what the model wrote is).
        ["mug", "=1+1", "00124", "850064060027", "=1+1", "=1+1"],
    ]
    assert cells["Notes"] == [["Exported by the shop", ""], ["", "=kept as text"]]
    assert formula_cells(out) == 0


def test_run_neutralizes_a_formula_the_model_answers(shop_xlsx, tmp_path):
    localize(shop_xlsx, echo_engine(answer=lambda source: "=1+1"))
    out = tmp_path / "products.localized.xlsx"
    assert formula_cells(out) == 0
    rows = workbook_cells(out)["Products"]
    assert [r[1] for r in rows[1:]] == ["Organic Tee", "=1+1"]          # the seller's cells
    assert [r[4] for r in rows[1:]] == ["'=1+1", "=1+1"]  # the model's, neutralized; a copy of the seller's, not
    localize(shop_xlsx, echo_engine(answer=lambda source: "@cmd"), output=tmp_path / "out.csv", excel_csv=True)
    assert (tmp_path / "out.csv").read_bytes().startswith(BOM)
    assert [r[4] for r in parse_csv(tmp_path / "out.csv")[1:]] == ["'@cmd", "=1+1"]  # copied, not asked


def test_run_per_locale_xlsx_neutralizes_the_localized_column(shop_xlsx, tmp_path):
    localize(shop_xlsx, echo_engine(answer=lambda source: "-50% " + source), to="de", layout="per-locale")
    cells = workbook_cells(tmp_path / "products.de.xlsx")
    assert list(cells) == ["Products", "Notes"]
    assert cells["Products"][0] == ["Handle", "Title", "Variant SKU", "Variant Barcode"]
    assert [r[1] for r in cells["Products"][1:]] == ["'-50% Organic Tee", "=1+1"]  # the seller's own cell stays
    assert [r[2] for r in cells["Products"][1:]] == ["00123", "00124"]


def test_run_csv_to_xlsx(tmp_path):
    src = tmp_path / "feed.csv"
    src.write_bytes(b"sku,title\n00123,Rain Jacket\n0850064060010,\n")
    localize(src, echo_engine(), to="tr", output=tmp_path / "feed.xlsx")
    assert workbook_cells(tmp_path / "feed.xlsx") == {"feed": [
        ["sku", "title", "title_tr"], ["00123", "Rain Jacket", "[tr] Rain Jacket"], ["0850064060010", "", ""]]}


# -- sheet size before loading, linear writing (issue 20) ------------------------------

def stray_cell_workbook(path: Path, *, catalog_first: bool) -> Path:
    """A tiny workbook whose sheet 'Far' holds A1 and XFD1048576: calamine
    would allocate a 16,384 x 1,048,576 grid (512 GB) to load it."""
    book = xlsxwriter.Workbook(path)
    if catalog_first:
        products = book.add_worksheet("Products")
        products.write_row(0, 0, ["Handle", "Title"])
        products.write_row(1, 0, ["h1", "Red scarf"])
    far = book.add_worksheet("Far")
    far.write_string(0, 0, "a")
    far.write_string(1_048_575, 16_383, "z")
    book.close()
    return path


def test_catalog_sheet_spanning_the_whole_grid_is_refused_before_loading(tmp_path):
    path = stray_cell_workbook(tmp_path / "far.xlsx", catalog_first=False)
    assert path.stat().st_size < 8_000
    message = str(input_error(path))
    assert "sheet 'Far'" in message and "A1:XFD1048576" in message and "2 of them filled" in message


def test_other_sheet_spanning_the_whole_grid_is_refused_before_any_output(tmp_path):
    """The catalog sheet reads fine; the other sheet would only be loaded while
    writing the workbook, and is refused before the output is started."""
    path = stray_cell_workbook(tmp_path / "far.xlsx", catalog_first=True)
    with CatalogReader(path) as reader:
        assert reader.sheet == "Products"
        with pytest.raises(InputError, match="sheet 'Far' spans A1:XFD1048576"):
            CatalogWriter(tmp_path / "out.xlsx", like=reader, extra_columns=["Title_es"])
        copy_catalog(path, tmp_path / "out.csv", extra=("Title_es",))  # a CSV never loads that sheet
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_xlsxwriter_tmp", "far.xlsx", "out.csv"]  # no temp output


def test_writing_a_batch_builds_its_schema_a_fixed_number_of_times(monkeypatch):
    """polars builds `DataFrame.schema` afresh on every access (O(columns)); the
    writer asked for it once per column, so 5,000 columns took 35-60 s a batch.
    Counted, not timed: the number of schema builds must not grow with width."""
    from localize.io.xlsx_write import XlsxSink

    builds = {"n": 0}
    original = pl.DataFrame.schema

    def counted(frame):
        builds["n"] += 1
        return original.fget(frame)

    monkeypatch.setattr(pl.DataFrame, "schema", property(counted))

    def builds_for(width: int) -> int:
        columns = [f"c{i}" for i in range(width)]
        batch = pl.DataFrame({c: ["v", "w"] for c in columns})
        sink = XlsxSink(io.BytesIO(), columns, {c: pl.String for c in columns}, Path("o.xlsx"),
                        source=None, sheet_name="S")
        builds["n"] = 0
        sink.write(batch)
        sink.discard()
        return builds["n"]

    assert builds_for(3) == builds_for(300) <= 2


def test_neutralizing_generated_columns_builds_the_schema_once(monkeypatch):
    builds = {"n": 0}
    original = pl.DataFrame.schema
    monkeypatch.setattr(pl.DataFrame, "schema", property(lambda f: builds.__setitem__("n", builds["n"] + 1)
                                                        or original.fget(f)))
    batch = pl.DataFrame({f"c{i}": ["=1"] for i in range(200)})
    out = neutralize_formulas(batch, batch.columns)
    assert builds["n"] == 1 and out.row(0) == ("'=1",) * 200


def test_a_workbook_whose_sheet_index_points_nowhere_is_refused_in_one_line(tmp_path):
    """The size check reads the workbook's index itself: a part it names that
    is missing, or a DTD in the index, is a corrupt workbook, not a traceback."""
    from localize.io.xlsx_extent import sheet_extent

    src = tmp_path / "book.xlsx"
    xlsxwriter.Workbook(src).close()
    with zipfile.ZipFile(src) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in [("no_rels.xlsx", {k: v for k, v in parts.items() if "workbook.xml.rels" not in k}),
                       ("dtd.xlsx", {**parts, "xl/workbook.xml": b'<!DOCTYPE w [<!ENTITY e "x">]>'
                                     + parts["xl/workbook.xml"].split(b"?>", 1)[1]})]:
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            for part, content in data.items():
                z.writestr(part, content)
        with pytest.raises(InputError, match="not a readable .xlsx workbook"):
            sheet_extent(tmp_path / name, "Sheet1")
