"""The translation store (localize.store): keys, persistence, reuse across runs,
and crash safety of the whole CLI under SIGKILL.

The engines here are fakes on purpose: exact model-call counts and byte-identical
outputs need answers that are a pure function of the request. `echo_engine`
(the shared fake engine, localize.testing.fake_engine, built through the engine
registry) answers in process with the stub server's deterministic "translation"
(localize.testing.stub_server.answer); the CLI tests run the real `localize`
command against the stub server itself, over HTTP. No LLM runs in this file.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import assert_one_line_error
from localize.backends.base import Backend, Generation
from localize.catalog.fields import Field
from localize.glossary.model import Entry, Glossary
from localize.io.stale_temps import sweep_stale_temps
from localize.pipeline.run import RunOptions, run
from localize.pipeline.translate import BatchTranslator
from localize.store import StoreSession, Stored, TranslationStore, store_info
from localize.store.store import Record
from localize.testing.fake_engine import FakeEngine, serving
from localize.testing.stub_server import answer as answer_like_stub, running_stub_server
from localize.text.locales import parse_locales
from localize.text.markets import load_market
from localize.text.prompts import load_templates

HEADER = ["Handle", "Title", "Body (HTML)", "Variant SKU", "Variant Price"]


def echo_engine(model: str = "echo-1", fail_on: str | None = None) -> FakeEngine:
    """Answers like the stub server, in process; fails the texts whose answer has `fail_on`."""
    def answer(asked):
        text = answer_like_stub(list(asked.request.messages))
        failed = fail_on is not None and fail_on in text
        return Generation(None, error="echo: injected failure") if failed else Generation(text, completion_tokens=1)

    return FakeEngine(answer=answer, model_id=f"echo:{model}")


def catalog_rows(n: int, *, changed: set[int] = frozenset()) -> list[list[str]]:
    """n products, every title and page its own text; `changed` rows get new ones."""
    rows = [HEADER]
    for i in range(n):
        tag = " (new season)" if i in changed else ""
        rows.append([
            f"item-{i:05d}",
            f"Merino wool sweater no. {i}{tag}",
            f"<p>Soft <strong>merino</strong> knit, lot {i}{tag}.</p><ul><li>Warm, light, {i % 7} colours</li></ul>",
            f"SKU-{i:05d}",
            f"{10 + i % 90}.99",
        ])
    return rows


def write_catalog(path: Path, n: int, **kw) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(catalog_rows(n, **kw))
    return path


def localize(path: Path, store: Path | None, engine: Backend, to: str = "es,fr", **kw):
    with serving(engine):  # built by the engine registry, as --backend fake
        return run(RunOptions(input=path, locales=parse_locales(to), store=store, quiet=True, backend="fake", **kw))


def entries(store: Path) -> int:
    with contextlib.closing(sqlite3.connect(store)) as db:
        return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]


# -- the store file ------------------------------------------------------------------


def test_roundtrip_survives_reopening(tmp_path):
    path = tmp_path / "t.sqlite"
    with TranslationStore(path) as store:
        store.put_many([
            Record(b"k1" * 16, Stored("Jersey de merino", "Jersey de ⟦0⟧", ("lost ⟦1⟧",)), "m", "es", "title"),
            Record(b"k2" * 16, Stored("Pull en mérinos"), "m", "fr", "title"),
        ])
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with TranslationStore(path) as store:
        found = store.get_many([b"k1" * 16, b"k2" * 16, b"k3" * 16])
    assert found == {
        b"k1" * 16: Stored("Jersey de merino", "Jersey de ⟦0⟧", ("lost ⟦1⟧",)),
        b"k2" * 16: Stored("Pull en mérinos", "Pull en mérinos", ()),  # raw defaults to the text
    }
    info = store_info(path)
    assert info.entries == 2 and info.by_model_locale == [("m", "es", 1), ("m", "fr", 1)]


def test_key_changes_with_each_component_and_nothing_else(tmp_path):
    templates = load_templates()
    es_keep = Glossary([Entry("Nordvik", "", None, "keep", True)])
    tr_term = Glossary([*es_keep, Entry("sweater", "kazak", "tr", "term", False)])

    def digest(key=("title", 200, "es", "Merino sweater"), *, model="vllm:a", tpl=templates, market="generic",
               glossary=es_keep):
        with TranslationStore(tmp_path / "k.sqlite") as store:
            session = StoreSession(store, model_id=model, templates=tpl, market_name=market, glossary=glossary)
            return session.digest(key)

    base = digest()
    edited = dataclasses.replace(templates["title"], system=templates["title"].system + " Be brief.")
    bumped = dataclasses.replace(templates["title"], version=templates["title"].version + 1)
    variants = {
        "source": digest(("title", 200, "es", "Merino jumper")),
        "kind": digest(("label", 200, "es", "Merino sweater")),
        "limit": digest(("title", 70, "es", "Merino sweater")),
        "locale": digest(("title", 200, "fr", "Merino sweater")),
        "model": digest(model="vllm:b"),
        "prompt content": digest(tpl={**templates, "title": edited}),
        "prompt version": digest(tpl={**templates, "title": bumped}),
        "market": digest(market="amazon"),
        "glossary": digest(glossary=None),
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants)
    assert digest() == base  # stable across sessions
    assert digest(glossary=tr_term) == base  # a Turkish term does not touch Spanish texts
    assert digest(("title", 200, "tr", "Merino sweater"), glossary=tr_term) != digest(
        ("title", 200, "tr", "Merino sweater"))
    # Other prompt kinds are not part of a title's key.
    other = dataclasses.replace(templates["html"], system="changed")
    assert digest(tpl={**templates, "html": other}) == base


# -- reuse across runs --------------------------------------------------------------


def test_second_run_makes_no_model_calls(tmp_path):
    catalog = write_catalog(tmp_path / "cat.csv", 40)
    store = tmp_path / "t.sqlite"
    first = localize(catalog, store, echo_engine(), output=tmp_path / "a.csv")
    assert first.model_calls == 40 * 2 * 2 and first.cached == 0
    engine = echo_engine()
    second = localize(catalog, store, engine, output=tmp_path / "b.csv")
    assert engine.asked == [] and second.model_calls == 0
    assert second.cached == first.model_calls and second.segments == first.segments
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_ten_changed_rows_cost_those_rows_only(tmp_path):
    store = tmp_path / "t.sqlite"
    localize(write_catalog(tmp_path / "cat.csv", 300), store, echo_engine(), output=tmp_path / "a.csv")
    changed = set(random.Random(7).sample(range(300), 10))
    engine = echo_engine()
    stats = localize(write_catalog(tmp_path / "cat.csv", 300, changed=changed), store, engine,
                     output=tmp_path / "b.csv")
    assert stats.model_calls == len(engine.asked) == 10 * 2 * 2  # 10 rows x (title, page) x (es, fr)
    assert stats.cached == 290 * 2 * 2
    assert all("new season" in asked.source for asked in engine.asked)


def test_stored_texts_get_the_same_glossary_verdicts(tmp_path):
    """With a glossary, texts from the store are checked again like fresh ones:
    same output, same glossary totals, and the glossary repair turns are not paid twice."""
    glossary = tmp_path / "g.csv"
    glossary.write_text(
        "source,target,locale,kind,case_sensitive,note\n"
        "Merino,,,keep,true,\n"
        "sweater,jersey,es,term,false,\n"
        "knit,tricot,fr,term,false,\n"
        "wool,,es,ban,false,\n",  # the echo keeps "wool": a repair turn, and the ban still found
        encoding="utf-8",
    )
    catalog = write_catalog(tmp_path / "cat.csv", 12)
    store = tmp_path / "t.sqlite"
    first = localize(catalog, store, echo_engine(), glossaries=[glossary], output=tmp_path / "a.csv")
    assert first.repairs == 12 and first.glossary["es"]["bans_found"] == 12
    engine = echo_engine()
    second = localize(catalog, store, engine, glossaries=[glossary], output=tmp_path / "b.csv")
    assert engine.asked == [] and second.cached == first.model_calls - first.repairs
    assert second.glossary == first.glossary
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_another_model_does_not_reuse_texts(tmp_path):
    catalog = write_catalog(tmp_path / "cat.csv", 5)
    store = tmp_path / "t.sqlite"
    localize(catalog, store, echo_engine("echo-1"), output=tmp_path / "a.csv")
    engine = echo_engine("echo-2")
    stats = localize(catalog, store, engine, output=tmp_path / "b.csv")
    assert stats.cached == 0 and len(engine.asked) == 5 * 2 * 2
    assert {m for m, _, _ in store_info(store).by_model_locale} == {"echo:echo-1", "echo:echo-2"}


def test_failed_generations_are_never_stored(tmp_path):
    catalog = write_catalog(tmp_path / "cat.csv", 6)
    store = tmp_path / "t.sqlite"
    first = localize(catalog, store, echo_engine(fail_on="no. 3"), output=tmp_path / "a.csv")
    assert first.failures == 2  # row 3's title, in es and fr
    assert entries(store) == first.model_calls - 2
    engine = echo_engine()
    second = localize(catalog, store, engine, output=tmp_path / "b.csv")
    assert second.failures == 0 and len(engine.asked) == 2 and all("no. 3" in a.source for a in engine.asked)


def test_store_hits_count_as_done_rows(tmp_path):
    """The progress bar's rows: a batch served by the store reports every row done."""
    rows = [{"Title": f"Wool hat no. {i}"} for i in range(12)]
    fields = [Field("Title", "title")]
    setup = dict(templates=load_templates(), market=load_market("generic"), locales=parse_locales("es,fr"))

    def translate(store, engine):
        session = StoreSession(store, model_id=engine.model_id, templates=setup["templates"], market_name="generic")
        translator = BatchTranslator(engine, **setup, store=session)
        done = {"es": 0, "fr": 0}
        results = translator.translate(rows, fields, on_row_done=lambda loc, n: done.__setitem__(loc, done[loc] + n))
        return translator, done, results

    with TranslationStore(tmp_path / "t.sqlite") as store:
        first, _, fresh = translate(store, echo_engine())
        engine = echo_engine()
        second, done, cached = translate(store, engine)
    assert first.model_calls == 24 and engine.asked == []
    assert second.cached == 24 and done == {"es": 12, "fr": 12}
    assert {k: c.value for k, c in cached.items()} == {k: c.value for k, c in fresh.items()}


# -- a store that cannot be used -------------------------------------------------------


def test_damaged_store_warns_once_and_the_run_goes_on(tmp_path, capsys):
    store = tmp_path / "t.sqlite"
    store.write_bytes(b"this is not a database, it is a text file " * 100)
    catalog = write_catalog(tmp_path / "cat.csv", 3)
    stats = localize(catalog, store, echo_engine(), to="es")  # --quiet: the warning is still shown
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1 and str(store) in warnings[0] and "localize cache clear" in warnings[0]
    assert warnings[0].startswith("localize: warning: ")
    assert stats.store is None and stats.model_calls == 6 and (tmp_path / "cat.localized.csv").exists()


def test_damaged_store_cli_info_fails_in_one_line_and_clear_removes_it(tmp_path):
    store = tmp_path / "t.sqlite"
    store.write_bytes(b"garbage" * 1000)
    proc = cli("cache", "info", "--cache", store)
    assert_one_line_error(proc, 1, str(store), "localize cache clear")
    proc = cli("cache", "clear", "--cache", store)
    assert proc.returncode == 0 and "damaged" in proc.stderr and not store.exists()


def test_locked_store_is_dropped_with_one_warning(tmp_path):
    path = tmp_path / "t.sqlite"
    TranslationStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than the busy timeout
    warnings: list[str] = []
    try:
        session = StoreSession(TranslationStore(path, timeout=0.2), model_id="m", templates=load_templates(),
                               market_name="generic", warn=warnings.append)
        session.save([(("title", None, "es", "Hat"), Stored("Gorro"))])
        session.save([(("title", None, "es", "Cap"), Stored("Gorra"))])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(warnings) == 1 and "locked" in warnings[0] and not session.active
    assert session.lookup([("title", None, "es", "Hat")]) == {}


# -- atomic output ---------------------------------------------------------------------


def test_temp_files_of_killed_runs_are_swept(tmp_path):
    dest = tmp_path / "out.csv"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = tmp_path / f".out.csv.{gone.pid}.k2j4x9_a.tmp"
    alive = tmp_path / f".out.csv.{os.getpid()}.abcdefgh.tmp"
    other = tmp_path / f".out.csv.bak.{gone.pid}.abcdefgh.tmp"  # another output's temp
    for p in (dead, alive, other):
        p.write_text("partial")
    assert sweep_stale_temps(dest) == [dead]
    assert alive.exists() and other.exists() and not dead.exists()


# -- the CLI against the stub server ---------------------------------------------------


@pytest.fixture(scope="module")
def stub_url():
    with running_stub_server() as url:
        yield url


def cli(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localize", *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kw)


def stub_requests(url: str) -> int:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/metrics", timeout=10) as reply:
        lines = dict(line.split() for line in reply.read().decode().splitlines() if line.strip())
    return int(lines["stub_requests_total"])


def test_cli_no_cache_cache_path_and_cache_commands(tmp_path, stub_url):
    catalog = write_catalog(tmp_path / "cat.csv", 20)
    engine = ("--to", "es,fr", "--backend", "vllm", "--endpoint", stub_url, "--json", "--quiet")
    store = tmp_path / "elsewhere" / "mine.sqlite"
    store.parent.mkdir()
    first = json.loads(cli(catalog, *engine, "--cache", store).stdout)
    assert first["store"] == str(store) and first["model_calls"] == 80 and entries(store) == 80
    again = json.loads(cli(catalog, *engine, "--cache", store.parent).stdout)  # a folder: its translations.sqlite
    assert again["store"] == str(store.parent / "translations.sqlite") and again["model_calls"] == 80
    cached = json.loads(cli(catalog, *engine, "--cache", store).stdout)
    assert cached["model_calls"] == 0 and cached["cached"] == 80
    for _ in range(2):
        off = json.loads(cli(catalog, *engine, "--no-cache", "--cache", store).stdout)
        assert off["store"] is None and off["model_calls"] == 80
    assert entries(store) == 80

    info = json.loads(cli("cache", "info", "--cache", store, "--json").stdout)
    assert info["entries"] == 80 and info["bytes"] > 0
    assert info["by_model_locale"] == [{"model": "vllm:stub", "locale": loc, "entries": 40} for loc in ("es", "fr")]
    assert "vllm:stub" in cli("cache", "info", "--cache", store).stdout
    assert cli("cache", "clear", "--cache", store, "--model", "other").returncode == 0 and entries(store) == 80
    assert cli("cache", "clear", "--cache", store, "--older-than", "1d").returncode == 0 and entries(store) == 80
    assert_one_line_error(cli("cache", "clear", "--cache", store, "--older-than", "soon"), 2, "--older-than")
    proc = cli("cache", "clear", "--cache", store, "--model", "vllm:stub")
    assert proc.returncode == 0 and "80" in proc.stderr and entries(store) == 0


def test_default_store_follows_the_environment(tmp_path, stub_url, monkeypatch):
    monkeypatch.setenv("LOCALIZE_STORE", str(tmp_path / "env.sqlite"))
    catalog = write_catalog(tmp_path / "cat.csv", 2)
    stats = json.loads(cli(catalog, "--to", "es", "--backend", "vllm", "--endpoint", stub_url, "--json").stdout)
    assert stats["store"] == str(tmp_path / "env.sqlite") and entries(tmp_path / "env.sqlite") == 4
    assert f"path     {tmp_path / 'env.sqlite'}" in cli("cache", "info").stdout


def test_same_input_twice_gives_identical_bytes(tmp_path, stub_url):
    catalog = write_catalog(tmp_path / "cat.csv", 200)
    for name in ("a.csv", "b.csv"):
        proc = cli(catalog, "--to", "es,fr,tr", "--backend", "vllm", "--endpoint", stub_url, "--no-cache",
                   "--batch-rows", "37", "-o", tmp_path / name, "--quiet")
        assert proc.returncode == 0, proc.stderr
    a = (tmp_path / "a.csv").read_bytes()
    assert a == (tmp_path / "b.csv").read_bytes()
    rows = list(csv.reader(a.decode().splitlines()))
    assert [r[0] for r in rows[1:]] == [f"item-{i:05d}" for i in range(200)]  # input order


def test_two_runs_share_one_store_at_once(tmp_path, stub_url):
    """Two localize processes writing the same store concurrently: both finish, each
    text is stored once, and both outputs are what a lone run writes."""
    catalog = write_catalog(tmp_path / "cat.csv", 300)
    store = tmp_path / "shared.sqlite"
    args = [sys.executable, "-m", "localize", str(catalog), "--to", "es", "--backend", "vllm", "--endpoint",
            stub_url, "--batch-rows", "20", "--cache", str(store), "--quiet"]
    procs = [subprocess.Popen([*args, "-o", str(tmp_path / f"{n}.csv")], stderr=subprocess.PIPE, text=True)
             for n in ("one", "two")]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
        assert proc.stderr.read() == ""  # no store warning: the busy timeout covered the overlap
    assert entries(store) == 300 * 2
    lone = cli(catalog, "--to", "es", "--backend", "vllm", "--endpoint", stub_url, "--no-cache",
               "-o", tmp_path / "lone.csv")
    assert lone.returncode == 0
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes() == (
        tmp_path / "lone.csv").read_bytes()


def test_sigkill_at_20_random_points_then_resume(tmp_path, stub_url):
    """2,000 rows, killed with SIGKILL 20 times at random points of the work (thresholds
    of stored texts, drawn uniformly, plus a random delay), resumed each time: the
    result is byte-identical to an uninterrupted run, no row lost or repeated, no text
    generated twice beyond the batches in flight at the kills, no partial output."""
    n, batch_rows, locales = 2000, 50, "es"
    catalog = write_catalog(tmp_path / "catalog.csv", n)
    args = (catalog, "--to", locales, "--backend", "vllm", "--endpoint", stub_url, "--batch-rows", batch_rows,
            "--quiet")
    proc = cli(*args, "-o", tmp_path / "reference.csv", "--cache", tmp_path / "reference.sqlite", "--json")
    assert proc.returncode == 0, proc.stderr
    total = json.loads(proc.stdout)["model_calls"]
    assert total == n * 2  # every title and page is its own text
    reference = (tmp_path / "reference.csv").read_bytes()

    out, store = tmp_path / "resumed.csv", tmp_path / "resumed.sqlite"
    rng = random.Random(20240611)
    thresholds = sorted(rng.uniform(0, 0.9 * total) for _ in range(20))
    requests_before = stub_requests(stub_url)
    command = [sys.executable, "-m", "localize", *map(str, args), "-o", str(out), "--cache", str(store)]
    for threshold in thresholds:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and stored_so_far(store) < threshold:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL, "the run ended before its kill"
        assert not out.exists() or out.read_bytes() == reference  # absent or complete, never partial
    killed_at = stored_so_far(store)
    assert killed_at >= thresholds[-1]

    proc = cli(*args, "-o", out, "--cache", store, "--json")
    assert proc.returncode == 0, proc.stderr
    final = json.loads(proc.stdout)
    assert final["model_calls"] == total - killed_at and final["cached"] == killed_at

    assert out.read_bytes() == reference
    for sidecar in ("report.csv", "errors.csv"):  # flagged rows and failures: the same, or absent in both
        made = [tmp_path / f"{name}.{sidecar}" for name in ("reference", "resumed")]
        assert [p.read_bytes() if p.exists() else None for p in made].count(None) in (0, 2)
        assert len({p.read_bytes() if p.exists() else None for p in made}) == 1
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    handles = [r[0] for r in rows[1:]]
    assert handles == [f"item-{i:05d}" for i in range(n)]  # none lost, none repeated, input order
    assert not list(tmp_path.glob(".resumed.csv.*.tmp"))  # temps of the killed runs swept
    assert entries(store) == total
    with contextlib.closing(sqlite3.connect(store)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Only what was in flight at a kill is ever asked twice: at most one batch per kill.
    asked = stub_requests(stub_url) - requests_before
    assert total <= asked <= total + 20 * batch_rows * 2


def stored_so_far(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(store, timeout=5)) as db:
            return db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    except sqlite3.OperationalError:  # created but no table yet
        return 0
