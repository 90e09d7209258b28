"""CSV/TSV output is the input's bytes plus the new cells (localize.io.csv_raw).

A seller who keeps the catalog in git, or reviews a run with a diff tool,
must see only the added columns (columns layout) or the localized cells
(per-locale files) change: quoting, `,,` against `,"",`, line endings and the
BOM come back as they were. The raw-text checks are tests/raw_diff.py's,
which do not use localize's reader. Every real export under
../shared/data/catalogs goes through the real command line (against the
loopback stub server); the hostile corpus is checked the same way in
test_hostile_input.py.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from localize.cli.app import main
from localize.io.catalog import CatalogReader, CatalogWriter
from localize.testing.stub_server import running_stub_server
from raw_diff import assert_only_added_fields_differ, assert_only_localized_fields_differ, raw_records

REPO = Path(__file__).resolve().parents[1]
# LOCALIZE_TEST_SHARED_DATA points a worktree elsewhere than ../shared/data at the real exports.
SHARED = Path(os.environ.get("LOCALIZE_TEST_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL = sorted((SHARED / "catalogs").rglob("*.csv")) if (SHARED / "catalogs").is_dir() else []


@pytest.fixture(scope="module")
def stub_url():
    with running_stub_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALIZE_CACHE_DIR", str(tmp_path / "cache"))


def localize(args: list[str], capfd) -> str:
    with pytest.raises(SystemExit) as info:
        main(args)
    _, err = capfd.readouterr()
    assert info.value.code == 0, err
    return err


def text_of(path: Path) -> str:
    return path.read_bytes().decode("utf-8").removeprefix("\ufeff")


def copy_with(path: Path, dest: Path, extra: dict[str, str] | None = None, changes: dict[str, str] | None = None,
              generated: list[str] | None = None) -> None:
    """Reads `path` and writes it to `dest` through the library, adding `extra`
    columns and replacing `changes` columns with constant values."""
    import polars as pl

    extra, changes = extra or {}, changes or {}
    with CatalogReader(path, batch_rows=2) as reader, CatalogWriter(
        dest, like=reader, extra_columns=list(extra), generated_columns=generated or list(extra)
    ) as writer:
        for batch in reader.batches():
            writer.write(batch.with_columns(pl.lit(v).alias(k) for k, v in {**changes, **extra}.items()))


def test_empty_fields_and_header_quotes_come_back_as_written(tmp_path):
    # What polars wrote differently: `,,` became `,"",` and "Is featured?" lost its quotes.
    data = ('Handle,"Is featured?",Title,Tags\r\n'
            'h-1,,Red scarf,""\r\n'
            'h-2,"yes","Scarf, blue",\r\n'
            '\r\n'
            'h-3,no,"Two\nlines","say ""hi"""')  # a blank line, and no line ending at the end
    src = tmp_path / "in.csv"
    src.write_bytes(codecs.BOM_UTF8 + data.encode())
    copy_with(src, tmp_path / "out.csv", extra={"Title_es": "Bufanda, roja"})
    out = (tmp_path / "out.csv").read_bytes()
    assert out == codecs.BOM_UTF8 + (
        'Handle,"Is featured?",Title,Tags,Title_es\r\n'
        'h-1,,Red scarf,"","Bufanda, roja"\r\n'
        'h-2,"yes","Scarf, blue",,"Bufanda, roja"\r\n'
        '\r\n'
        'h-3,no,"Two\nlines","say ""hi""","Bufanda, roja"').encode()


def test_changed_cells_are_the_only_new_bytes_of_a_per_locale_file(tmp_path):
    data = 'Handle\tTitle\tBody\tNote\nh-1\t"Red"\t\t""\nh-2\tBlue\t"<p>a</p>"\tx\n'
    src = tmp_path / "in.tsv"
    src.write_text(data, encoding="utf-8")
    copy_with(src, tmp_path / "out.tsv", changes={"Title": "=Rojo\t1"}, generated=["Title"])
    assert (tmp_path / "out.tsv").read_text(encoding="utf-8") == (
        "Handle\tTitle\tBody\tNote\n"
        "h-1\t\"'=Rojo\t1\"\t\t\"\"\n"  # neutralized, quoted because it holds the delimiter
        "h-2\t\"'=Rojo\t1\"\t\"<p>a</p>\"\tx\n")


def test_a_cell_given_back_unchanged_keeps_its_bytes(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('Handle,Title\nh-1,"Red"\nh-2,""\n', encoding="utf-8")
    copy_with(src, tmp_path / "out.csv", changes={"Title": "Red"}, generated=["Title"])
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == 'Handle,Title\nh-1,"Red"\nh-2,Red\n'


def test_a_conversion_is_written_fresh(tmp_path):
    """CSV to TSV changes every delimiter: nothing to preserve, the cells are written as CSV needs."""
    src = tmp_path / "in.csv"
    src.write_text('Handle,Title\nh-1,"Red"\n', encoding="utf-8")
    copy_with(src, tmp_path / "out.tsv", extra={"Title_es": "Rojo"})
    assert (tmp_path / "out.tsv").read_text(encoding="utf-8") == "Handle\tTitle\tTitle_es\nh-1\tRed\tRojo\n"


@pytest.mark.parametrize("path", REAL or [None], ids=lambda p: p and p.name)
def test_real_export_diffs_only_in_new_cells(path, stub_url, tmp_path, capfd):
    if path is None:
        pytest.skip(f"no shared catalogs at {SHARED / 'catalogs'}")
    base = [str(path), "--to", "es", "--backend", "vllm", "--endpoint", stub_url, "-q"]
    source = path.read_bytes()
    text = source.decode("utf-8").removeprefix("\ufeff")
    header = raw_records(text, ",")[0][1]

    localize([*base, "-o", str(tmp_path / "columns.csv")], capfd)
    out = (tmp_path / "columns.csv").read_bytes()
    assert out.startswith(codecs.BOM_UTF8) == source.startswith(codecs.BOM_UTF8)
    added = len(raw_records(text_of(tmp_path / "columns.csv"), ",")[0][1]) - len(header)
    assert added > 0
    assert_only_added_fields_differ(text, text_of(tmp_path / "columns.csv"), ",", added)

    localize([*base, "--layout", "per-locale", "-o", str(tmp_path / "{locale}.csv")], capfd)
    localized = {name[: -len("_es")] for name in raw_records(text_of(tmp_path / "columns.csv"), ",")[0][1][len(header):]}
    changed = assert_only_localized_fields_differ(text, text_of(tmp_path / "es.csv"), ",", localized)
    assert changed > 0
