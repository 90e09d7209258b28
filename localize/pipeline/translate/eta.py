"""The batch's progress for the run's ETA and tokens/s."""

from __future__ import annotations

import threading
from typing import Callable, Sequence

from localize.backends.base import Generation, GenerationRequest


class BatchProgress:
    """Work of the batch in progress, in expected tokens (each request's
    max_tokens, which grows with its source): the run's ETA is smooth only if
    it counts these, and right only if a 3,000-character page weighs more
    than a size label. Repair rounds add their requests to the same batch, so
    the ETA keeps moving while they run. Engines report from worker threads."""

    def __init__(self) -> None:
        self.batch_requests = self.batch_done = 0.0
        self.completion_tokens = self.prompt_tokens = 0
        self.on_request_done: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def start(self, requests: Sequence[GenerationRequest]) -> None:
        """A new batch: its first requests."""
        self.batch_requests, self.batch_done = float(sum(r.max_tokens for r in requests)), 0.0

    def add(self, requests: Sequence[GenerationRequest]) -> None:
        """A repair round's requests, into the batch in progress."""
        with self._lock:
            self.batch_requests += sum(r.max_tokens for r in requests)

    def record(self, request: GenerationRequest, gen: Generation) -> None:
        with self._lock:
            self.batch_done += request.max_tokens
            self.completion_tokens += gen.completion_tokens
            self.prompt_tokens += gen.prompt_tokens

    def notify(self) -> None:
        if self.on_request_done:
            self.on_request_done()

    def finished(self, request: GenerationRequest, gen: Generation) -> None:
        self.record(request, gen)
        self.notify()
