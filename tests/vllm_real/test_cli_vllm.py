"""The command line against vLLM itself: `--backend vllm` (its server) and
`--backend vllm-offline` (in-process), with the tiny random model. Every row
must come out; the texts are garbage and are not looked at."""

from __future__ import annotations

import importlib.util
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("vllm") is None:  # found, not imported: localize sets vLLM's logging up first
    pytest.skip("vLLM is not installed here: CI runs these in its vLLM stage (.ci/vllm-stage.sh)",
                allow_module_level=True)

TITLES = ["Merino Base Layer Crew for Men, Black", "Waterproof Hiking Jacket", "Wool Beanie", "Rain Poncho"]


def write_catalog(path: Path, titles: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Handle", "Title"])
        writer.writerows([f"p{i}", t] for i, t in enumerate(titles))
    return path


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def localize(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOCALIZE_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "localize", *args], capture_output=True, text=True, env=env,
                          timeout=1800)


def assert_every_row_accounted_for(out: Path, summary: dict, rows: int) -> list[dict]:
    """Every input row is in the output, and every empty cell is explained: a failed
    request in the errors file, or an answer localize withheld (the random model's
    garbage breaks its checks) in the report. Returns the errors file's rows."""
    written = read_rows(out)
    assert [r["Handle"] for r in written] == [f"p{i}" for i in range(rows)]
    errors = read_sidecar(out, "errors")
    assert len(errors) == summary["failures"]
    withheld = {int(r["row"]) for r in read_sidecar(out, "report") if "cell left empty" in r["detail"]}
    explained = {int(e["row"]) for e in errors} | withheld  # both count data rows from 1
    empty = {i + 1 for i, r in enumerate(written) if not r["Title_es"]}
    assert empty <= explained, (empty, explained)
    assert summary["model_calls"] >= rows and summary["completion_tokens"] > 0
    return errors


def read_sidecar(out: Path, kind: str) -> list[dict]:
    path = out.with_name(f"{out.stem}.{kind}.csv")
    return read_rows(path) if path.exists() else []


def test_cli_against_vllm_server_writes_every_row(tmp_path, vllm_endpoint):
    catalog = write_catalog(tmp_path / "catalog.csv", TITLES)
    out = tmp_path / "out.csv"
    proc = localize(str(catalog), "--to", "es", "--backend", "vllm", "--endpoint", vllm_endpoint,
                    "-o", str(out), "--json", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert_every_row_accounted_for(out, summary, len(TITLES))
    assert "vllm server" in summary["backend"]


def test_cli_keeps_going_past_a_row_longer_than_the_context(tmp_path, vllm_endpoint):
    # Under localize's own 12,000-character cap per request, but over the model's context:
    # letters the tiny BPE never merged cost a token each.
    too_long = "qzv wkx " * 1000
    titles = [TITLES[0], too_long, TITLES[1]]
    catalog = write_catalog(tmp_path / "catalog.csv", titles)
    out = tmp_path / "out.csv"
    proc = localize(str(catalog), "--to", "es", "--backend", "vllm", "--endpoint", vllm_endpoint,
                    "-o", str(out), "--json", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    errors = assert_every_row_accounted_for(out, json.loads(proc.stdout), len(titles))
    long_row = [e for e in errors if int(e["row"]) == 2]
    assert long_row and "HTTP 400" in long_row[0]["reason"], errors


def test_cli_in_process_vllm_writes_every_row_and_keeps_vllm_off_the_terminal(tmp_path, tiny_model):
    catalog = write_catalog(tmp_path / "catalog.csv", TITLES)
    out = tmp_path / "out.csv"
    cache = tmp_path / "cache"
    proc = localize(str(catalog), "--to", "es", "--backend", "vllm-offline", "--model", str(tiny_model),
                    "-o", str(out), "--json", cache=cache)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert_every_row_accounted_for(out, summary, len(TITLES))
    # stderr holds localize's own lines only (progress and summary), none of vLLM's...
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("localize: ") for line in lines), proc.stderr
    # ...which went to the log file the summary names.
    log = cache / "vllm-offline.log"
    assert str(log) in summary["backend"]
    logged = log.read_text(errors="replace")
    assert "INFO" in logged and "EngineCore" in logged
