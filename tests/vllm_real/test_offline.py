"""`--backend vllm-offline`: vllm.LLM in this process, with the tiny random model
and the operator settings localize passes through (validated dict)."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("vllm") is None:  # found, not imported: localize sets vLLM's logging up first
    pytest.skip("vLLM is not installed here: CI runs these in its vLLM stage (.ci/vllm-stage.sh)",
                allow_module_level=True)

from vllm_real.tiny_vllm import MAX_MODEL_LEN  # noqa: E402

from localize.backends.base import GenerationRequest  # noqa: E402
from localize.errors import BackendUnavailable  # noqa: E402

VLLM_LOG_MARKERS = ("INFO ", "WARNING ", "EngineCore", "it/s]")


def chat(text: str, **kw) -> GenerationRequest:
    return GenerationRequest(messages=({"role": "system", "content": "Translate into French."},
                                       {"role": "user", "content": text}), **kw)


def test_settings_reach_the_engine(offline_engine):
    config = offline_engine.backend.engine.llm_engine.vllm_config
    assert config.model_config.max_model_len == MAX_MODEL_LEN
    assert config.scheduler_config.max_num_seqs == 8
    assert config.cache_config.enable_prefix_caching is True


def test_load_logged_to_the_file_not_the_terminal(offline_engine):
    assert not any(marker in offline_engine.load_output for marker in VLLM_LOG_MARKERS), offline_engine.load_output
    logged = offline_engine.backend.log_file.read_text(errors="replace")
    assert "INFO" in logged  # vLLM did talk: to the file


def test_batch_with_cut_banned_words_and_a_too_long_prompt(offline_engine, capfd):
    backend = offline_engine.backend
    seen = []
    gens = backend.generate(
        [chat("Wool beanie", max_tokens=3), chat("merino hiking jacket " * MAX_MODEL_LEN, max_tokens=4),
         chat("Rain poncho", max_tokens=6, bad_words=("merino",), repeat_penalty=1.3)],
        on_result=lambda i, g: seen.append(i),
    )
    assert sorted(seen) == [0, 1, 2]
    assert gens[0].ok and gens[0].finish_reason == "length" and gens[0].completion_tokens == 3
    assert gens[0].prompt_tokens > 5
    assert not gens[1].ok and "maximum context length" in gens[1].error, gens[1].error
    assert gens[2].ok and 0 < gens[2].completion_tokens <= 6
    out = capfd.readouterr()
    assert not any(marker in out.err + out.out for marker in VLLM_LOG_MARKERS), out


def test_banned_word_is_not_generated(offline_engine):
    from localize.backends.vllm_offline import sampling_params

    backend = offline_engine.backend
    request = chat("Trail running shoes", max_tokens=12, repeat_penalty=1.0)
    llm = backend.engine
    (raw,) = llm.chat([list(request.messages)], sampling_params(request), use_tqdm=False)
    tokenizer = llm.get_tokenizer()
    tokens = [tokenizer.decode([t]) for t in raw.outputs[0].token_ids]
    # A whole-word token not written after a space (see test_server's bad_words test).
    banned = next((t for t in tokens if t.isalpha()), None)
    assert banned, f"the random model chose no plain-word token: {tokens}"
    (plain,) = backend.generate([request])
    assert plain.text == raw.outputs[0].text  # the backend sends what vLLM gets directly
    steered_request = chat("Trail running shoes", max_tokens=12, repeat_penalty=1.0, bad_words=(banned,))
    (steered,) = backend.generate([steered_request])
    assert steered.ok and steered.text != plain.text
    (raw_steered,) = llm.chat([list(steered_request.messages)], sampling_params(steered_request), use_tqdm=False)
    assert banned not in [tokenizer.decode([t]) for t in raw_steered.outputs[0].token_ids]


def test_a_model_that_cannot_load_is_backend_unavailable(tmp_path):
    from localize.backends.vllm_offline import VLLMOfflineBackend

    backend = VLLMOfflineBackend(str(tmp_path / "no-such-model"), log_file=tmp_path / "v.log")
    with pytest.raises(BackendUnavailable, match="could not load"):
        backend.load()
