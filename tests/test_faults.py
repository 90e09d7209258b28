"""Faults between localize and a real server: nothing lost, retries capped,
a dead server stops the run with exit 5 and no output, and a rerun goes on.

Everything is real except the faults: the CLI runs as its own process against
the stub OpenAI-compatible server (localize.testing.stub_server, a real HTTP
server process that answers instantly and deterministically: "[es] <source>"),
through a fault-injecting proxy on loopback (tests/fault_proxy.py) that
answers 429 (Retry-After: 1), 500 or 503, resets connections, or hangs, at a
seeded rate. The proxy counts what arrived, so the retry cap is checked on the
proxy's word, not the client's. `--timeout 1` makes a hang cost a second.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

from localize.testing.stub_server import running_stub_server  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fault_proxy import HOSTILE, FaultProxy  # noqa: E402
from hostile_answers import FAILING  # noqa: E402

ROWS = 200
FIELDS = ("title", "description")
LOCALES = ("es", "fr")
DEFAULT_RETRIES = 5  # the CLI's default --retries


@pytest.fixture(scope="module")
def stub():
    with running_stub_server() as url:
        yield url


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    """Every text unique, so each request body belongs to one segment and the
    proxy's count per body is that segment's attempts."""
    path = tmp_path_factory.mktemp("catalog") / "hats.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["sku", *FIELDS])
        for i in range(ROWS):
            w.writerow([f"HAT-{i:04d}", f"Merino beanie no. {i}", f"A warm beanie, pattern {i}, for cold days."])
    return path


def localize(catalog: Path, endpoint: str, out: Path, *args: str, cache: Path | None = None, key: str | None = None):
    cache = cache or out.parent / "cache"  # a store per test, shared by its runs
    env = {**os.environ, "LOCALIZE_CACHE_DIR": str(cache), "LOCALIZE_STORE": str(cache / "store.sqlite")}
    for var in ("LOCALIZE_API_KEY", "VLLM_API_KEY", "LOCALIZE_DEBUG"):
        env.pop(var, None)
    if key:
        env["LOCALIZE_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "localize", str(catalog), "--to", ",".join(LOCALES), "--backend", "vllm",
         "--endpoint", endpoint, "--timeout", "1", "--json", "--quiet", "-o", str(out), *args],
        capture_output=True, text=True, env=env, timeout=120,
    )


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def check_nothing_lost(catalog: Path, out: Path, stats: dict) -> list[dict]:
    """Every input row is in the output, unchanged, and every localized cell is
    the stub's answer for its own source, or empty and listed in the errors file."""
    source, result = read_rows(catalog), read_rows(out)
    assert len(result) == len(source)
    errors_path = out.with_name(out.stem + ".errors.csv")
    errors = read_rows(errors_path) if errors_path.exists() else []
    failed = {(int(e["row"]), e["column"], e["locale"]) for e in errors}
    assert len(failed) == len(errors) == stats["failures"]
    assert stats["errors"] == (str(errors_path) if errors else None)
    for n, (src, got) in enumerate(zip(source, result), start=1):
        assert {k: got[k] for k in src} == src
        for field in FIELDS:
            for loc in LOCALES:
                cell = got[f"{field}_{loc}"]
                if (n, field, loc) in failed:
                    assert cell == ""
                else:
                    assert cell == f"[{loc}] {src[field]}", (n, field, loc)
    return errors


def check_retry_after(proxy: FaultProxy) -> list[float]:
    """After a 429 with Retry-After: 1, the same request came back no sooner."""
    waits = [t1 - t0 for arrivals in proxy.arrivals.values()
             for (t0, fault), (t1, _) in zip(arrivals, arrivals[1:]) if fault == "429"]
    assert all(w >= 1.0 for w in waits), min(waits)
    return waits


@pytest.mark.parametrize("rate", [0.01, 0.05, 0.20])
def test_no_row_lost_and_retries_capped(stub, catalog, tmp_path, rate):
    out = tmp_path / "hats.localized.csv"
    with FaultProxy(stub, rate, seed=int(rate * 100)) as proxy:
        proc = localize(catalog, proxy.url, out)
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    errors = check_nothing_lost(catalog, out, stats)
    assert sum(proxy.injected.values()) > 0  # faults really happened
    # One body per segment and locale; none sent more often than 1 + --retries.
    assert len(proxy.attempts) == stats["model_calls"] == ROWS * len(FIELDS) * len(LOCALES)
    assert max(proxy.attempts.values()) <= 1 + DEFAULT_RETRIES
    assert all(int(e["attempts"]) == 1 + DEFAULT_RETRIES for e in errors)
    check_retry_after(proxy)
    print(f"rate {rate:.0%}: injected {dict(proxy.injected)}, attempts max {max(proxy.attempts.values())}, "
          f"failed segments {len(errors)}")


def test_segment_that_exhausts_its_retries_goes_to_the_errors_file(stub, tmp_path):
    """One text the server always answers 503: its cells stay empty, the run
    completes (exit 0), and errors.csv names row, column, locale, reason, attempts."""
    src = tmp_path / "mini.csv"
    src.write_text("sku,title,description\nA-1,Red scarf,Soft wool\nA-2,POISON scarf,Soft silk\nA-3,Blue cap,Cotton\n")
    out = tmp_path / "mini.localized.csv"
    with FaultProxy(stub, 0.05, seed=7, fail_marker="POISON") as proxy:
        proc = localize(src, proxy.url, out, "--retries", "2")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    errors = read_rows(out.with_name("mini.localized.errors.csv"))
    assert [(e["row"], e["column"], e["locale"], e["attempts"]) for e in errors] == [
        ("2", "title", "es", "3"), ("2", "title", "fr", "3")]
    assert all("HTTP 503" in e["reason"] and "gave up after 2 retries" in e["reason"] for e in errors)
    rows = read_rows(out)
    assert [r["title_es"] for r in rows] == ["[es] Red scarf", "", "[es] Blue cap"]
    assert rows[1]["description_fr"] == "[fr] Soft silk"
    assert stats["failures"] == 2 and stats["report"] is None  # a failure is not a quality flag
    assert max(proxy.attempts.values()) <= 3


@pytest.mark.parametrize("chat_only", [True, False], ids=["mid-run", "at-discovery"])
def test_server_that_stays_down_stops_the_run(stub, catalog, tmp_path, chat_only):
    """Every request faults: exit 5 with one line, no output, no sidecar files,
    and far fewer requests than segments (the run stopped, it did not fail every row)."""
    out = tmp_path / "hats.localized.csv"
    with FaultProxy(stub, 1.0, seed=5, chat_only=chat_only) as proxy:
        proc = localize(catalog, proxy.url, out, "--retries", "2")
    assert proc.returncode == 5, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("localize: error: ") and "Traceback" not in proc.stderr
    if chat_only:
        assert "stopped answering" in lines[0]
        assert f"stopped after 0 of {ROWS} rows and wrote no output; rerun the same command" in lines[0]
    else:
        assert "cannot reach vLLM server" in lines[0] and "gave up after 2 retries" in lines[0]
    assert proc.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == []
    assert sum(proxy.attempts.values()) < ROWS * len(FIELDS) * len(LOCALES)
    assert max(proxy.attempts.values(), default=0) <= 3


def test_rerun_after_the_server_went_down_goes_on_where_it_stopped(stub, catalog, tmp_path):
    """The server dies after two batches: exit 5, no output. Rerun against a
    healthy server: the first batches come from the translation store and only
    the rest is requested."""
    out, cache = tmp_path / "hats.localized.csv", tmp_path / "cache"
    batch = 50  # rows; each batch is 50 x 2 fields x 2 locales = 200 requests
    with FaultProxy(stub, 0.0, seed=9, chat_only=True, fail_after=2 * batch * 4) as proxy:
        first = localize(catalog, proxy.url, out, "--retries", "2", "--batch-rows", str(batch), cache=cache)
    assert first.returncode == 5, first.stderr
    assert f"stopped after {2 * batch} of {ROWS} rows and wrote no output" in first.stderr
    assert "translation store" in first.stderr and not out.exists()
    with FaultProxy(stub, 0.0) as proxy:
        second = localize(catalog, proxy.url, out, "--batch-rows", str(batch), cache=cache)
    assert second.returncode == 0, second.stderr
    stats = json.loads(second.stdout)
    check_nothing_lost(catalog, out, stats)
    assert stats["cached"] >= 2 * batch * 4  # at least the two finished batches came from the store
    assert len(proxy.attempts) == ROWS * 4 - stats["cached"]


SENTINEL = "sk-SENTINEL-hostile-5c1a9e7f3b"
# Hostile answers cost the proxy a round trip upstream and up to megabytes each: a
# generous timeout, so a loaded test machine is not mistaken for a hanging server.
PATIENT = ("--timeout", "30", "--max-in-flight", "64")


def test_hostile_answers_fail_their_segment_never_the_run(stub, catalog, tmp_path):
    """A third of the answers hostile, every kind of tests/hostile_answers.py
    (content of any JSON type, usage of any type, lone surrogates, control
    characters, truncated JSON, HTML pages, invalid UTF-8, megabytes, answers
    past max_tokens, any status), each echoing the request's headers: exit 0,
    nothing lost, each unusable answer a line in the errors file, each
    cleanable one the real answer exactly, and the key in no file."""
    out = tmp_path / "hats.localized.csv"
    with FaultProxy(stub, 0.3, seed=21, chat_only=True, faults=HOSTILE) as proxy:
        proc = localize(catalog, proxy.url, out, "--retries", "1", *PATIENT, key=SENTINEL)
    assert proc.returncode == 0, proc.stderr
    assert set(proxy.injected) == set(HOSTILE)  # every kind was served
    stats = json.loads(proc.stdout)
    errors = check_nothing_lost(catalog, out, stats)
    assert len(errors) >= sum(proxy.injected[k] for k in FAILING)
    assert any(e["reason"].startswith("malformed response: content is ") for e in errors)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path
    assert SENTINEL not in proc.stdout + proc.stderr
    print(f"hostile answers served: {dict(proxy.injected)}; failed segments {len(errors)}")


def test_control_characters_never_reach_an_xlsx(stub, catalog, tmp_path):
    """Every answer full of NUL, BEL, ANSI sequences, U+FFFF and other
    noncharacters: the .xlsx is written (it cannot hold U+FFFF), every cell is
    the clean answer, and a rerun from the store gives the same file."""
    from python_calamine import CalamineWorkbook

    out = tmp_path / "hats.localized.xlsx"
    for run in range(2):
        with FaultProxy(stub, 1.0, seed=3, chat_only=True, faults=("control_chars",)) as proxy:
            proc = localize(catalog, proxy.url, out, *PATIENT)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["failures"] == 0
        header, *rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
        source = read_rows(catalog)
        for src, row in zip(source, rows, strict=True):
            got = dict(zip(header, row))
            assert [got[f"{f}_{loc}"] for f in FIELDS for loc in LOCALES] == [
                f"[{loc}] {src[f]}" for f in FIELDS for loc in LOCALES]
        if run == 0:
            assert proxy.injected["control_chars"] == ROWS * len(FIELDS) * len(LOCALES)


@pytest.mark.parametrize("fault", ["404", "400", "content_null", "content_not_text"])
def test_engine_that_answers_nothing_usable_stops_the_run(stub, catalog, tmp_path, fault):
    """What a real vLLM does for a wrong --model (discovery accepts it, every chat
    answers 404), a 400 on every request, no content anywhere, garbage everywhere:
    exit 5 with one line saying why, no output, and the run stopped early."""
    out = tmp_path / "hats.localized.csv"
    with FaultProxy(stub, 1.0, seed=4, chat_only=True, faults=(fault,)) as proxy:
        proc = localize(catalog, proxy.url, out, *PATIENT)
    assert proc.returncode == 5, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("localize: error: vLLM server at "), proc.stderr
    assert "gave no usable answer: every request of the first " in lines[0]
    assert f"stopped after 0 of {ROWS} rows and wrote no output" in lines[0]
    assert proc.stdout == "" and sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == []
    assert sum(proxy.attempts.values()) < ROWS * len(FIELDS) * len(LOCALES) / 2
