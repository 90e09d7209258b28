"""benchmarks/vllm_cpu.py runs end to end against vLLM itself, on the session's
server and in-process engine (tiny model, 2 titles x 1 locale). It checks the
harness, never a speed: the numbers are what the benchmark prints."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("vllm") is None:  # found, not imported: localize sets vLLM's logging up first
    pytest.skip("vLLM is not installed here: CI runs these in its vLLM stage (.ci/vllm-stage.sh)",
                allow_module_level=True)

from benchmarks import vllm_cpu  # noqa: E402


def test_benchmark_compares_localize_with_raw_clients_on_both_engines(tmp_path, tiny_model, vllm_endpoint,
                                                                       offline_engine):
    metrics, details = vllm_cpu.run_benchmark(rows=2, locales="es", in_flight=4, model=str(tiny_model),
                                              endpoint=vllm_endpoint, offline_backend=offline_engine.backend,
                                              workdir=tmp_path)
    assert details["requests"] == 2  # 2 titles x 1 locale, planned as the pipeline sends them
    for engine in ("server", "offline"):
        result = details[engine]
        assert result["raw"]["completion_tokens"] > 0 and result["pipeline"]["completion_tokens"] > 0
        assert result["efficiency"] > 0
    assert details["server"]["raw"]["failures"] == 0
    names = {m.name: m for m in metrics}
    assert names["vLLM server: pipeline / raw tok/s"].target == ">= 0.95"
    assert names["in-process vLLM: pipeline / raw tok/s"].value == details["offline"]["efficiency"]
    hit = names["vLLM server: prefix-cache hit rate (pipeline)"]
    assert hit.note == "vllm:prefix_cache_hits / vllm:prefix_cache_queries" and 0 <= hit.value <= 1
