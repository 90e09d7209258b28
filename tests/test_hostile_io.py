"""Generated hostile workbooks and Parquet files (issue 20, defects 3, 6, 13,
14, 15), through the real command line against the stub server.

Each defect was one example of a kind of input; hypothesis now draws from
the kind (tests/hostile_io_corpus.py builds the files):

- any used range of a sheet (cells anywhere on the 16,384 x 1,048,576 grid,
  with or without references, prefixed XML, blank styled cells), in the
  catalog sheet or another one: the size measured before loading agrees
  with calamine, and a run either works or stops with one line naming the
  sheet, leaving no file behind;
- any Arrow type (~30, nullable or not) and any number of untouched columns:
  a Parquet output holds them exactly as the input file does, and no output
  ever shows a panic or a traceback;
- a column to localize of any text type (string, large_string,
  string_view, dictionary, null), nullable or not, with cells the engine
  fails on: the run completes, failed cells are empty, the type stays text;
- any width: writing a batch to a workbook builds its schema a fixed number
  of times (linear in columns; counted, not timed).
"""

from __future__ import annotations

import io
import json
import random
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import python_calamine as pc
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fault_proxy import FaultProxy
from hostile_io_corpus import ARROW_TYPES, TEXT_TYPES, grid_cells, raw_xlsx, sheet_xml
from localize.cli.app import main
from localize.io import xlsx_extent
from localize.testing.stub_server import running_stub_server

GENERATED = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                           HealthCheck.too_slow])
LIMIT = 5_000  # grid cells per sheet in these tests, so what is allowed is also cheap to load
POISON = "POISON"  # a text the fault proxy answers 503 every time: its cells fail


@pytest.fixture(scope="module")
def stub_url():
    with running_stub_server() as url:
        yield url


@pytest.fixture(scope="module")
def poisoning_url(stub_url):
    with FaultProxy(stub_url, 0.0, chat_only=True, fail_marker=POISON) as proxy:
        yield proxy.url


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALIZE_CACHE_DIR", str(tmp_path / "cache"))  # never the user's store


def run_cli(source: Path, out: Path, url: str, capfd, *args: str) -> tuple[int, str, str]:
    capfd.readouterr()
    with pytest.raises(SystemExit) as info:
        main([str(source), "--to", "es", "--backend", "vllm", "--endpoint", url, "--retries", "0",
              "--no-cache", "--json", "--quiet", "-o", str(out), *args])
    stdout, stderr = capfd.readouterr()
    return info.value.code, stdout, stderr


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "panicked" not in stderr and "RUST_BACKTRACE" not in stderr, stderr


def assert_one_error_line(stderr: str, *needles: str) -> None:
    assert_clean(stderr)
    errors = [line for line in stderr.splitlines() if line.startswith("localize: error:")]
    assert len(errors) == 1 and all(line.startswith("localize: ") for line in stderr.splitlines() if line), stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])


# -- any used range ---------------------------------------------------------------------

def _implied(cells: dict, empty: set, data) -> set:
    """Cells that may drop their reference: the first of their row at column A,
    or right after the row's previous element (a reader places them there)."""
    elements = set(cells) | set(empty)
    chosen = set()
    for r, c in cells:
        before = [col for row, col in elements if row == r and col < c]
        if (max(before) + 1 if before else 0) == c and data.draw(st.booleans(), label=f"implied {r},{c}"):
            chosen.add((r, c))
    return chosen


@settings(GENERATED, max_examples=100)
@given(positions=st.sets(st.tuples(st.integers(0, 300), st.integers(0, 60)), min_size=1, max_size=25),
       empty=st.sets(st.tuples(st.integers(0, 400), st.integers(0, 80)), max_size=4),
       prefix=st.sampled_from(["", "x"]), ref_last=st.booleans(),
       space=st.sampled_from([" ", "\n", "\t", "\r\n  "]), data=st.data())
def test_measured_used_range_is_the_one_calamine_loads(positions, empty, prefix, ref_last, space, data):
    cells = {p: f"v{p[0]}.{p[1]}" for p in positions}
    implied = _implied(cells, empty, data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.xlsx"
        path.write_bytes(raw_xlsx([("S", sheet_xml(cells, implied=implied, empty=empty, prefix=prefix,
                                                                ref_last=ref_last, space=space))]))
        extent = xlsx_extent.sheet_extent(path, "S")
        with pc.CalamineWorkbook.from_path(str(path)) as book:
            sheet = book.get_sheet_by_name("S")
            (top, left), (bottom, right) = sheet.start, sheet.end
    measured = (extent.first_row, extent.first_col, extent.last_row, extent.last_col)
    if empty - set(cells):  # blank styled cells: calamine skips them, the exact scan may count them
        assert extent.first_row <= top and extent.first_col <= left
        assert extent.last_row >= bottom and extent.last_col >= right
    else:
        assert measured == (top, left, bottom, right)
    assert extent.cells >= len(cells)


_ANYWHERE = st.tuples(st.one_of(st.integers(0, 60), st.integers(0, 1_048_575)),
                      st.one_of(st.integers(0, 30), st.integers(0, 16_383)))


@settings(GENERATED, max_examples=40)
@given(top=st.integers(0, 4), left=st.integers(0, 3), data_rows=st.integers(1, 3),
       far_rows=st.lists(st.one_of(st.integers(1, 40), st.integers(1, 1_048_570)), max_size=2),
       notes=st.sets(_ANYWHERE, max_size=4), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_used_range_runs_or_stops_with_one_line(stub_url, capfd, monkeypatch, top, left, data_rows,
                                                     far_rows, notes, suffix):
    monkeypatch.setattr(xlsx_extent, "MAX_SHEET_CELLS", LIMIT)
    products = {(top, left): "Handle", (top, left + 1): "Title"}
    for i in range(data_rows):
        products[(top + 1 + i, left)], products[(top + 1 + i, left + 1)] = f"h{i}", f"Red scarf {i}"
    for i, down in enumerate(far_rows):  # a stray row far below the table
        products[(min(top + down, 1_048_575), left + 1)] = f"Stray {i}"
    book = [("Products", sheet_xml(products)), ("Notes", sheet_xml({p: "note" for p in notes}))]
    with tempfile.TemporaryDirectory() as folder:
        src, out = Path(folder) / "in.xlsx", Path(folder) / "out" / f"localized{suffix}"
        src.write_bytes(raw_xlsx(book))
        out.parent.mkdir()
        code, stdout, stderr = run_cli(src, out, stub_url, capfd)
        left_behind = sorted(p.name for p in out.parent.iterdir())
    event(f"exit {code}")
    if grid_cells(products) > LIMIT:
        assert code == 3 and left_behind == []
        assert_one_error_line(stderr, str(src), "sheet 'Products'", "Ctrl+End")
    elif suffix == ".xlsx" and grid_cells(notes) > LIMIT:
        assert code == 3 and left_behind == []
        assert_one_error_line(stderr, str(src), "sheet 'Notes'")
    else:
        assert code == 0, stderr
        assert_clean(stderr)
        assert json.loads(stdout)["rows"] == max(r for r, _ in products) - top


# -- any Arrow type, any number of untouched columns ---------------------------------------

_NOT_NULLABLE = {"null"}  # a null column cannot be declared non-nullable


def _untouched_table(type_names: list[str], nullable: list[bool], rows: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    titles = pa.array([f"Wool beanie {i}" for i in range(rows)])
    fields, arrays = [pa.field("title", pa.string())], [titles]
    for i, (name, may_be_null) in enumerate(zip(type_names, nullable)):
        may_be_null = may_be_null or name in _NOT_NULLABLE
        array = ARROW_TYPES[name](rng, rows, may_be_null)
        fields.append(pa.field(f"{name} #{i}", array.type, nullable=may_be_null))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


@settings(GENERATED, max_examples=30)
@given(type_names=st.lists(st.sampled_from(sorted(ARROW_TYPES)), min_size=1, max_size=60),
       nullable=st.lists(st.booleans(), min_size=60, max_size=60), rows=st.integers(1, 5),
       seed=st.integers(0, 2 ** 32), layout=st.sampled_from(["columns", "per-locale"]))
def test_untouched_columns_of_any_type_come_back_as_the_input_holds_them(stub_url, capfd, type_names, nullable,
                                                                          rows, seed, layout):
    table = _untouched_table(type_names, nullable, rows, seed)
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "in.parquet"
        pq.write_table(table, src)
        out = Path(folder) / ("{locale}.parquet" if layout == "per-locale" else "out.parquet")
        code, _, stderr = run_cli(src, out, stub_url, capfd, "--fields", "title", "--layout", layout)
        assert code == 0, stderr
        assert_clean(stderr)
        written = pq.read_table(Path(folder) / ("es.parquet" if layout == "per-locale" else "out.parquet"))
        stored = pq.read_table(src)
    untouched = stored.column_names[1:]
    assert written.select(untouched).schema == stored.select(untouched).schema
    for name in untouched:
        assert written.column(name).equals(stored.column(name)), name
    localized = written.column("title" if layout == "per-locale" else "title_es").to_pylist()
    assert localized == [f"[es] Wool beanie {i}" for i in range(rows)]


@settings(GENERATED, max_examples=25)
@given(type_names=st.lists(st.sampled_from(sorted(ARROW_TYPES)), min_size=1, max_size=8),
       seed=st.integers(0, 2 ** 32), suffix=st.sampled_from([".csv", ".tsv", ".xlsx"]))
def test_untouched_columns_of_any_type_to_a_text_format_never_panic(stub_url, capfd, type_names, seed, suffix):
    """CSV, TSV and XLSX hold text: a column is written as its text, or the
    run stops with one line before writing anything (a nested column in a
    workbook); never a panic message or a traceback."""
    table = _untouched_table(type_names, [True] * len(type_names), 3, seed)
    with tempfile.TemporaryDirectory() as folder:
        src, out = Path(folder) / "in.parquet", Path(folder) / "out" / f"localized{suffix}"
        pq.write_table(table, src)
        out.parent.mkdir()
        code, stdout, stderr = run_cli(src, out, stub_url, capfd, "--fields", "title")
        left_behind = sorted(p.name for p in out.parent.iterdir())
    event(f"exit {code}")
    if code == 0:
        assert_clean(stderr)
        assert json.loads(stdout)["rows"] == 3
    else:
        assert code == 4 and left_behind == [], (code, stderr)
        assert_one_error_line(stderr, str(out))


# -- a localized column of any text type, with failed cells --------------------------------

@settings(GENERATED, max_examples=40)
@given(type_name=st.sampled_from(sorted(TEXT_TYPES)), nullable=st.booleans(),
       titles=st.lists(st.sampled_from(["Red scarf", f"{POISON} hat", "Blue cap", "", None]), min_size=1,
                       max_size=6),
       layout=st.sampled_from(["columns", "per-locale"]))
def test_localized_column_of_any_text_type_survives_failed_cells(poisoning_url, capfd, type_name, nullable,
                                                                  titles, layout):
    dtype = TEXT_TYPES[type_name]
    titles = ["Wool beanie", *titles]  # one text that works: a run where every cell fails is another matter
    if pa.types.is_null(dtype):
        titles, nullable = [None] * len(titles), True
    elif not nullable:
        titles = ["" if t is None else t for t in titles]
    schema = pa.schema([pa.field("sku", pa.string(), nullable=False), pa.field("title", dtype, nullable=nullable)])
    table = pa.table({"sku": [f"s{i}" for i in range(len(titles))], "title": pa.array(titles).cast(dtype)},
                     schema=schema)
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "in.parquet"
        pq.write_table(table, src)
        out = Path(folder) / ("{locale}.parquet" if layout == "per-locale" else "out.parquet")
        code, _, stderr = run_cli(src, out, poisoning_url, capfd, "--fields", "title", "--layout", layout)
        assert code == 0, stderr
        assert_clean(stderr)
        written = pq.read_table(Path(folder) / ("es.parquet" if layout == "per-locale" else "out.parquet"))
        stored = pq.read_table(src)
    expected = [t if not t else None if POISON in t else f"[es] {t}" for t in titles]
    column = "title" if layout == "per-locale" else "title_es"
    assert written.column(column).to_pylist() == expected
    assert written.column("sku").equals(stored.column("sku"))
    field = written.schema.field(column)
    assert field.nullable
    if layout == "per-locale":
        stored_type = stored.schema.field("title").type
        assert field.type == (pa.string() if pa.types.is_null(stored_type) else stored_type)
    else:
        assert written.column("title").equals(stored.column("title"))


# -- any width ------------------------------------------------------------------------------

@settings(GENERATED, max_examples=30)
@given(width=st.integers(1, 3_000))
def test_writing_a_workbook_batch_is_linear_in_columns(monkeypatch, width):
    import polars as pl

    from localize.io.xlsx_write import XlsxSink

    builds = {"n": 0}
    original = pl.DataFrame.schema
    monkeypatch.setattr(pl.DataFrame, "schema",
                        property(lambda frame: builds.__setitem__("n", builds["n"] + 1) or original.fget(frame)))
    columns = [f"c{i}" for i in range(width)]
    batch = pl.DataFrame({c: ["v"] for c in columns})
    sink = XlsxSink(io.BytesIO(), columns, {c: pl.String for c in columns}, Path("o.xlsx"), source=None,
                    sheet_name="S")
    builds["n"] = 0
    sink.write(batch)
    sink.discard()
    assert builds["n"] == 1
