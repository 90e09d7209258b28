"""Generators for the hostile workbook and Parquet kinds of issue 20, used by
tests/test_hostile_io.py with hypothesis drawing the parameters.

- `raw_xlsx` writes a workbook's XML by hand, so a sheet can hold cells at
  any position, with or without their `r="B7"` references, under a namespace
  prefix, next to empty styled cells: the shapes a reader must measure
  before loading (a grid spanning A1:XFD1048576 is 512 GB in calamine).
- `ARROW_TYPES` builds a column of any of ~30 Arrow types a Parquet file can
  hold (nullable or not), the ones polars cannot represent included;
  `TEXT_TYPES` are the types a localized column may have.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import random
import zipfile
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa

from localize.io.xlsx_cells import column_letter

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def sheet_xml(cells: dict[tuple[int, int], str], *, implied: set[tuple[int, int]] = frozenset(),
              empty: set[tuple[int, int]] = frozenset(), prefix: str = "", ref_last: bool = False,
              space: str = " ") -> str:
    """A worksheet part. `cells` maps (row, col), 0-based, to inline text;
    cells in `implied` are written without a reference (their position
    follows the previous cell of the row, so only a cell right after another,
    or the first of its row at column A, may be in it); `empty` cells are
    `<c r=".." s="1"/>`, as Excel writes a formatted blank; `ref_last` puts
    the reference after the other attributes (legal, and not what Excel does);
    `space` separates a cell's tag name from its attributes (any XML blank)."""
    p = f"{prefix}:" if prefix else ""
    rows: dict[int, list[tuple[int, str]]] = {}
    for (r, c), text in cells.items():
        rows.setdefault(r, []).append((c, f'<{p}is><{p}t xml:space="preserve">{escape(text)}</{p}t></{p}is>'))
    for r, c in empty:
        if (r, c) not in cells:
            rows.setdefault(r, []).append((c, None))
    body = []
    for r in sorted(rows):
        parts = []
        for c, inner in sorted(rows[r]):
            ref = "" if (r, c) in implied else f'{space}r="{column_letter(c)}{r + 1}"'
            if inner is None:
                parts.append(f'<{p}c{space}s="1"{ref}/>' if ref_last else f'<{p}c{ref} s="1"/>')
            else:
                attrs = f'{space}t="inlineStr"{ref}' if ref_last else f'{ref} t="inlineStr"'
                parts.append(f'<{p}c{attrs}>{inner}</{p}c>')
        body.append(f'<{p}row r="{r + 1}">{"".join(parts)}</{p}row>')
    xmlns = f'xmlns:{prefix}="{_MAIN_NS}"' if prefix else f'xmlns="{_MAIN_NS}"'
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {xmlns}>'
            f'<{p}dimension ref="A1"/><{p}sheetData>{"".join(body)}</{p}sheetData></{p}worksheet>')


def raw_xlsx(sheets: list[tuple[str, str]]) -> bytes:
    """A minimal .xlsx package holding `sheets` ((name, worksheet XML)) in order."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(sheets) + 1))
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
            'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            f'spreadsheetml.sheet.main+xml"/>{overrides}</Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
            f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>'
            + "".join(f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
                      for i, (name, _) in enumerate(sheets, start=1))
            + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL_NS}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, len(sheets) + 1))
            + "</Relationships>"),
    }
    for i, (_, xml) in enumerate(sheets, start=1):
        files[f"xl/worksheets/sheet{i}.xml"] = xml
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def grid_cells(positions) -> int:
    """How many grid cells calamine allocates for filled cells at `positions`."""
    positions = list(positions)
    if not positions:
        return 0
    rows = [r for r, _ in positions]
    cols = [c for _, c in positions]
    return (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1)


# -- Arrow columns -------------------------------------------------------------------------

def _values(make: Callable[[random.Random], object], dtype: pa.DataType):
    def build(rng: random.Random, n: int, nullable: bool) -> pa.Array:
        return pa.array([None if nullable and rng.random() < 0.3 else make(rng) for _ in range(n)], dtype)
    return build


def _extension(storage_build, wrap: Callable[[pa.Array], pa.Array]):
    def build(rng: random.Random, n: int, nullable: bool) -> pa.Array:
        return wrap(storage_build(rng, n, nullable))
    return build


def _dictionary(value_type: pa.DataType, index_type: pa.DataType, make) -> Callable:
    plain = _values(make, value_type)

    def build(rng: random.Random, n: int, nullable: bool) -> pa.Array:
        return plain(rng, n, nullable).dictionary_encode().cast(pa.dictionary(index_type, value_type))
    return build


def _word(rng: random.Random) -> str:
    return rng.choice(["Red scarf", "", " ", "00123", "=1+2", "Größe 42", "纯棉", "😀", "a\nb", "\x00"])


def _dec(precision: int, scale: int):
    def make(rng: random.Random) -> decimal.Decimal:
        digits = rng.randint(1, precision - scale)
        fraction = f"{rng.randrange(10 ** scale):0{scale}d}" if scale else "0"
        return decimal.Decimal(f"{rng.choice('-+')}{rng.randrange(10 ** digits)}.{fraction}")
    return make


_UUID = _values(lambda r: r.randbytes(16), pa.binary(16))
ARROW_TYPES: dict[str, Callable[[random.Random, int, bool], pa.Array]] = {
    "bool": _values(lambda r: r.random() < 0.5, pa.bool_()),
    "int8": _values(lambda r: r.randint(-128, 127), pa.int8()),
    "uint64": _values(lambda r: r.randrange(2 ** 64), pa.uint64()),
    "int64": _values(lambda r: r.randint(-2 ** 63, 2 ** 63 - 1), pa.int64()),
    "float16": _values(lambda r: r.choice([0.5, -2.0, 65504.0]), pa.float16()),
    "float64": _values(lambda r: r.choice([0.1, -0.0, 1e308, float("inf")]), pa.float64()),
    "decimal128(38,10)": _values(_dec(38, 10), pa.decimal128(38, 10)),
    "decimal256(60,2)": _values(_dec(60, 2), pa.decimal256(60, 2)),
    "decimal256(76,0)": _values(_dec(76, 0), pa.decimal256(76, 0)),
    "date32": _values(lambda r: dt.date(r.randint(1, 9999), 1, r.randint(1, 28)), pa.date32()),
    "time32[ms]": _values(lambda r: r.randrange(86_400_000), pa.time32("ms")),
    "time64[ns]": _values(lambda r: r.randrange(86_400 * 10 ** 9), pa.time64("ns")),
    "timestamp[ns,tz]": _values(lambda r: r.randint(-2 ** 62, 2 ** 62), pa.timestamp("ns", "Asia/Kolkata")),
    "timestamp[s]": _values(lambda r: r.randint(-10 ** 10, 10 ** 10), pa.timestamp("s")),
    "duration[us]": _values(lambda r: r.randint(-10 ** 12, 10 ** 12), pa.duration("us")),
    "binary": _values(lambda r: r.randbytes(r.randint(0, 8)), pa.binary()),
    "large_binary": _values(lambda r: r.randbytes(r.randint(0, 8)), pa.large_binary()),
    "fixed_size_binary[3]": _values(lambda r: r.randbytes(3), pa.binary(3)),
    "string": _values(_word, pa.string()),
    "large_string": _values(_word, pa.large_string()),
    "null": lambda rng, n, nullable: pa.nulls(n),
    "dictionary<int8,string>": _dictionary(pa.string(), pa.int8(), _word),
    "dictionary<int32,int64>": _dictionary(pa.int64(), pa.int32(), lambda r: r.randint(-5, 5)),
    "list<int32>": _values(lambda r: [r.randint(0, 9) for _ in range(r.randint(0, 3))], pa.list_(pa.int32())),
    "large_list<string>": _values(lambda r: [_word(r) for _ in range(r.randint(0, 2))], pa.large_list(pa.string())),
    "fixed_size_list<float32,2>": _values(lambda r: [r.random(), r.random()], pa.list_(pa.float32(), 2)),
    "struct<a:int16,b:string>": _values(lambda r: {"a": r.randint(-9, 9), "b": _word(r)},
                                        pa.struct([("a", pa.int16()), ("b", pa.string())])),
    "map<string,int32>": _values(lambda r: [(_word(r), r.randint(0, 9))], pa.map_(pa.string(), pa.int32())),
    "list<decimal256(50,3)>": _values(lambda r: [_dec(50, 3)(r)], pa.list_(pa.decimal256(50, 3))),
    "extension<uuid>": _extension(_UUID, lambda a: pa.ExtensionArray.from_storage(pa.uuid(), a)),
    "extension<json>": _extension(_values(lambda r: '{"k": [1, null]}', pa.string()),
                                  lambda a: pa.ExtensionArray.from_storage(pa.json_(), a)),
}

# The types of a column to localize: any Arrow string, a dictionary of
# strings (a pandas category) or a null column.
TEXT_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "large_string": pa.large_string(),
    "string_view": pa.string_view(),
    "dictionary<int8,string>": pa.dictionary(pa.int8(), pa.string()),
    "dictionary<int32,large_string>": pa.dictionary(pa.int32(), pa.large_string()),
    "dictionary<uint16,string>": pa.dictionary(pa.uint16(), pa.string()),
    "null": pa.null(),
}
