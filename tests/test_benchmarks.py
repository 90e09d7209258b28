"""The benchmark harness runs end to end in tiny configurations and reports
sane numbers. No timing thresholds: speed is what the harness prints, not
what a test asserts. The engine is the loopback stub server (a real HTTP
server process that answers instantly), except in the one `model` test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import client, dedup, efficiency, memory  # noqa: E402
from benchmarks import run as harness  # noqa: E402
from benchmarks.common import Metric, prefix_cache_hit_rate  # noqa: E402
from localize.testing.stub_server import running_stub_server  # noqa: E402


def by_name(metrics: list[Metric]) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


def test_client_reports_rates_cpu_and_a_capped_peak(tmp_path):
    metrics, details = client.run_benchmark(rows=200, in_flight=64, delay_ms=50, workdir=tmp_path)
    m = by_name(metrics)
    assert m["pipeline row x locales/s"].value > 0
    assert m["pipeline client CPU per request"].value > 0
    assert m["raw client requests/s"].value > 0
    assert 0 < m["pipeline / raw client at that cap"].value <= 2
    # The cap is a promise to the server: never more requests open than asked for.
    assert 1 <= m["peak requests in flight"].value <= 64
    assert details["pipeline"]["model_calls"] == 600  # 200 unique titles x 3 locales
    assert details["pipeline"]["failures"] == details["raw_client"]["failures"] == 0


def test_memory_reports_peak_rss_and_ratio_per_format(tmp_path):
    metrics, details = memory.run_benchmark(small=200, large=800, workdir=tmp_path)
    for fmt in ("csv", "parquet"):
        runs = details[fmt]
        assert runs["200"]["rows"] == 200 and runs["800"]["rows"] == 800
        assert runs["800"]["model_calls"] == 800
        assert runs["200"]["peak_rss_mb"] > 10
        assert 0 < runs["ratio"] <= 2
    assert sum(m.name.endswith("ratio 4x rows") for m in metrics) == 2


def test_dedup_counts_calls_against_distinct_prompts(tmp_path):
    metrics, details = dedup.run_benchmark(catalogs=[REPO / "examples" / "catalog.csv"], workdir=tmp_path)
    result = details["files"]["examples/catalog.csv"]
    assert 0 < result["distinct_prompts"] <= result["segments"]
    assert result["model_calls"] == result["distinct_prompts"] + result["redundant_calls"]
    assert result["redundant_calls"] == 0
    assert result["reused"] > 0  # the example repeats option labels on its variant rows
    assert by_name(metrics)["calls beyond distinct prompts"].met is True


def test_dedup_skips_cleanly_without_catalogs(tmp_path):
    metrics, details = dedup.run_benchmark(catalogs=[], workdir=tmp_path)
    assert details == {"skipped": True}
    assert metrics[0].value is None and "skipped" in metrics[0].note


def test_efficiency_over_http_against_the_stub(tmp_path):
    with running_stub_server() as url:
        metrics, details = efficiency.run_benchmark(rows=2, engines=("http",), endpoint=url, in_flight=4,
                                                    workdir=tmp_path)
    http = details["http"]
    assert details["requests"] == 6  # the first 2 product titles x 3 locales
    assert http["raw"]["completion_tokens"] > 0 and http["pipeline"]["completion_tokens"] > 0
    assert 0 < http["efficiency"] <= 2
    assert http["pipeline"]["prefix_cache_hit_rate"] is None  # the stub has no prefix cache
    assert by_name(metrics)["HTTP: prefix-cache hit rate (pipeline)"].value is None


def test_prefix_cache_hit_rate_reads_vllm_and_llama_cpp_metrics():
    vllm_before = {"vllm:prefix_cache_hits_total": 100.0, "vllm:prefix_cache_queries_total": 200.0}
    vllm_after = {"vllm:prefix_cache_hits_total": 400.0, "vllm:prefix_cache_queries_total": 600.0}
    assert prefix_cache_hit_rate(vllm_before, vllm_after, 0)[0] == pytest.approx(0.75)
    older = {"vllm:gpu_prefix_cache_hits_total": 30.0, "vllm:gpu_prefix_cache_queries_total": 40.0}
    assert prefix_cache_hit_rate({}, older, 0)[0] == pytest.approx(0.75)
    llama_after = {"llamacpp:prompt_tokens_total": 250.0}
    assert prefix_cache_hit_rate({}, llama_after, 1000)[0] == pytest.approx(0.75)
    assert prefix_cache_hit_rate({}, {}, 1000)[0] is None


def test_harness_writes_json_with_machine_and_metrics(tmp_path, capsys):
    out = tmp_path / "results.json"
    code = harness.main(["--only", "client", "--quick", "--in-flight", "16", "--delay-ms", "20", "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    assert results["machine"]["cpus"] >= 1
    names = [m["name"] for m in results["benchmarks"]["client"]["metrics"]]
    assert "pipeline row x locales/s" in names
    assert "pipeline row x locales/s" in capsys.readouterr().out


@pytest.mark.model
def test_efficiency_smoke_with_the_embedded_model(tmp_path, embedded_model_path):
    """One title x 3 locales through raw xllamacpp, the pipeline, and llama.cpp's HTTP server."""
    metrics, details = efficiency.run_benchmark(rows=1, workdir=tmp_path)
    for engine in ("embedded", "http"):
        assert details[engine]["raw"]["completion_tokens"] > 0
        assert 0 < details[engine]["efficiency"] <= 2
    assert details["http"]["pipeline"]["prefix_cache_hit_rate"] is not None


def test_stub_answers_follow_up_turns_with_its_previous_answer():
    """A repair or shorten turn carries no <<< >>> block: echoing that instruction as
    the 'translation' would make benchmark runs flag and withhold cells no real model would."""
    from localize.testing.stub_server import answer

    first = [{"role": "user", "content": "<<<\n<p>Warm hat</p>\n>>>\nRewrite this page in Spanish (es)."}]
    assert answer(first) == "<p>[es] Warm hat</p>"
    follow_up = [*first, {"role": "assistant", "content": "<p>[es] Warm hat</p>"},
                 {"role": "user", "content": "That is 90 characters, over the limit of 60. Shorten it."}]
    assert answer(follow_up) == "<p>[es] Warm hat</p>"
