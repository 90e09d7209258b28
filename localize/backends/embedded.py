"""The embedded engine: llama.cpp in-process through xllamacpp, on the CPU.

Works on a fresh machine with no server and no network: the default model
comes from PyPI wheels (see model_store). Requests go to xllamacpp's
in-process server, which batches up to `n_parallel` sequences and reuses the
KV cache of a shared prompt prefix (system rules + worked example) per slot.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from localize.backends.base import Backend, Generation, GenerationRequest, OnResult
from localize.backends.model_store import DEFAULT_MODEL, check_gguf, ensure_model
from localize.errors import BackendUnavailable, MissingDependency


def _quick_fingerprint(path: Path, edge: int = 4 << 20) -> str:
    digest = hashlib.sha256()
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            digest.update(f.read(edge))
            if size > 2 * edge:
                f.seek(size - edge)
            digest.update(f.read(edge))
    except OSError:
        return "unreadable"  # load() reports it; such a model never generates
    return f"{size}:{digest.hexdigest()[:16]}"


def _prefix_key(request: GenerationRequest) -> tuple[str, ...]:
    return tuple(m.get("content", "") for m in request.messages[:-1])


class EmbeddedBackend(Backend):
    name = "embedded"

    def __init__(
        self,
        model: str | None = None,
        *,
        n_parallel: int = 1,
        ctx_per_slot: int = 8192,
        threads: int | None = None,
    ):
        self.model_arg = model
        self.n_parallel = max(1, n_parallel)
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._server = None
        self._model_path = None
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        model = self.model_arg or DEFAULT_MODEL.name
        return f"embedded llama.cpp ({model}, {self.threads} threads, {self.n_parallel} parallel)"

    @property
    def model_id(self) -> str:
        # The packaged default is known by its published sha256. A user's GGUF is
        # known by size and a hash of its first and last 4 MiB (metadata, tensor
        # layout, quantization): hashing gigabytes on every run would cost seconds.
        if not self.model_arg:
            return f"embedded:{DEFAULT_MODEL.filename}:sha256={DEFAULT_MODEL.sha256[:16]}"
        path = Path(self.model_arg).expanduser()
        return f"embedded:{path.name}:{_quick_fingerprint(path)}"

    def _load(self):
        with self._lock:
            if self._server is not None:
                return self._server
            try:
                import xllamacpp
            except ImportError:
                raise MissingDependency("xllamacpp", "embedded") from None
            path = check_gguf(self.model_arg) if self.model_arg else ensure_model()
            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            params.n_parallel = self.n_parallel
            params.n_ctx = self.ctx_per_slot * self.n_parallel
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            params.verbosity = -1  # llama.cpp logs would drown the progress bar
            params.endpoint_metrics = False
            try:
                self._server = xllamacpp.Server(params)
            except Exception as exc:  # llama.cpp reports load failures as generic exceptions
                raise BackendUnavailable(f"{path}: the embedded engine could not load this model: {exc}") from None
            self._model_path = path
            return self._server

    def load(self) -> None:
        self._load()

    def _one(self, request: GenerationRequest) -> Generation:
        payload = {
            "messages": list(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "repeat_penalty": request.repeat_penalty,
        }
        if request.stop:
            payload["stop"] = list(request.stop)
        try:
            reply = self._server.handle_chat_completions(payload)
        except Exception as exc:
            return Generation(text=None, error=f"embedded engine error: {exc}")
        if not isinstance(reply, dict) or "choices" not in reply:
            message = reply.get("error", {}).get("message") if isinstance(reply, dict) else reply
            return Generation(text=None, error=f"embedded engine error: {message}")
        choice = reply["choices"][0]
        usage = reply.get("usage", {})
        return Generation(
            text=choice.get("message", {}).get("content") or "",
            completion_tokens=usage.get("completion_tokens", 0),
            prompt_tokens=usage.get("prompt_tokens", 0),
            finish_reason=choice.get("finish_reason"),
        )

    def generate(self, requests: Sequence[GenerationRequest], on_result: OnResult | None = None) -> list[Generation]:
        self._load()
        results: list[Generation | None] = [None] * len(requests)

        def work(i: int) -> None:
            gen = self._one(requests[i])
            results[i] = gen
            if on_result:
                on_result(i, gen)

        # Prompt prefill costs more than generation on a CPU (~60 vs ~30 tok/s
        # here), and llama.cpp reuses a slot's KV cache for the prompt prefix it
        # shares with the previous request. Requests that share their leading
        # messages (rules + worked example of one kind and language) therefore
        # run back to back; results still come back in the caller's order.
        order = sorted(range(len(requests)), key=lambda i: _prefix_key(requests[i]))
        if self.n_parallel == 1:
            for i in order:
                work(i)
        else:
            # One thread per slot keeps every slot busy; llama.cpp batches them together.
            with ThreadPoolExecutor(self.n_parallel, thread_name_prefix="localize-embedded") as pool:
                list(pool.map(work, order))
        return results  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            self._server = None  # xllamacpp stops its loop when the Server is collected
