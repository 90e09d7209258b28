"""The quick-start catalog (examples/quickstart.csv) through the real CLI.

The engine is the stub OpenAI-compatible server (localize.testing.stub_server):
it is not a translator, so this proves what the README's quick start promises
about the file (detected fields, every row, untouched columns byte for byte),
not translation quality; the embedded model runs it in the README command.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES

QUICKSTART = EXAMPLES / "quickstart.csv"


@pytest.fixture(scope="module")
def stub() -> str:
    from localize.testing.stub_server import running_stub_server

    with running_stub_server() as url:
        yield url


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_quickstart_catalog_localizes_every_text_field_and_keeps_the_rest(stub, tmp_path):
    out = tmp_path / "quickstart.localized.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "localize", str(QUICKSTART), "--to", "es,fr,tr", "--backend", "vllm",
         "--endpoint", stub, "-o", str(out), "--quiet", "--no-cache"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    source, result = _rows(QUICKSTART), _rows(out)
    assert len(result) == len(source) == 5
    fields = ("Title", "Body (HTML)", "Option1 Name", "Option1 Value")
    for before, after in zip(source, result):
        for column, value in before.items():
            assert after[column] == value  # every original column unchanged
        for locale in ("es", "fr", "tr"):
            assert set(after) >= {f"{f}_{locale}" for f in fields}
            if before["Title"]:
                assert after[f"Title_{locale}"].startswith(f"[{locale}]")  # the stub's mark: it was sent
            # Empty cells stay empty; a size code like "24" is copied, not sent.
            assert bool(after[f"Body (HTML)_{locale}"]) == bool(before["Body (HTML)"])
    assert [r["Option1 Value_es"] for r in result if r["Option1 Value"] == "24"] == ["24"]
    assert sum(1 for r in source if r["Body (HTML)"].startswith("<")) == 2  # the README's "two with HTML pages"
