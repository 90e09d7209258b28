"""The `vllm` backend (an OpenAI-compatible HTTP client).

Happy path against a REAL OpenAI-compatible server: llama.cpp's, from the
`xllamacpp` wheel. vLLM itself (even its CPU build, ~3.4 GB and ~60 s to start)
is too heavy for the test suite; the client speaks only the shared OpenAI API.

Faults (503, 429, 400, hangs, echoed keys) run against a small aiohttp fake:
a real server cannot be made to fail on demand.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import email.utils
import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

aiohttp = pytest.importorskip("aiohttp")
from aiohttp import web  # noqa: E402

from localize.backends.base import GenerationRequest  # noqa: E402
from localize.backends.openai_server import (  # noqa: E402
    DEFAULT_ENDPOINT,
    OpenAIServerBackend,
    backoff_delay,
    build_chat_payload,
    probe,
)
from localize.errors import BackendUnavailable  # noqa: E402

SENTINEL_KEY = "sk-SENTINEL-7f3a9c-do-not-leak"


def req(content: str, **kw) -> GenerationRequest:
    return GenerationRequest(messages=({"role": "user", "content": content},), **kw)


# -- pure -------------------------------------------------------------------


def test_build_chat_payload():
    r = GenerationRequest(
        messages=({"role": "system", "content": "s"}, {"role": "user", "content": "u"}),
        max_tokens=64,
        temperature=0.2,
        repeat_penalty=1.15,
        stop=("\n\n",),
    )
    assert build_chat_payload(r, "m") == {
        "model": "m",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "max_tokens": 64,
        "temperature": 0.2,
        "repetition_penalty": 1.15,
        "repeat_penalty": 1.15,
        "stop": ["\n\n"],
    }
    # No stop sequences: no `stop` key at all.
    assert build_chat_payload(req("x"), "m") == {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 512,
        "temperature": 0.0,
        "repetition_penalty": 1.1,
        "repeat_penalty": 1.1,
    }


def test_backoff_delay():
    # Retry-After is a minimum: honoured, with up to 20% jitter on top, capped at 60 s.
    assert 2.0 <= backoff_delay(3, 0.5, retry_after="2") <= 2.4
    assert backoff_delay(0, 0.5, retry_after="9999") == 60.0
    soon = email.utils.format_datetime(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30))
    assert 25 <= backoff_delay(0, 0.5, retry_after=soon) <= 37  # an HTTP-date in the future
    for attempt in range(4):
        d = backoff_delay(attempt, 0.5, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
        assert 0.25 * 2**attempt <= d <= 0.75 * 2**attempt
    assert backoff_delay(20, 0.5) <= 45.0  # capped


def test_construction_is_cheap_and_repr_hides_key():
    b = OpenAIServerBackend(api_key=SENTINEL_KEY)
    assert b.endpoint == DEFAULT_ENDPOINT and b.max_in_flight >= 256
    assert SENTINEL_KEY not in repr(b)
    assert b._thread is None  # nothing started until first use


# -- real server: llama.cpp via xllamacpp --------------------------------------


# `llama_server` (tests/conftest.py): llama.cpp's real HTTP server with the default model.


def test_real_server_translations_in_order(llama_server):
    base = llama_server
    assert probe(base)
    words = {"dog": "perro", "cat": "gato", "house": "casa", "water": "agua"}
    requests = [
        req(
            f"Translate the English word '{en}' into Spanish. Reply with the Spanish word only.",
            max_tokens=24,
        )
        for en in words
    ]
    seen = []
    with OpenAIServerBackend(base) as b:
        out = b.generate(requests, on_result=lambda i, g: seen.append(i))
        assert b.model  # discovered from GET /models
        assert b.description == f"vllm server {base} model {b.model}"
    assert sorted(seen) == [0, 1, 2, 3]
    for gen, es in zip(out, words.values()):
        assert gen.ok and gen.text.strip(), gen
        assert gen.completion_tokens > 0 and gen.prompt_tokens > 0
        assert gen.finish_reason in ("stop", "length")
        assert es in gen.text.lower()  # in request order


# -- fake server for faults ------------------------------------------------------


class Fake:
    """Dispatches on the user message, `mode:id`; counts attempts per message."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.attempts = collections.Counter()
        self.active = 0
        self.peak = 0
        self.auth_headers = []
        self.models_failures = 0  # the next GET /models answers 503 this many times

    async def models(self, request):
        if self.models_failures:
            self.models_failures -= 1
            return web.Response(status=503, headers={"Retry-After": "0"}, text="warming up")
        if "REJECT" in request.headers.get("Authorization", ""):
            return web.json_response({"echo": dict(request.headers)}, status=401)
        return web.json_response({"object": "list", "data": [{"id": "fake-model"}]})

    async def chat(self, request):
        assert request.content_type == "application/json"  # FastAPI (vLLM) needs it
        body = await request.json()
        key = body["messages"][-1]["content"]
        self.attempts[key] += 1
        n = self.attempts[key]
        self.auth_headers.append(request.headers.get("Authorization"))
        mode = key.split(":")[0]
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            if mode == "flaky" and n <= 2:
                return web.json_response({"error": {"message": "busy"}}, status=503)
            if mode == "ratelimited" and n == 1:
                return web.Response(status=429, headers={"Retry-After": "0"}, text="slow down")
            if mode == "always503":
                return web.Response(status=503, text="overloaded")
            if mode == "bad":
                return web.json_response(
                    {"error": {"message": "prompt is too long", "type": "BadRequestError"}},
                    status=400,
                )
            if mode == "oldbad":  # vLLM < 0.7 error shape
                return web.json_response({"object": "error", "message": "bad temp"}, status=400)
            if mode in ("echo401", "echo500"):
                status = 401 if mode == "echo401" else 500
                return web.json_response({"echo": dict(request.headers)}, status=status)
            if mode == "slow":
                await asyncio.sleep(2.0)
            if mode == "sleep":
                await asyncio.sleep(float(key.split(":")[1]))
            return web.json_response(
                {
                    "choices": [
                        {"message": {"role": "assistant", "content": f"re {key}"},
                         "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 3},
                }
            )
        finally:
            self.active -= 1


class ServerThread:
    """An aiohttp app on its own loop in a thread (generate() blocks the test thread)."""

    def __init__(self, app):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner = web.AppRunner(app, access_log=None)
        self._call(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0, backlog=1024)
        self._call(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}/v1"

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self):
        self._call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _app(fake: Fake) -> web.Application:
    app = web.Application()
    app.router.add_get("/v1/models", fake.models)
    app.router.add_post("/v1/chat/completions", fake.chat)
    return app


@pytest.fixture(scope="module")
def fake_server():
    fake = Fake()
    srv = ServerThread(_app(fake))
    yield fake, srv.base
    srv.stop()


@pytest.fixture
def fake(fake_server):
    fake, base = fake_server
    fake.reset()
    return fake, base


def backend(base, **kw):
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("api_key", "")
    return OpenAIServerBackend(base, **kw)


def test_fake_retries_and_errors(fake):
    fake, base = fake
    keys = ["flaky:1", "ratelimited:1", "bad:1", "oldbad:1", "always503:1", "ok:1"]
    with backend(base, max_retries=3) as b:
        out = b.generate([req(k) for k in keys])
        assert b.model == "fake-model"
    flaky, limited, bad, oldbad, down, ok = out
    assert flaky.text == "re flaky:1" and fake.attempts["flaky:1"] == 3 == flaky.attempts
    assert flaky.completion_tokens == 3 and flaky.prompt_tokens == 7
    assert flaky.finish_reason == "stop"
    assert limited.ok and fake.attempts["ratelimited:1"] == 2
    assert bad.text is None and fake.attempts["bad:1"] == 1
    assert bad.error == "HTTP 400: prompt is too long"
    assert oldbad.error == "HTTP 400: bad temp"
    assert down.text is None and fake.attempts["always503:1"] == 1 + 3 == down.attempts
    assert limited.attempts == 2 and bad.attempts == 1 and ok.attempts == 1
    assert "HTTP 503: overloaded" in down.error and "3 retries" in down.error
    assert ok.ok
    assert max(fake.attempts.values()) <= 1 + 3


def test_fake_timeout_after_retries(fake):
    fake, base = fake
    t0 = time.monotonic()
    with backend(base, timeout=0.2, max_retries=2) as b:
        [gen] = b.generate([req("slow:1")])
    assert gen.text is None and "timed out after 0.2s" in gen.error and "gave up after 2 retries" in gen.error
    assert fake.attempts["slow:1"] == 3 == gen.attempts
    assert time.monotonic() - t0 >= 3 * 0.2  # each attempt waited out its timeout


def test_fake_max_in_flight_is_respected_and_reached(fake):
    fake, base = fake
    n = 64
    done = []
    with backend(base, max_in_flight=n) as b:
        out = b.generate([req(f"sleep:0.05:{i}") for i in range(200)],
                         on_result=lambda i, g: done.append(i))
    assert all(g.ok for g in out)
    assert [g.text for g in out] == [f"re sleep:0.05:{i}" for i in range(200)]
    assert sorted(done) == list(range(200))
    assert fake.peak == n


def test_fake_default_exceeds_connection_pool_default_of_100(fake):
    fake, base = fake
    with backend(base) as b:
        out = b.generate([req(f"sleep:0.3:{i}") for i in range(300)])
    assert all(g.ok for g in out)
    assert 100 < fake.peak <= 256


def test_fake_concurrent_callers_share_one_cap(fake):
    fake, base = fake
    n = 16
    with backend(base, max_in_flight=n) as b:
        results = {}

        def call(tag):
            results[tag] = b.generate([req(f"sleep:0.03:{tag}{i}") for i in range(60)])

        threads = [threading.Thread(target=call, args=(t,)) for t in "abc"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(g.ok for r in results.values() for g in r)
    assert fake.peak == n


def test_discovery_is_retried(fake):
    fake, base = fake
    fake.models_failures = 2
    with backend(base, max_retries=2) as b:
        assert b.generate([req("ok:discovery")])[0].ok
    assert fake.models_failures == 0


def test_breaker_trips_when_every_request_fails(fake):
    """A server that answers but never succeeds (503 on everything): one
    BackendUnavailable, not a thousand failed rows."""
    fake, base = fake
    with backend(base, max_retries=2, max_in_flight=8) as b:
        with pytest.raises(BackendUnavailable, match=r"stopped answering: .*HTTP 503: overloaded"):
            b.generate([req(f"always503:{i}") for i in range(1000)])
    assert sum(fake.attempts.values()) < 1000  # stopped early, not after every row
    assert max(fake.attempts.values()) <= 1 + 2


def test_breaker_holds_while_others_succeed(fake):
    """One segment the server always fails next to ones it answers: the segment
    fails alone (after 1 + max_retries attempts) and the batch completes."""
    fake, base = fake
    keys = [f"always503:{i}" if i in (0, 10, 20) else f"sleep:0.01:{i}" for i in range(200)]
    with backend(base, max_retries=3, max_in_flight=4) as b:
        out = b.generate([req(k) for k in keys])
    assert [i for i, g in enumerate(out) if not g.ok] == [0, 10, 20]
    assert [out[i].attempts for i in (0, 10, 20)] == [4] * 3
    assert {fake.attempts[f"always503:{i}"] for i in (0, 10, 20)} == {4}


# -- server down --------------------------------------------------------------------


def _closed_port_base() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"


def test_server_down():
    base = _closed_port_base()
    assert probe(base) is False
    for model in (None, "Qwen/Qwen2.5-7B-Instruct"):
        with backend(base, model=model, api_key=SENTINEL_KEY) as b:
            with pytest.raises(BackendUnavailable) as ei:
                b.generate([req("ok:1")] * 1000)
            # The description never raises, even with the server down.
            assert b.description.startswith(f"vllm server {base} model ")
        msg = str(ei.value)
        assert msg.startswith(f"cannot reach vLLM server at {base}: ")
        assert f"vllm serve {model or '<model>'}" in msg
        assert "gave up after" not in msg  # a refused connection is final: nothing listens, no retries
        assert SENTINEL_KEY not in msg


def test_server_goes_away_mid_run():
    """After discovery succeeded: every request failing to connect → BackendUnavailable,
    not a thousand failed rows."""
    fake = Fake()
    srv = ServerThread(_app(fake))
    b = backend(srv.base, max_retries=2)
    try:
        assert b.generate([req("ok:1")])[0].ok
        srv.stop()
        with pytest.raises(BackendUnavailable, match="vLLM server at .* stopped answering: no request succeeded") as ei:
            b.generate([req(f"ok:{i}") for i in range(1000)])
        # Stopped after a few requests' retries, not after 1000 requests x 3 attempts.
        failed_attempts = int(re.search(r"\((\d+) failed attempts in a row", str(ei.value)).group(1))
        assert b.trip_after <= failed_attempts < 1000
    finally:
        b.close()


# -- API key ---------------------------------------------------------------------------


def test_api_key_sent_but_never_leaked(fake):
    fake, base = fake
    with backend(base, api_key=SENTINEL_KEY, max_retries=1) as b:
        e500, ok = b.generate([req("echo500:1"), req("ok:k")])
        assert SENTINEL_KEY not in repr(b) and SENTINEL_KEY not in b.description
        # A key refused mid-run (revoked, rotated) would fail every request: the run stops.
        with pytest.raises(BackendUnavailable) as e401:
            b.generate([req("echo401:1")])
    assert fake.auth_headers and set(fake.auth_headers) == {f"Bearer {SENTINEL_KEY}"}
    assert ok.ok
    assert e500.text is None and "Authorization" in e500.error  # the echo came back...
    assert SENTINEL_KEY not in e500.error  # ...with the key redacted
    assert e500.error.startswith("HTTP 500") and fake.attempts["echo500:1"] == 2
    message = str(e401.value)
    assert "refuses the API key" in message and "HTTP 401" in message and "Authorization" in message
    assert SENTINEL_KEY not in message and fake.attempts["echo401:1"] == 1

    rejected = "REJECT-" + SENTINEL_KEY
    with backend(base, api_key=rejected) as b:
        with pytest.raises(BackendUnavailable) as ei:
            b.generate([req("ok:1")])
    assert "API key" in str(ei.value) and SENTINEL_KEY not in str(ei.value)


def test_api_key_from_environment(fake, monkeypatch):
    fake, base = fake
    monkeypatch.setenv("VLLM_API_KEY", "from-vllm-env")
    monkeypatch.setenv("OPENAI_API_KEY", "must-never-be-sent")
    monkeypatch.setenv("LOCALIZE_API_KEY", "from-localize-env")
    with OpenAIServerBackend(base) as b:
        assert b.generate([req("ok:env")])[0].ok
    monkeypatch.delenv("LOCALIZE_API_KEY")
    with OpenAIServerBackend(base) as b:
        assert b.generate([req("ok:env2")])[0].ok
    assert fake.auth_headers == ["Bearer from-localize-env", "Bearer from-vllm-env"]


def test_missing_aiohttp_is_a_clear_error(monkeypatch):
    from localize.errors import MissingDependency

    monkeypatch.setitem(__import__("sys").modules, "aiohttp", None)  # `import aiohttp` fails
    with OpenAIServerBackend(_closed_port_base()) as b:
        with pytest.raises(MissingDependency, match=r"localize\[vllm\]"):
            b.generate([req("ok:1")])
