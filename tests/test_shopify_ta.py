"""Shopify Translate & Adapt files: recognized by header, filled in place, re-importable.

The pipeline-level tests use the deterministic fake engine (localize.testing.fake_engine)
(exact byte checks on every untouched cell); the real embedded model fills the
example file in test_translate_adapt_example_with_real_model.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES
from localize.errors import UsageError
from localize.pipeline import shopify_ta
from localize.pipeline.run import RunOptions, run
from localize.testing.fake_engine import FakeEngine, serving
from localize.text.locales import parse_locales

EXAMPLE = EXAMPLES / "translate_adapt.fr.csv"


def rows_of(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def fill(path: Path, to: str = "fr", **kw):
    engine = FakeEngine()
    with serving(engine):  # built by the engine registry, as --backend fake
        stats = run(RunOptions(input=path, locales=parse_locales(to), quiet=True, backend="fake", **kw))
    return stats, engine


def test_recognized_by_header():
    assert shopify_ta.is_translate_adapt(rows_of(EXAMPLE)[0])
    assert not shopify_ta.is_translate_adapt(["Handle", "Title"])


def test_fills_empty_translations_and_keeps_every_other_cell(tmp_path):
    src = tmp_path / "ta.csv"
    src.write_bytes(EXAMPLE.read_bytes())
    stats, engine = fill(src)
    before, after = rows_of(src), rows_of(tmp_path / "ta.localized.csv")
    assert after[0] == before[0] and len(after) == len(before)  # same columns, same rows: importable
    assert (tmp_path / "ta.localized.csv").read_bytes().count(b"\r\n") >= len(before)  # CRLF kept
    for a, b in zip(before[1:], after[1:]):
        assert b[:7] == a[:7]  # only "Translated content" may change
    filled = {(r[0], r[2], r[6]): r[7] for r in after[1:]}
    assert filled[("PRODUCT", "title", "Nordvik Fjell 2L Rain Jacket")] == "[fr] Nordvik Fjell 2L Rain Jacket"
    assert filled[("PRODUCT_OPTION", "name", "Color")] == "[fr] Color"
    assert filled[("PRODUCT_OPTION_VALUE", "name", "Forest Green")] == "[fr] Forest Green"
    assert filled[("COLLECTION", "title", "Rain Gear")] == "[fr] Rain Gear"
    assert filled[("PRODUCT", "body_html", before[2][6])].startswith("<p>")
    # Existing translations, handles, metafields and empty sources are left alone.
    assert filled[("PRODUCT_OPTION_VALUE", "name", "Black")] == "Noir"
    assert filled[("PRODUCT", "title", "Nordvik Tind Wool Beanie")] == "Bonnet en laine Nordvik Tind"
    assert filled[("PRODUCT", "handle", "nordvik-fjell-2l-rain-jacket")] == ""
    assert filled[("METAFIELD", "value", before[12][6])] == ""
    assert filled[("PRODUCT", "body_html", "")] == ""
    sent = {s.source for s in engine.requests}
    assert "nordvik-fjell-2l-rain-jacket" not in sent and "Noir" not in sent
    assert stats.failures == 0 and stats.rows == len(before) - 1


def test_overwrite_replaces_existing_translations(tmp_path):
    src = tmp_path / "ta.csv"
    src.write_bytes(EXAMPLE.read_bytes())
    fill(src, overwrite=True)
    filled = {r[6]: r[7] for r in rows_of(tmp_path / "ta.localized.csv")[1:]}
    assert filled["Black"] == "[fr] Black"
    assert filled["nordvik-fjell-2l-rain-jacket"] == ""  # never a handle


def test_only_rows_of_requested_locales(tmp_path):
    rows = rows_of(EXAMPLE)
    rows.append(["PRODUCT", "1", "title", "de", "", "outdated", "Canvas Tote", ""])
    src = tmp_path / "ta.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    stats, engine = fill(src, to="de")
    assert {s.locale for s in engine.requests} == {"de"} and stats.model_calls == 1
    out = rows_of(tmp_path / "ta.localized.csv")
    assert out[-1][7] == "[de] Canvas Tote"
    assert [r[7] for r in out[1:-1]] == [r[7] for r in rows[1:-1]]  # the fr rows are untouched


@pytest.mark.parametrize("kw", [{"layout": "per-locale"}, {"fields": "Default content"}])
def test_options_that_do_not_apply(tmp_path, kw):
    src = tmp_path / "ta.csv"
    src.write_bytes(EXAMPLE.read_bytes())
    with pytest.raises(UsageError):
        fill(src, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ta.csv"]


@pytest.mark.model
def test_translate_adapt_example_with_real_model(tmp_path, embedded_model_path):
    src = tmp_path / "translate_adapt.fr.csv"
    src.write_bytes(EXAMPLE.read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "localize", str(src), "--to", "fr", "--backend", "embedded", "--json"],
        capture_output=True, text=True, timeout=900, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Translate & Adapt" in proc.stderr
    stats = json.loads(proc.stdout)
    assert stats["failures"] == 0
    before, after = rows_of(src), rows_of(tmp_path / "translate_adapt.fr.localized.csv")
    for a, b in zip(before[1:], after[1:]):
        assert b[:7] == a[:7]
        if a[7] or a[2] in ("handle", "value") or not a[6]:
            assert b[7] == a[7]
        else:
            assert b[7], a  # every row it should fill is filled


def test_filled_cells_are_neutralized_but_existing_translations_are_not(tmp_path):
    rows = rows_of(EXAMPLE)
    rows.append(["PRODUCT", "2", "title", "fr", "", "outdated", "Sale", ""])
    rows.append(["PRODUCT", "3", "title", "fr", "", "translated", "Promo", "=seller's own"])
    src = tmp_path / "ta.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    engine = FakeEngine(first=lambda kind, loc, text: "=1+1" if text == "Sale" else None)
    with serving(engine):
        run(RunOptions(input=src, locales=parse_locales("fr"), quiet=True, backend="fake"))
    out = {r[6]: r[7] for r in rows_of(tmp_path / "ta.localized.csv")[1:]}
    assert out["Sale"] == "'=1+1"  # a formula the model wrote is neutralized
    assert out["Promo"] == "=seller's own"
