"""The API key comes from the environment and never appears anywhere else:
stdout, stderr (progress, summary, errors, tracebacks), the output, the
report, the errors file, or the translation store.

The runs are real: the CLI as its own process, the stub OpenAI-compatible
server (a real HTTP server process), and tests/fault_proxy.py between them,
injecting faults whose error bodies echo the request headers, Authorization
included, as some servers and gateways do. The one thing forced is the
internal error: a bug that puts the key into an exception message cannot
happen on demand, so `run` is replaced by one that raises such an exception.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("aiohttp")

from localize.backends.openai_wire import excerpt  # noqa: E402
from localize.backends.redaction import redact  # noqa: E402
from localize.testing.stub_server import running_stub_server  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fault_proxy import HOSTILE, FaultProxy  # noqa: E402

SENTINEL = "sk-SENTINEL-4f2c8e1d9b7a-never-print-me"

FORCED_BUG = """
import os, sys
import localize.pipeline.run as pipeline_run

def run(opts, **kwargs):  # a bug that carries the key into an exception message
    raise RuntimeError("request failed: Authorization: Bearer " + os.environ["LOCALIZE_API_KEY"])

pipeline_run.run = run
from localize.cli.app import main
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def stub():
    with running_stub_server() as url:
        yield url


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("VLLM_API_KEY", "LOCALIZE_DEBUG")}
    cache = tmp_path / "cache"  # the translation store is searched too
    env.update(LOCALIZE_API_KEY=SENTINEL, LOCALIZE_CACHE_DIR=str(cache), LOCALIZE_STORE=str(cache / "store.sqlite"))
    return env


def write_catalog(path: Path) -> Path:
    rows = ["sku,title,description"]
    rows += [f"S-{i},Linen shirt no. {i}," for i in range(40)]
    rows.append("S-POISON,POISON shirt,")  # always 503 (with the headers echoed): errors file
    rows.append("S-LONG,Long shirt,<p>" + "Soft linen. " * 170 + "</p>")  # over Amazon's 2000: report
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def cli(args: list[str], env: dict, *, code: str | None = None) -> subprocess.CompletedProcess:
    prefix = [sys.executable, "-c", code] if code else [sys.executable, "-m", "localize"]
    return subprocess.run(prefix + args, capture_output=True, text=True, env=env, timeout=120)


def test_sentinel_key_is_sent_but_never_written(stub, tmp_path, env):
    catalog = write_catalog(tmp_path / "shirts.csv")
    common = ["--to", "es", "--backend", "vllm", "--timeout", "1", "--retries", "2", "--market", "amazon"]
    runs = []
    with FaultProxy(stub, 0.2, seed=11, fail_marker="POISON", echo_headers=True) as proxy:
        runs.append(ok := cli([str(catalog), *common, "--endpoint", proxy.url, "--json"], env))
    assert ok.returncode == 0, ok.stderr
    assert proxy.authorization == {f"Bearer {SENTINEL}"}  # the key was really in play
    for name in ("shirts.localized.csv", "shirts.localized.report.csv", "shirts.localized.errors.csv"):
        assert (tmp_path / name).exists(), name
    errors = (tmp_path / "shirts.localized.errors.csv").read_text()
    assert "authorization" in errors and "Bearer ***" in errors  # the echo came back, redacted

    # The server goes down (the breaker's message); no store, or it would serve most texts.
    with FaultProxy(stub, 1.0, seed=12, chat_only=True, echo_headers=True, faults=("429", "500", "503")) as down:
        args = [str(catalog), *common, "--endpoint", down.url, "-o", str(tmp_path / "x.csv"), "--no-cache"]
        runs.append(stopped := cli(args, env))
    assert stopped.returncode == 5 and "stopped answering" in stopped.stderr
    assert "Bearer ***" in stopped.stderr  # the last error, echoed headers and all, redacted

    for debug in ("", "1"):  # the one-line internal error, and the traceback
        runs.append(bug := cli([str(catalog), "--to", "es"], {**env, "LOCALIZE_DEBUG": debug}, code=FORCED_BUG))
        assert bug.returncode == 70 and "Bearer ***" in bug.stderr, bug.stderr
        assert ("Traceback" in bug.stderr) == bool(debug)

    for proc in runs:
        assert SENTINEL not in proc.stdout and SENTINEL not in proc.stderr, proc.args
    store_files = list((tmp_path / "cache").rglob("*"))
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 4 and (tmp_path / "cache" / "store.sqlite") in store_files
    for path in written:
        assert SENTINEL.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("faults", [("html_page", "no_choices"), HOSTILE], ids=["unparsable-200", "every-kind"])
def test_hostile_answers_echoing_the_key_never_write_it(stub, tmp_path, env, faults):
    """200 answers that cannot be parsed (HTML pages, truncated JSON, content of
    the wrong type...) and statuses of every kind, each repeating the request's
    headers: the errors file says what was wrong, with the key masked."""
    catalog = write_catalog(tmp_path / "shirts.csv")
    with FaultProxy(stub, 0.6, seed=13, chat_only=True, faults=faults) as proxy:
        proc = cli([str(catalog), "--to", "es,fr", "--backend", "vllm", "--endpoint", proxy.url, "--timeout", "30",
                    "--retries", "1", "--json"], env)
    assert proc.returncode == 0, proc.stderr
    assert proxy.authorization == {f"Bearer {SENTINEL}"} and sum(proxy.injected.values()) > 20
    errors = (tmp_path / "shirts.localized.errors.csv").read_text()
    assert "malformed response: " in errors and "Bearer ***" in errors
    assert SENTINEL not in proc.stdout + proc.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes(), path
            assert SENTINEL[:12].encode() not in path.read_bytes(), path  # nor a key cut short


def test_no_command_line_option_takes_a_key():
    """Keys on the command line end up in `ps`, shell history and CI logs."""
    from typer.main import get_command

    from localize.cli.app import app

    def options(cmd):
        for param in cmd.params:
            yield from param.opts
        for sub in getattr(cmd, "commands", {}).values():
            yield from options(sub)

    names = list(options(get_command(app)))
    assert "--to" in names
    assert not [n for n in names if "key" in n.lower() or "token" in n.lower() or "secret" in n.lower()]


# How a server may echo a key: as is, JSON-escaped, in a Python repr of str or
# bytes, percent-encoded (keys with characters that each of these escapes).
SPELLINGS = {
    "plain": lambda k: k,
    "json": lambda k: json.dumps(k)[1:-1],
    "json-ascii": lambda k: json.dumps(k, ensure_ascii=False)[1:-1],
    "repr": lambda k: repr(k)[1:-1],
    "bytes-repr": lambda k: repr(k.encode())[2:-1],
    "percent": lambda k: urllib.parse.quote(k, safe=""),
}
KEY_CHARS = "abcXYZ0189-_.+/=~\"é"


@settings(max_examples=400, deadline=None)
@given(key=st.text(KEY_CHARS, min_size=8, max_size=40), spelling=st.sampled_from(sorted(SPELLINGS)),
       before=st.text(max_size=60), after=st.text(max_size=60), cut=st.integers(0, 400),
       limit=st.integers(10, 300))
def test_any_server_text_echoing_the_key_comes_out_masked(key, spelling, before, after, cut, limit):
    """Whole, cut short by the server, or cut by an excerpt: no spelling of the key survives."""
    spelled = SPELLINGS[spelling](key)
    assume(spelled[:6] not in before + after and key[:6] not in before + after)
    text = before + spelled + after
    assert spelled not in redact(text, [key]) and key not in redact(text, [key])
    # The server cut its echo: at least the first 6 characters of the key left, so it is masked.
    server_cut = text[: max(cut, len(before) + 6)]
    assert spelled[:6] not in redact(server_cut, [key])
    # An excerpt of any length is cut after redacting, never before.
    short = excerpt(text, lambda t: redact(t, [key]), limit)
    assert spelled[:6] not in short and key[:6] not in short


def test_side_files_mask_the_key_whatever_a_caller_passes(tmp_path, monkeypatch):
    """The sink's own guard: a reason or detail carrying the key (a bug upstream of
    the writer, an engine that does not redact) is written masked."""
    from localize.pipeline.report import IssueReport

    monkeypatch.setenv("LOCALIZE_API_KEY", SENTINEL)
    report = IssueReport(tmp_path / "out.report.csv")
    report.add(1, "title", "es", "too_long", f"echo: Bearer {SENTINEL}")
    report.errors.add(2, "title", "es", f"HTTP 500: Authorization: Bearer {SENTINEL}", 3)
    report.commit()
    for name in ("out.report.csv", "out.errors.csv"):
        text = (tmp_path / name).read_text()
        assert "Bearer ***" in text and SENTINEL not in text, name
