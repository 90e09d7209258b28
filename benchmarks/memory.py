"""Streaming memory: the localize process's peak RSS for a small and a 4x
larger catalog, in CSV and in Parquet, against the instant stub engine.

A streaming pipeline holds a batch, the bounded translation memory and the
writer's buffers, never the catalog: the two peaks should be within 10%.
Each run is the real CLI in a child process (titles only, one locale, to keep
the run short; a fresh translation store, as by default); its peak RSS comes from the kernel (wait4's ru_maxrss), which
covers that process alone: the stub server is a separate process, not its child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Metric, at_most, info, synthetic_catalog
from localize.testing.stub_server import running_stub_server

NAME = "memory"


def peak_rss_mb(args: list[str], env: dict | None = None) -> tuple[float, float, int, str, str]:
    """Run a command; return (peak RSS MiB, wall s, exit code, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # keeps Popen from waiting again
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        rss_kib = usage.ru_maxrss  # KiB on Linux
        return rss_kib / 1024, wall, proc.returncode, out.read().decode(), err.read().decode()


def localize_peak(catalog: Path, endpoint: str, locale: str = "es") -> dict:
    output = catalog.with_name(f"{catalog.stem}.out{catalog.suffix}")
    store = catalog.with_name(f"{catalog.stem}.store.sqlite")
    args = [
        sys.executable, "-m", "localize", str(catalog), "--to", locale, "--fields", "Title",
        "--backend", "vllm", "--endpoint", endpoint, "--quiet", "--json", "-o", str(output),
        # The translation store is on, as by default, but a fresh one: no run reuses another's
        # texts, and the user's own store is never filled with stub answers.
        "--cache", str(store),
    ]
    rss, wall, code, out, err = peak_rss_mb(args)
    if code != 0:
        raise RuntimeError(f"localize exited {code} on {catalog.name}: {err.strip()[-500:]}")
    stats = json.loads(out)
    for path in catalog.parent.glob(f"{catalog.stem}.*"):
        if path != catalog:
            path.unlink()
    return {"peak_rss_mb": rss, "wall_s": wall, "rows": stats["rows"], "model_calls": stats["model_calls"]}


def run_benchmark(small: int = 200_000, large: int = 800_000, formats=("csv", "parquet"),
                  workdir: Path | None = None) -> tuple[list[Metric], dict]:
    metrics: list[Metric] = []
    details: dict = {"rows": [small, large]}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp, running_stub_server() as url:
        for fmt in formats:
            runs = {}
            for rows in (small, large):
                catalog = synthetic_catalog(Path(tmp) / f"catalog_{rows}.{fmt}", rows)
                runs[rows] = localize_peak(catalog, url)
                runs[rows]["file_mb"] = catalog.stat().st_size / 2**20
                catalog.unlink()
            ratio = runs[large]["peak_rss_mb"] / runs[small]["peak_rss_mb"]
            details[fmt] = {str(k): v for k, v in runs.items()}
            details[fmt]["ratio"] = ratio
            metrics.append(info(NAME, f"{fmt} peak RSS, {small:,} rows", runs[small]["peak_rss_mb"], "MiB",
                                f"{runs[small]['wall_s']:.0f} s"))
            metrics.append(info(NAME, f"{fmt} peak RSS, {large:,} rows", runs[large]["peak_rss_mb"], "MiB",
                                f"{runs[large]['wall_s']:.0f} s, file {runs[large]['file_mb']:.0f} MiB"))
            metrics.append(at_most(NAME, f"{fmt} peak RSS ratio {large // small}x rows", ratio, 1.10))
    return metrics, details
