"""The one engine interface: a batch of chat requests in, a batch of results out.

Every engine (embedded llama.cpp, a vLLM server over HTTP, in-process vLLM)
implements `generate`. Batches let server engines keep hundreds of requests in
flight and let in-process engines fill their parallel slots.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Sequence


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[dict, ...]  # OpenAI-style chat messages: {"role": ..., "content": ...}
    max_tokens: int = 512
    temperature: float = 0.0
    repeat_penalty: float = 1.1  # small models loop without it (MODELS.md)
    stop: tuple[str, ...] = ()
    bad_words: tuple[str, ...] = ()  # glossary bans, for engines that can block them (vLLM)


@dataclass
class Generation:
    text: str | None  # None when the engine failed on this request
    completion_tokens: int = 0
    prompt_tokens: int = 0
    error: str | None = None
    finish_reason: str | None = None
    attempts: int = 1  # HTTP attempts it took (server engines retry; 1 + retries at most)

    @property
    def ok(self) -> bool:
        return self.text is not None


OnResult = Callable[[int, Generation], None]


class Backend(ABC):
    """Engines load lazily: constructing one is cheap; the first `generate` loads."""

    name: str = "backend"

    @abstractmethod
    def generate(
        self, requests: Sequence[GenerationRequest], on_result: OnResult | None = None
    ) -> list[Generation]:
        """Run every request; return one Generation per request, in order.

        A request that fails yields Generation(text=None, error=...) instead of
        raising, so one bad segment never sinks a batch. Raise BackendUnavailable
        only when the engine as a whole is gone (server down, model unloadable).
        `on_result(index, generation)` is called as each request finishes, for
        progress reporting; it may be called from a worker thread.
        """

    def load(self) -> None:  # noqa: B027 - optional hook
        """Load the model or reach the server now, so a bad model or a server
        that is down is reported before any work starts. `generate` loads on
        first use anyway."""

    @property
    def description(self) -> str:
        """Engine and model, for the run summary."""
        return self.name

    @property
    def model_id(self) -> str:
        """The model's stable identity, part of the translation store's keys: the same
        model_id and request must give the same text. Read after load() (a server
        engine learns its model name there). Engines override this; the default
        (the engine name) only suits engines with one fixed model."""
        return self.name

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine (threads, sessions, model memory)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
