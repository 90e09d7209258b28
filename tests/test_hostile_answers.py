"""Hostile answers, generated: whatever a server sends back, the client makes a
text or a failed segment of it, never an exception that ends the run, and
never writes the API key anywhere.

Three levels:
- the parser alone (any JSON document, any bytes), by hypothesis;
- the HTTP client against the stub server behind tests/fault_proxy.py, which
  serves every kind of tests/hostile_answers.py (hypothesis draws the kind,
  the proxy's RNG seed and the API key it echoes);
- the second breaker: a server that answers but never usefully stops the run,
  one that fails a few requests does not.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

pytest.importorskip("aiohttp")

from localize.backends.base import GenerationRequest  # noqa: E402
from localize.backends.openai_server import NOTHING_USABLE_AFTER, OpenAIServerBackend  # noqa: E402
from localize.backends.openai_wire import parse_completion  # noqa: E402
from localize.errors import BackendUnavailable  # noqa: E402
from localize.testing.stub_server import running_stub_server  # noqa: E402
from localize.text.cleanup import clean_output  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from fault_proxy import FaultProxy  # noqa: E402
from hostile_answers import CLEANED, FAILING, KINDS  # noqa: E402

# Keys as real ones look: a prefix and a random tail (hypothesis shrinks the tail).
KEYS = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=16, max_size=48).map(
    lambda tail: "sk-live-" + tail)
SOURCES = st.text("abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=40).map(lambda s: "Red scarf " + s.strip())
FAILURE_PREFIXES = ("malformed response: ", "answer longer than requested", "answer larger than", "HTTP ")


def chat(source: str, max_tokens: int = 64) -> GenerationRequest:
    return GenerationRequest(messages=({"role": "user", "content": f"<<<\n{source}\n>>> (es)"},),
                             max_tokens=max_tokens)


def assert_no_key(text: str | None, key: str) -> None:
    if text:
        assert key not in text and key[:12] not in text, text


@pytest.fixture(scope="module")
def proxy():
    with running_stub_server() as url, FaultProxy(url, 1.0, chat_only=True) as proxy:
        yield proxy


# -- the parser alone -------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(st.characters(codec=None)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
ANSWERS = st.fixed_dictionaries(
    {"choices": st.lists(st.fixed_dictionaries({"message": st.fixed_dictionaries({"content": JSON}),
                                                "finish_reason": JSON}), max_size=2) | JSON},
    optional={"usage": st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens"]), JSON) | JSON},
)


def check_generation(gen) -> None:
    """What the pipeline relies on: a str text fit for every output, or None and a one-line error; int counts."""
    if gen.text is None:
        assert isinstance(gen.error, str) and gen.error and "\n" not in gen.error
        assert gen.error.startswith(FAILURE_PREFIXES), gen.error
    else:
        assert isinstance(gen.text, str) and gen.error is None
        gen.text.encode("utf-8")  # no lone surrogate
    assert type(gen.completion_tokens) is int and type(gen.prompt_tokens) is int
    assert gen.finish_reason is None or isinstance(gen.finish_reason, str)


@settings(max_examples=250, deadline=None)
@given(document=ANSWERS | JSON)
def test_parser_takes_any_json_document(document):
    raw = json.dumps(document).encode()  # lone surrogates travel as \\ud800 escapes
    gen = parse_completion(raw, max_tokens=64)
    check_generation(gen)
    sent, content = json.loads(raw), None  # as the client reads it (escaped pairs joined)
    if isinstance(sent, dict) and isinstance(sent.get("choices"), list) and sent["choices"]:
        message = sent["choices"][0].get("message") if isinstance(sent["choices"][0], dict) else None
        content = message.get("content") if isinstance(message, dict) else None
    usable = isinstance(content, str) and not re.search("[\ud800-\udfff]", content) and len(content) <= 8 * 64
    assert gen.ok == usable
    if usable:
        assert gen.text == content


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_parser_takes_any_bytes(raw):
    check_generation(parse_completion(raw, max_tokens=64))


# -- the client, against generated hostile answers --------------------------------


@settings(max_examples=390, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(KINDS)), seed=st.integers(0, 2**32 - 1), key=KEYS, source=SOURCES)
def test_every_hostile_answer_is_a_text_or_a_failed_segment(proxy, kind, seed, key, source):
    event(kind)  # --hypothesis-show-statistics: how many cases each kind ran
    proxy.faults, proxy.rng = (kind,), random.Random(seed)
    with OpenAIServerBackend(proxy.url, api_key=key, max_retries=0, backoff_base=0.0) as backend:
        [gen] = backend.generate([chat(source)])
    check_generation(gen)
    assert_no_key(gen.error, key)
    assert_no_key(gen.text, key)
    if kind in FAILING:
        assert not gen.ok
    elif kind in CLEANED:  # usable: once cleaned, exactly the real answer
        assert gen.ok and clean_output(gen.text, source, "text") == f"[es] {source}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(FAILING)), seed=st.integers(0, 2**32 - 1),
       n=st.integers(2, 3 * NOTHING_USABLE_AFTER))
def test_a_server_that_never_answers_usefully_stops_the_run(proxy, kind, seed, n):
    """Every answer useless (a wrong --model's 404s, 400s, no content, garbage): one
    BackendUnavailable saying why, unless the requests differ in how they failed and
    are fewer than NOTHING_USABLE_AFTER (a few bad cells of a small run)."""
    event(kind)
    proxy.faults, proxy.rng = (kind,), random.Random(seed)
    requests = [chat(f"Red scarf {i}") for i in range(n)]
    with OpenAIServerBackend(proxy.url, api_key="", max_retries=0, max_in_flight=4) as backend:
        try:
            gens = backend.generate(requests)
        except BackendUnavailable as exc:
            message = str(exc)
            assert "gave no usable answer: every request of the first" in message and "\n" not in message
            return
    errors = {g.error for g in gens}
    assert n < NOTHING_USABLE_AFTER and len(errors) > 1 and not any(g.ok for g in gens)


@pytest.mark.parametrize("status", [400, 404, 422])
def test_wrong_model_stops_after_the_first_requests(proxy, status):
    """vLLM given a wrong --model: discovery accepts it, every chat is a 404."""
    proxy.faults, proxy.rng = (str(status),), random.Random(0)
    before = proxy.injected[str(status)]
    with OpenAIServerBackend(proxy.url, model="no-such-model", api_key="", max_retries=0, max_in_flight=8) as b:
        with pytest.raises(BackendUnavailable) as exc:
            b.generate([chat(f"Red scarf {i}") for i in range(500)])
    assert f"HTTP {status}: fault proxy: injected {status}" in str(exc.value)
    assert "check the model name (no-such-model)" in str(exc.value)
    assert proxy.injected[str(status)] - before < 500  # stopped early, not after every row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), rate=st.floats(0.05, 0.95), n=st.integers(1, 40))
def test_a_few_failed_requests_never_stop_the_run(proxy, seed, rate, n):
    """In submission order (one request in flight), the run stops exactly when the first
    NOTHING_USABLE_AFTER answers all failed, or the whole batch failed the same way."""
    proxy.faults, proxy.rng, proxy.rate = ("content_null",), random.Random(seed), rate
    arrivals = len([a for times in proxy.arrivals.values() for a in times])
    try:
        with OpenAIServerBackend(proxy.url, api_key="", max_retries=0, max_in_flight=1) as backend:
            backend.generate([chat(f"Blue cap {seed} {i}") for i in range(n)])
        stopped = False
    except BackendUnavailable:
        stopped = True
    finally:
        proxy.rate = 1.0
    served = sorted(a for times in proxy.arrivals.values() for a in times)[arrivals:]
    failed = [fault is not None for _, fault in served]
    expected = (len(failed) >= NOTHING_USABLE_AFTER and all(failed[:NOTHING_USABLE_AFTER])) or (
        n >= 2 and len(failed) == n and all(failed))
    assert stopped == expected, failed


MODEL_LISTS = (
    st.fixed_dictionaries({"data": st.lists(st.fixed_dictionaries({"id": JSON}), max_size=2) | JSON}) | JSON
    # A gateway's echo ("KEY" becomes the key), and a name no message should print.
    | st.sampled_from([{"error": {"message": "request headers: Authorization: Bearer KEY"}},
                       {"data": [{"id": "qwen\x1b[2J"}]}, {"data": [{"id": "qwen KEY"}]}, {"data": [{"id": "\ud800"}]}])
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=MODEL_LISTS, key=KEYS)
def test_discovery_takes_any_json_document(proxy, document, key):
    """GET /models answering any JSON: a printable model name is used, anything
    else is one BackendUnavailable line ("names no model"), never a crash."""
    body = json.dumps(document)
    proxy.models_answer = body.replace("KEY", key).encode()
    try:
        with OpenAIServerBackend(proxy.url, api_key=key, max_retries=0) as backend:
            backend.load()
            assert isinstance(backend.model, str) and backend.model.isprintable() and backend.model.strip()
            assert_no_key(backend.model, key)
            assert backend.model == json.loads(body)["data"][0]["id"]
    except BackendUnavailable as exc:
        message = str(exc)
        assert "names no model at GET /models" in message and "\n" not in message
        assert_no_key(message, key)
    finally:
        proxy.models_answer = None
