"""An engine wrapper that passes every batch through and keeps what was sent
and what came back, for benchmarks that replay the pipeline's exact requests
and for the injection bench, which judges the model's first answers."""

from __future__ import annotations

import threading
from typing import Sequence

from localize.backends.base import Backend, Generation, GenerationRequest, OnResult


class RecordingBackend(Backend):
    def __init__(self, inner: Backend):
        self.inner = inner
        self.name = inner.name
        self.requests: list[GenerationRequest] = []
        self.generations: list[Generation] = []  # in step with `requests`
        self._lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest], on_result: OnResult | None = None) -> list[Generation]:
        gens = self.inner.generate(requests, on_result)
        with self._lock:
            self.requests.extend(requests)
            self.generations.extend(gens)
        return gens

    def load(self) -> None:
        self.inner.load()

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def close(self) -> None:
        self.inner.close()
