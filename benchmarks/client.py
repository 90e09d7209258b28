"""Client ceiling: how fast localize can feed a server that answers instantly.

Against the loopback stub (localize.testing.stub_server, a separate process,
so its CPU is not counted):

1. the whole pipeline, run() on N unique titles x locales: row x locales/s
   and the client process's CPU time per model request;
2. the raw client alone (backend.generate on the very requests the pipeline
   sent): the same numbers for the engine client without the pipeline;
3. with a server latency (--delay-ms, 200 ms) and --in-flight 512: the peak
   number of requests the stub saw at once, and the pipeline's request rate
   over the raw client's at that same cap (how full localize keeps a slow,
   wide server such as a GPU vLLM, where batches of hundreds run together).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import Metric, at_least, at_most, info, read_metrics, synthetic_catalog
from localize.backends.openai_server import OpenAIServerBackend
from localize.pipeline.run import RunOptions, run
from localize.testing.recording import RecordingBackend
from localize.testing.stub_server import running_stub_server
from localize.text.locales import parse_locales

NAME = "client"


def _pipeline(catalog: Path, out: Path, endpoint: str, locales: str, in_flight: int, batch_rows: int):
    """run() with a recording engine; returns (stats, requests sent, wall s, client CPU s).

    With a fresh translation store, as the CLI has by default: its writes are
    part of what a run costs, and a fresh one reuses nothing."""
    backend = RecordingBackend(OpenAIServerBackend(endpoint, max_in_flight=in_flight))
    store = out.with_name(f"{out.stem}.{time.monotonic_ns()}.sqlite")
    opts = RunOptions(
        input=catalog, locales=parse_locales(locales), output=out, fields="Title", backend="vllm",
        endpoint=endpoint, max_in_flight=in_flight, batch_rows=batch_rows, quiet=True, store=store,
    )
    try:
        backend.load()  # connection set-up is not part of the throughput
        cpu0, t0 = time.process_time(), time.perf_counter()
        stats = run(opts, backend=backend)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        backend.close()
    return stats, backend.requests, wall, cpu


def _raw(requests, endpoint: str, in_flight: int):
    """The engine client alone on prebuilt requests; returns (wall s, client CPU s, failures)."""
    with OpenAIServerBackend(endpoint, max_in_flight=in_flight) as backend:
        backend.load()
        cpu0, t0 = time.process_time(), time.perf_counter()
        gens = backend.generate(requests)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return wall, cpu, sum(not g.ok for g in gens)


def run_benchmark(
    rows: int = 5000, locales: str = "es,fr,tr", in_flight: int = 512, delay_ms: float = 200.0,
    delay_rows: int | None = None, batch_rows: int = 256, workdir: Path | None = None,
) -> tuple[list[Metric], dict]:
    n_locales = len(locales.split(","))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        catalog = synthetic_catalog(Path(tmp) / "titles.csv", rows)
        out = Path(tmp) / "out.csv"
        with running_stub_server() as url:
            stats, requests, wall, cpu = _pipeline(catalog, out, url, locales, in_flight, batch_rows)
            raw_wall, raw_cpu, raw_failures = _raw(requests, url, in_flight)
        # The latency run: a server that takes delay_ms per request, however many run at once.
        delay_rows = delay_rows or rows
        delay_catalog = catalog if delay_rows == rows else synthetic_catalog(Path(tmp) / "delay.csv", delay_rows)
        with running_stub_server("--delay-ms", str(delay_ms)) as url:
            d_stats, d_requests, d_wall, _ = _pipeline(delay_catalog, out, url, locales, in_flight, batch_rows)
            peak = read_metrics(url).get("stub_requests_in_flight_peak")
        with running_stub_server("--delay-ms", str(delay_ms)) as url:
            d_raw_wall, _, _ = _raw(d_requests, url, in_flight)
            raw_peak = read_metrics(url).get("stub_requests_in_flight_peak")

    calls = max(1, stats.model_calls)
    pipeline_rate = rows * n_locales / wall
    ideal_rate = in_flight / (delay_ms / 1000) if delay_ms else None
    saturation = (d_stats.model_calls / d_wall) / (len(d_requests) / d_raw_wall) if d_requests else None
    metrics = [
        at_least(NAME, "pipeline row x locales/s", pipeline_rate, 1000, "/s",
                 f"{rows:,} titles x {n_locales} locales, instant stub"),
        at_most(NAME, "pipeline client CPU per request", cpu / calls * 1000, 1.5, "ms"),
        info(NAME, "raw client requests/s", len(requests) / raw_wall, "/s", "backend.generate, same requests"),
        info(NAME, "raw client CPU per request", raw_cpu / max(1, len(requests)) * 1000, "ms"),
        at_least(NAME, "peak requests in flight", int(peak) if peak is not None else None, in_flight, "",
                 f"--in-flight {in_flight}, stub latency {delay_ms:g} ms"),
        info(NAME, "pipeline / raw client at that cap", saturation, "",
             "request rate; < 1: the server waits on batch edges and client work"),
    ]
    details = {
        "rows": rows, "locales": locales, "in_flight": in_flight, "batch_rows": batch_rows,
        "pipeline": {
            "wall_s": wall, "cpu_s": cpu, "model_calls": stats.model_calls, "segments": stats.segments,
            "failures": stats.failures, "row_locales_per_s": pipeline_rate,
            "requests_per_s": stats.model_calls / wall, "cpu_ms_per_request": cpu / calls * 1000,
        },
        "raw_client": {
            "wall_s": raw_wall, "cpu_s": raw_cpu, "requests": len(requests), "failures": raw_failures,
            "requests_per_s": len(requests) / raw_wall,
            "cpu_ms_per_request": raw_cpu / max(1, len(requests)) * 1000,
        },
        "with_latency": {
            "delay_ms": delay_ms, "rows": delay_rows, "pipeline_wall_s": d_wall, "raw_wall_s": d_raw_wall,
            "pipeline_requests_per_s": d_stats.model_calls / d_wall,
            "raw_requests_per_s": len(d_requests) / d_raw_wall if d_requests else None,
            "ideal_requests_per_s": ideal_rate,
            "peak_in_flight_pipeline": peak, "peak_in_flight_raw": raw_peak,
            "pipeline_over_raw": saturation,
        },
    }
    return metrics, details
