"""Streaming memory: the localize process's peak RSS for a small and a 4x
larger catalog, in CSV and in Parquet, against the instant stub engine.

A streaming pipeline holds a batch, the bounded translation memory and the
writer's buffers, never the catalog: the two peaks should be within 10%.
Each run is the real CLI in a child process (titles only, one locale, to keep
the run short; a fresh translation store, as by default). Its peak RSS comes
from the kernel (wait4's ru_maxrss) and covers that process alone: the stub
server is a separate process, not its child.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Metric, at_most, info, synthetic_catalog
from localize.testing.stub_server import running_stub_server

NAME = "memory"


# Run by a small launcher process, never forked from this one: Linux keeps a
# process's peak RSS across exec, so a child forked from a benchmark that has
# just built an 800k-row catalog would report the benchmark's own peak.
_LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
with open(sys.argv[1], "w") as f:
    json.dump({"peak_rss_bytes": usage.ru_maxrss * scale, "code": proc.returncode}, f)
"""


def peak_rss_mb(args: list[str]) -> tuple[float, float, int, str, str]:
    """Run a command; return (its peak RSS in MiB, wall s, exit code, stdout, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "rusage.json"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(result), *args], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if not result.exists():
            return 0.0, wall, proc.returncode or 1, proc.stdout, proc.stderr
        usage = json.loads(result.read_text())
    return usage["peak_rss_bytes"] / 2**20, wall, usage["code"], proc.stdout, proc.stderr


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
