"""Dedup and reuse on real exports: how many model calls a catalog costs
against the (text, locale) pairs it really holds.

Every CSV export under ../shared/data/catalogs/<platform>/ goes through run()
with the instant stub engine. Per file: the segments the pipeline had to
localize, the distinct prompts among the calls (one per unique text, kind and
locale), the calls made, and how many segments were served by a translation
already made in the run. Calls above the distinct prompts would be waste.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import REPO, Metric, at_most, info
from localize.backends.openai_server import OpenAIServerBackend
from localize.errors import LocalizeError
from localize.pipeline.run import RunOptions, run
from localize.testing.recording import RecordingBackend
from localize.testing.stub_server import running_stub_server
from localize.text.locales import parse_locales

NAME = "dedup"
CATALOGS = REPO.parent / "shared" / "data" / "catalogs"


def find_catalogs(root: Path = CATALOGS) -> list[Path]:
    return sorted(root.glob("*/*.csv")) if root.is_dir() else []


def measure(catalog: Path, endpoint: str, locales: str, workdir: Path) -> dict:
    backend = RecordingBackend(OpenAIServerBackend(endpoint))
    opts = RunOptions(input=catalog, locales=parse_locales(locales), output=workdir / f"{catalog.stem}.out.csv",
                      backend="vllm", endpoint=endpoint, quiet=True)
    try:
        stats = run(opts, backend=backend)
    finally:
        backend.close()
    distinct = len({tuple((m["role"], m["content"]) for m in req.messages) for req in backend.requests})
    return {
        "rows": stats.rows, "segments": stats.segments, "copied": stats.copied,
        "distinct_prompts": distinct, "model_calls": stats.model_calls, "repairs": stats.repairs,
        "reused": stats.reused, "reuse_pct": 100.0 * stats.reused / stats.segments if stats.segments else 0.0,
        "redundant_calls": len(backend.requests) - distinct,
    }


def run_benchmark(locales: str = "es,fr,tr", catalogs: list[Path] | None = None,
                  workdir: Path | None = None) -> tuple[list[Metric], dict]:
    catalogs = find_catalogs() if catalogs is None else catalogs
    if not catalogs:
        return [info(NAME, "catalogs", None, note=f"skipped: no CSV under {CATALOGS}")], {"skipped": True}
    metrics: list[Metric] = []
    details: dict = {"locales": locales, "files": {}}
    totals = {"segments": 0, "distinct_prompts": 0, "model_calls": 0, "reused": 0, "redundant_calls": 0}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp, running_stub_server() as url:
        for path in catalogs:
            label = f"{path.parent.name}/{path.name}"
            try:
                result = measure(path, url, locales, Path(tmp))
            except LocalizeError as exc:  # e.g. a template with no text columns
                details["files"][label] = {"skipped": str(exc)}
                continue
            details["files"][label] = result
            for key in totals:
                totals[key] += result[key]
            metrics.append(info(
                NAME, label, result["model_calls"], "calls",
                f"{result['rows']:,} rows, {result['segments']:,} segments, "
                f"{result['distinct_prompts']:,} distinct prompts, {result['reuse_pct']:.0f}% reused",
            ))
    details["total"] = totals
    segments = totals["segments"] or 1
    metrics.append(info(NAME, "all files: segments -> model calls", totals["model_calls"], "calls",
                        f"{totals['segments']:,} segments ({100.0 * totals['reused'] / segments:.0f}% reused)"))
    metrics.append(at_most(NAME, "calls beyond distinct prompts", totals["redundant_calls"], 0))
    return metrics, details
