"""In-process vLLM (`vllm.LLM`): whole batches on a local GPU, no server.

Needs the `vllm` package and a GPU machine; `--model` takes a hub id or a
local path. Not exercised by the test suite here (no GPU): only its missing-
dependency error is.
"""

from __future__ import annotations

import json
from typing import Sequence

from localize.backends.base import Backend, Generation, GenerationRequest, OnResult
from localize.errors import BackendUnavailable, MissingDependency

DEFAULT_OFFLINE_MODEL = "Qwen/Qwen2.5-7B-Instruct"


class VLLMOfflineBackend(Backend):
    name = "vllm-offline"

    def __init__(self, model: str | None = None, **engine_kwargs):
        self.model = model or DEFAULT_OFFLINE_MODEL
        self.engine_kwargs = engine_kwargs
        self._llm = None

    @property
    def description(self) -> str:
        return f"in-process vLLM ({self.model})"

    @property
    def model_id(self) -> str:
        # Engine settings such as quantization or dtype change the text, so they are part of it.
        extra = json.dumps(self.engine_kwargs, sort_keys=True, default=str) if self.engine_kwargs else ""
        return f"vllm-offline:{self.model}{':' + extra if extra else ''}"

    def load(self) -> None:
        self._load()

    def _load(self):
        if self._llm is None:
            try:
                import vllm
            except ImportError:
                raise MissingDependency("vllm", "vllm-offline") from None
            try:
                self._llm = vllm.LLM(model=self.model, **self.engine_kwargs)
            except Exception as exc:  # vLLM raises many types for bad models or no GPU
                raise BackendUnavailable(f"vLLM could not load {self.model}: {exc}") from None
        return self._llm

    def generate(self, requests: Sequence[GenerationRequest], on_result: OnResult | None = None) -> list[Generation]:
        if not requests:
            return []
        llm = self._load()
        from vllm import SamplingParams

        params = [
            SamplingParams(
                temperature=r.temperature,
                max_tokens=r.max_tokens,
                repetition_penalty=r.repeat_penalty,
                stop=list(r.stop) or None,
                bad_words=list(r.bad_words) or None,
            )
            for r in requests
        ]
        # vLLM schedules the whole list itself; one call keeps the GPU batch full.
        outputs = llm.chat([list(r.messages) for r in requests], params, use_tqdm=False)
        results = []
        for i, out in enumerate(outputs):
            best = out.outputs[0] if out.outputs else None
            gen = (
                Generation(
                    text=best.text,
                    completion_tokens=len(best.token_ids),
                    prompt_tokens=len(out.prompt_token_ids or []),
                    finish_reason=best.finish_reason,
                )
                if best
                else Generation(text=None, error="vLLM returned no output")
            )
            results.append(gen)
            if on_result:
                on_result(i, gen)
        return results


