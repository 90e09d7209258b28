"""How much memory a worksheet would take to load, found before loading it.

calamine (the .xlsx reader) loads a sheet into one dense grid spanning its
used range, from the top-left to the bottom-right filled cell, at 32 bytes a
grid cell. A 1.6 KB workbook with one cell at A1 and one at XFD1048576 asks
for 16,384 x 1,048,576 grid cells, 512 GB, and the process dies in Rust (an
abort, no exception to catch). So every sheet's used range is measured first
from the sheet's own XML (the `<dimension>` tag is not trusted: any program
can write any value there) and a sheet over MAX_SHEET_CELLS is refused with
one line.

The fast path is a regular-expression scan of the XML stream for the cells'
`r="B7"` references (C speed, constant memory; about as long as calamine
takes to load the same sheet). A cell without a reference
(allowed: its position follows the previous one), a DTD, or markup the
patterns do not recognise switches to an exact scan with expat, which is
slower but counts every `<c>` element the way the reader places it.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from xml.parsers import expat

from localize.errors import InputError
from localize.io.xlsx_cells import EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS, column_index, column_letter, first_line

# 2**26 grid cells is 2 GB in calamine's grid alone: a full sheet of
# 1,048,576 rows and 64 columns fits; a sheet of stray cells far apart does not.
MAX_SHEET_CELLS = 67_108_864
_CHUNK = 8 << 20
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
# A cell with a value: <c r="B7" ...> (not the empty <c r="B7"/>).
_REFERENCED_CELL = re.compile(
    rb"<" + _PREFIX + rb"c(?=\s)[^>]*?\sr\s*=\s*[\"']([A-Z]{1,3})([0-9]{1,7})[\"'][^>]*(?<!/)>")
_PLAIN_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_CELL_START = re.compile(rb"<c[\s>/]")
_ANY_CELL = re.compile(rb"<" + _PREFIX + rb"c(?:\s[^>]*)?(?<!/)>")
_NEEDS_EXACT_SCAN = (b"<!DOCTYPE", b"<!ENTITY")
_MAX_CARRY = 64 << 20


@dataclass
class Extent:
    """A sheet's used range (0-based, inclusive) and its filled cells."""
    first_row: int = EXCEL_MAX_ROWS
    first_col: int = EXCEL_MAX_COLUMNS
    last_row: int = -1
    last_col: int = -1
    cells: int = 0

    @property
    def grid_cells(self) -> int:
        if self.cells == 0:
            return 0
        return (self.last_row - self.first_row + 1) * (self.last_col - self.first_col + 1)

    def add(self, rows: list[int], cols: list[int], cells: int) -> None:
        if rows:
            self.first_row, self.last_row = min(self.first_row, min(rows)), max(self.last_row, max(rows))
        if cols:
            self.first_col, self.last_col = min(self.first_col, min(cols)), max(self.last_col, max(cols))
        self.cells += cells

    def range_name(self) -> str:
        return (f"{column_letter(self.first_col)}{self.first_row + 1}:"
                f"{column_letter(self.last_col)}{self.last_row + 1}")


def check_sheet_size(path: Path, sheet: str) -> None:
    """Raises InputError if loading `sheet` of the workbook at `path` would
    take more than MAX_SHEET_CELLS grid cells (see the module docstring)."""
    extent = sheet_extent(path, sheet)
    if extent.grid_cells > MAX_SHEET_CELLS:
        gigabytes = extent.grid_cells * 32 / 1e9
        raise InputError(path, f"sheet {sheet!r} spans {extent.range_name()} ({extent.grid_cells:,} cells, "
                         f"{extent.cells:,} of them filled), which would take over {gigabytes:,.0f} GB of "
                         f"memory to read; at most {MAX_SHEET_CELLS:,} cells per sheet are read: delete the stray "
                         "cells far from the table (Ctrl+End in Excel goes to the last one) and save again")


def sheet_extent(path: Path, sheet: str) -> Extent:
    try:
        with zipfile.ZipFile(path) as book:
            part = _sheet_part(book, sheet)
            if part is None:
                raise InputError(path, f"sheet {sheet!r}: its cells are not in the workbook where its "
                                 "index says; the workbook may be corrupt")
            with book.open(part) as stream:
                return _scan(stream)
    except KeyError as e:  # a part the index names is not in the package
        raise InputError(path, f"not a readable .xlsx workbook; it may be corrupt ({e.args[0]})") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ET.ParseError,
            expat.ExpatError, ValueError) as e:
        raise InputError(path, f"not a readable .xlsx workbook; it may be corrupt or truncated "
                         f"({first_line(e)})") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _xml(book: zipfile.ZipFile, name: str) -> ET.Element:
    data = book.read(name)
    if any(marker in data for marker in _NEEDS_EXACT_SCAN):
        raise ValueError(f"{name} declares a DTD, which a workbook never needs")
    return ET.fromstring(data)


def _sheet_part(book: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding `sheet`'s cells: workbook.xml names the sheet's
    relationship id, workbook.xml.rels the id's target."""
    rel_id = None
    for el in _xml(book, "xl/workbook.xml").iter():
        if _local(el.tag) == "sheet" and el.get("name") == sheet:
            rel_id = next((v for k, v in el.attrib.items() if k.startswith("{") and _local(k) == "id"), None)
            break
    if rel_id is None:
        return None
    targets = {el.get("Id"): el.get("Target") for el in _xml(book, "xl/_rels/workbook.xml.rels").iter()
               if _local(el.tag) == "Relationship"}
    target = targets.get(rel_id)
    return _member(book, target) if target else None


def _member(book: zipfile.ZipFile, target: str) -> str | None:
    """Resolves a relationship target the ways readers do: absolute from the
    package root, or relative to xl/; an exact name first, then ignoring case."""
    target = target.replace("\\", "/")
    candidates = [posixpath.normpath(target.lstrip("/")), posixpath.normpath("xl/" + target.lstrip("/"))]
    names = book.namelist()
    lowered = {n.lower(): n for n in names}
    for name in candidates:
        if name in names:
            return name
    return next((lowered[n.lower()] for n in candidates if n.lower() in lowered), None)


def _scan(stream) -> Extent:
    extent, carry = Extent(), b""
    while block := stream.read(_CHUNK):
        data = carry + block
        end = data.rfind(b">") + 1
        data, carry = data[:end], data[end:]
        if any(marker in data for marker in _NEEDS_EXACT_SCAN) or len(carry) > _MAX_CARRY:
            return _exact_scan(stream, data + carry)
        pairs = _cell_references(data)
        if pairs is None:
            return _exact_scan(stream, data + carry)
        extent.add([int(r) - 1 for r in set(map(itemgetter(1), pairs))],
                   [column_index(c.decode()) for c in set(map(itemgetter(0), pairs))], len(pairs))
    return extent


def _cell_references(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """The (column, row) reference of every cell in `data`, or None if some
    cell has none the patterns can see. First the form Excel, LibreOffice and
    the usual libraries write (`<c r="B7"`, a literal the regex engine finds
    fast; blank styled cells count too, which only widens the measure), then
    any prefix and attribute order (blank cells left out, as the reader
    does)."""
    pairs = _PLAIN_CELL.findall(data)
    if len(pairs) == len(_CELL_START.findall(data)) and b":c" not in data:
        return pairs
    pairs = _REFERENCED_CELL.findall(data)
    return pairs if len(pairs) == len(_ANY_CELL.findall(data)) else None


_REFERENCE = re.compile(r"([A-Za-z]+)([0-9]+)")


def _exact_scan(stream, head: bytes) -> Extent:
    """Every <c> element placed as a reader places it: at its reference, or
    after the previous cell of its row; every cell counts, empty or not."""
    extent = Extent()
    where = {"row": -1, "col": -1}

    def refuse_dtd(*_args) -> None:
        raise ValueError("the sheet declares a DTD, which a workbook never needs")

    def start(name: str, attrs: dict) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "row":
            r = attrs.get("r", "")
            where["row"] = int(r) - 1 if r.isdigit() else where["row"] + 1
            where["col"] = -1
        elif local == "c":
            ref = _REFERENCE.fullmatch(attrs.get("r", "").strip())
            if ref:
                where["row"], where["col"] = int(ref.group(2)) - 1, column_index(ref.group(1).upper())
            else:
                where["row"], where["col"] = max(where["row"], 0), where["col"] + 1
            extent.add([where["row"]], [where["col"]], 1)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = start
    parser.Parse(head, False)
    while block := stream.read(_CHUNK):
        parser.Parse(block, False)
    parser.Parse(b"", True)
    return extent
