"""Engine registry. Engines are named by "module:Class" strings so that heavy
libraries (xllamacpp, aiohttp, vllm) load only when that engine is chosen.
`register_backend` adds one (a test's fake engine, a plug-in) under a new name."""

from __future__ import annotations

import difflib
import importlib
from typing import Callable, Union

from localize.backends.base import Backend, Generation, GenerationRequest
from localize.errors import UsageError

# name -> "module:Class", or a class or factory called with the --model value.
BACKENDS: dict[str, Union[str, Callable[..., Backend]]] = {
    "embedded": "localize.backends.embedded:EmbeddedBackend",
    "vllm": "localize.backends.openai_server:OpenAIServerBackend",
    "vllm-offline": "localize.backends.vllm_offline:VLLMOfflineBackend",
}
CHOICES = ("auto", *BACKENDS)

__all__ = [
    "Backend", "Generation", "GenerationRequest", "BACKENDS", "CHOICES", "create_backend", "register_backend",
    "unregister_backend",
]


def register_backend(name: str, spec: Union[str, Callable[..., Backend]]) -> None:
    """Make `create_backend(name)` (and `--backend name`) build this engine:
    `spec` is "module:Class" or a class or factory, called with the --model
    value as its one argument. The built-in engines cannot be replaced."""
    if name == "auto" or name in CHOICES:
        raise ValueError(f"{name!r} is a built-in engine")
    BACKENDS[name] = spec


def unregister_backend(name: str) -> None:
    if name not in CHOICES:
        BACKENDS.pop(name, None)


def _load_class(name: str) -> Callable[..., Backend]:
    spec = BACKENDS[name]
    if not isinstance(spec, str):
        return spec
    module, _, cls = spec.partition(":")
    return getattr(importlib.import_module(module), cls)


def create_backend(
    name: str,
    *,
    model: str | None = None,
    endpoint: str | None = None,
    max_in_flight: int = 256,
    parallel: int | None = None,
    threads: int | None = None,
    timeout: float = 300.0,
    retries: int = 5,
) -> Backend:
    """Build the named engine (not loaded yet). `auto` picks vllm when its endpoint answers."""
    if name == "auto":
        from localize.backends.openai_server import DEFAULT_ENDPOINT, probe

        name = "vllm" if probe(endpoint or DEFAULT_ENDPOINT) else "embedded"
    if name not in BACKENDS:
        choices = ("auto", *BACKENDS)
        hint = difflib.get_close_matches(name, choices, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UsageError(f"unknown backend {name!r}{extra}; choose one of: {', '.join(choices)}")
    cls = _load_class(name)
    if name == "embedded":
        return cls(model, n_parallel=parallel or 1, threads=threads)
    if name == "vllm":
        from localize.backends.openai_server import DEFAULT_ENDPOINT

        return cls(endpoint or DEFAULT_ENDPOINT, model, max_in_flight=max_in_flight, timeout=timeout,
                   max_retries=retries)
    return cls(model)
