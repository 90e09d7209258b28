"""Pipeline efficiency: localize's generated tokens/s over the raw engine's on
the identical prompts and sampling settings, measured in one run.

The prompts are the ones the pipeline sends: run() first plans the catalog
slice against an instant in-process engine that records every request
(nothing is timed there). Then, for each engine:

- embedded: the raw engine is xllamacpp's Server.handle_chat_completions,
  called directly with the same payloads, in the order and with the
  parallelism the embedded backend uses; the pipeline is run() with that same
  loaded engine (no second model in memory, no load time counted);
- HTTP: the raw engine is a plain aiohttp client posting the same JSON bodies
  at the same concurrency; the pipeline is run() with --backend vllm. The
  server is --endpoint when given (a vLLM server), else llama.cpp's own
  OpenAI-compatible server started in this process from the embedded model
  (vLLM's CPU build needs a 3.4 GB install, a converted model and minutes to
  start on 2 cores: see ../shared/MODELS.md), with /metrics on, so the
  prefix-cache hit rate is read from it.

Efficiency = pipeline completion tokens/s / raw completion tokens/s. The
pipeline may add repair calls (outputs over a length limit) that the raw run
does not make; they count as generated tokens for both rates, which compare
speeds, not totals.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from benchmarks.common import (
    REPO, Metric, at_least, info, prefix_cache_hit_rate, read_metrics, synthetic_catalog,
)
from localize.backends.base import Backend, Generation, GenerationRequest
from localize.backends.openai_server import build_chat_payload
from localize.pipeline.run import RunOptions, run
from localize.testing.recording import RecordingBackend
from localize.testing.stub_server import answer
from localize.text.locales import parse_locales

NAME = "efficiency"
EXAMPLE_CATALOG = REPO / "examples" / "catalog.csv"


class _InstantEngine(Backend):
    """Answers like the stub server, in-process: lets run() plan without a model."""

    name = "instant"

    def generate(self, requests, on_result=None):
        out = []
        for i, req in enumerate(requests):
            gen = Generation(answer(list(req.messages)), completion_tokens=1)
            out.append(gen)
            if on_result:
                on_result(i, gen)
        return out


def make_catalog(workdir: Path, rows: int, fields: str) -> Path:
    """The first `rows` rows of the example catalog that have text in `fields`
    (variant rows without a title are skipped), or unique synthetic titles
    when more rows are asked for than it has."""
    import polars as pl

    example = pl.read_csv(EXAMPLE_CATALOG, infer_schema=False)
    columns = [c.strip() for c in fields.split(",") if c.strip() in example.columns]
    with_text = example.filter(pl.any_horizontal(pl.col(c).is_not_null() & (pl.col(c) != "") for c in columns))
    path = workdir / "efficiency.csv"
    if columns and rows <= with_text.height:
        with_text.head(rows).write_csv(path)
        return path
    return synthetic_catalog(path, rows)


def _options(catalog: Path, locales: str, fields: str, **kw) -> RunOptions:
    return RunOptions(input=catalog, locales=parse_locales(locales), fields=fields,
                      output=catalog.with_name("efficiency.out.csv"), quiet=True, **kw)


def planned_requests(catalog: Path, locales: str, fields: str) -> list[GenerationRequest]:
    recorder = RecordingBackend(_InstantEngine())
    run(_options(catalog, locales, fields), backend=recorder)
    return recorder.requests


def _timed_pipeline(opts: RunOptions, backend: Backend | None = None) -> dict:
    # A fresh translation store, as the CLI has by default (and nothing to reuse in it).
    opts.store = opts.input.with_name(f"store.{time.monotonic_ns()}.sqlite")
    t0 = time.perf_counter()
    stats = run(opts, backend=backend)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "completion_tokens": stats.completion_tokens, "prompt_tokens": stats.prompt_tokens,
            "model_calls": stats.model_calls, "repairs": stats.repairs, "failures": stats.failures,
            "tokens_per_s": stats.completion_tokens / wall}


# -- embedded -----------------------------------------------------------------


def _embedded_payload(req: GenerationRequest) -> dict:
    # What EmbeddedBackend sends for one request.
    payload = {"messages": list(req.messages), "max_tokens": req.max_tokens,
               "temperature": req.temperature, "repeat_penalty": req.repeat_penalty}
    if req.stop:
        payload["stop"] = list(req.stop)
    return payload


def raw_embedded(server, requests: Sequence[GenerationRequest], parallel: int) -> dict:
    """xllamacpp directly: same payloads, prompt-prefix order, one thread per slot."""
    payloads = sorted((_embedded_payload(r) for r in requests),
                      key=lambda p: tuple(m["content"] for m in p["messages"][:-1]))
    tokens = {"completion": 0, "prompt": 0, "cached": 0, "failures": 0}
    lock = threading.Lock()

    def one(payload):
        reply = server.handle_chat_completions(payload)
        with lock:
            if not isinstance(reply, dict) or "choices" not in reply:
                tokens["failures"] += 1
                return
            usage = reply.get("usage") or {}
            tokens["completion"] += usage.get("completion_tokens", 0)
            tokens["prompt"] += usage.get("prompt_tokens", 0)
            tokens["cached"] += (reply.get("timings") or {}).get("cache_n", 0)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        list(pool.map(one, payloads))
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "completion_tokens": tokens["completion"], "prompt_tokens": tokens["prompt"],
            "failures": tokens["failures"], "tokens_per_s": tokens["completion"] / wall,
            "prefix_cache_hit_rate": tokens["cached"] / tokens["prompt"] if tokens["prompt"] else None}


def bench_embedded(catalog: Path, requests, locales: str, fields: str, parallel: int, threads: int | None,
                   model: str | None, batch_rows: int = 256) -> dict:
    from localize.backends.embedded import EmbeddedBackend

    backend = EmbeddedBackend(model, n_parallel=parallel, threads=threads)
    try:
        backend.load()
        server = backend._server  # the very engine the pipeline uses: same model, same params
        raw_embedded(server, requests[:1], 1)  # warm-up (page cache, first-call allocations), not counted
        raw = raw_embedded(server, requests, parallel)
        opts = _options(catalog, locales, fields, backend="embedded", batch_rows=batch_rows)
        pipeline = _timed_pipeline(opts, backend)
        description = backend.description
    finally:
        backend.close()
    return {"engine": description, "raw": raw, "pipeline": pipeline,
            "efficiency": pipeline["tokens_per_s"] / raw["tokens_per_s"] if raw["tokens_per_s"] else None}


# -- over HTTP ------------------------------------------------------------------


async def _raw_http_async(endpoint: str, bodies: list[bytes], in_flight: int) -> dict:
    import aiohttp

    totals = {"completion": 0, "prompt": 0, "failures": 0}
    sem = asyncio.Semaphore(in_flight)
    url = endpoint.rstrip("/") + "/chat/completions"
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=in_flight), timeout=aiohttp.ClientTimeout(total=3600),
        headers={"Content-Type": "application/json"},
    ) as session:
        async def one(body: bytes):
            async with sem, session.post(url, data=body) as resp:
                raw = await resp.read()
            if resp.status != 200:
                totals["failures"] += 1
                return
            usage = json.loads(raw).get("usage") or {}
            totals["completion"] += usage.get("completion_tokens") or 0
            totals["prompt"] += usage.get("prompt_tokens") or 0

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "completion_tokens": totals["completion"], "prompt_tokens": totals["prompt"],
            "failures": totals["failures"], "tokens_per_s": totals["completion"] / wall}


def served_model(endpoint: str) -> str:
    import urllib.request

    with urllib.request.urlopen(endpoint.rstrip("/") + "/models", timeout=10) as resp:
        return json.loads(resp.read())["data"][0]["id"]


def raw_http(endpoint: str, requests: Sequence[GenerationRequest], in_flight: int) -> dict:
    model = served_model(endpoint)
    bodies = [json.dumps(build_chat_payload(r, model), ensure_ascii=False).encode() for r in requests]
    before = read_metrics(endpoint)
    result = asyncio.run(_raw_http_async(endpoint, bodies, in_flight))
    result["prefix_cache_hit_rate"], result["hit_rate_source"] = prefix_cache_hit_rate(
        before, read_metrics(endpoint), result["prompt_tokens"])
    return result


def bench_http(catalog: Path, requests, locales: str, fields: str, endpoint: str, in_flight: int,
               batch_rows: int = 256) -> dict:
    raw_http(endpoint, requests[:1], 1)  # warm-up, not counted
    raw = raw_http(endpoint, requests, in_flight)
    before = read_metrics(endpoint)
    pipeline = _timed_pipeline(_options(catalog, locales, fields, backend="vllm", endpoint=endpoint,
                                        max_in_flight=in_flight, batch_rows=batch_rows))
    pipeline["prefix_cache_hit_rate"], pipeline["hit_rate_source"] = prefix_cache_hit_rate(
        before, read_metrics(endpoint), pipeline["prompt_tokens"])
    return {"endpoint": endpoint, "in_flight": in_flight, "raw": raw, "pipeline": pipeline,
            "efficiency": pipeline["tokens_per_s"] / raw["tokens_per_s"] if raw["tokens_per_s"] else None}


def llama_cpp_server(model: str | None, parallel: int, threads: int | None):
    """llama.cpp's OpenAI-compatible HTTP server (xllamacpp), /metrics on. Returns (server, .../v1)."""
    import os

    import xllamacpp

    from localize.backends.model_store import check_gguf, ensure_model

    p = xllamacpp.CommonParams()
    p.model.path = str(check_gguf(model) if model else ensure_model())
    p.n_parallel = parallel
    p.n_ctx = 8192 * parallel
    p.cpuparams.n_threads = p.cpuparams_batch.n_threads = threads or os.cpu_count() or 1
    p.verbosity = -1
    p.endpoint_metrics = True
    server = xllamacpp.Server(p)  # listens on a free loopback port
    return server, server.listening_address + "/v1"


# -- the benchmark ----------------------------------------------------------------


def run_benchmark(rows: int = 12, locales: str = "es,fr,tr", fields: str = "Title", engines=("embedded", "http"),
                  endpoint: str | None = None, in_flight: int | None = None, parallel: int = 1,
                  threads: int | None = None, model: str | None = None, batch_rows: int = 256,
                  workdir: Path | None = None) -> tuple[list[Metric], dict]:
    metrics: list[Metric] = []
    details: dict = {"rows": rows, "locales": locales, "fields": fields, "batch_rows": batch_rows}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        catalog = make_catalog(Path(tmp), rows, fields)
        requests = planned_requests(catalog, locales, fields)
        details["requests"] = len(requests)
        if "embedded" in engines and endpoint is None:
            result = bench_embedded(catalog, requests, locales, fields, parallel, threads, model, batch_rows)
            details["embedded"] = result
            metrics.append(at_least(NAME, "embedded: pipeline / raw xllamacpp tok/s", result["efficiency"], 0.95, "",
                                    f"{result['pipeline']['tokens_per_s']:.1f} vs {result['raw']['tokens_per_s']:.1f} "
                                    f"tok/s, {len(requests)} requests, {parallel} parallel"))
        if "http" in engines:
            server = None
            url = endpoint
            if url is None:
                server, url = llama_cpp_server(model, parallel, threads)
            try:
                cap = in_flight or (512 if endpoint else 2 * parallel)
                result = bench_http(catalog, requests, locales, fields, url, cap, batch_rows)
            finally:
                del server  # xllamacpp stops its server when the object goes
            result["server"] = "given endpoint" if endpoint else "llama.cpp (xllamacpp) OpenAI-compatible server"
            details["http"] = result
            metrics.append(at_least(NAME, "HTTP: pipeline / raw aiohttp tok/s", result["efficiency"], 0.90, "",
                                    f"{result['pipeline']['tokens_per_s']:.1f} vs {result['raw']['tokens_per_s']:.1f} "
                                    f"tok/s, {cap} in flight, {result['server']}"))
            hit = result["pipeline"]["prefix_cache_hit_rate"]
            metrics.append(info(NAME, "HTTP: prefix-cache hit rate (pipeline)", hit, "",
                                result["pipeline"]["hit_rate_source"]))
    return metrics, details
