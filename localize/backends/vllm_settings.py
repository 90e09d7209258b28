"""In-process vLLM settings: the engine arguments an operator may set for
`--backend vllm-offline`, checked before vLLM is imported.

The names are vLLM's own (`vllm.LLM(...)` keyword arguments, which are
`vllm serve` flags with `_` for `-`), so an operator's server command line
carries over. Only these are accepted: an unknown key is a typo far more often
than a wish, and vLLM would otherwise fail with a long traceback minutes into
loading a model (or silently ignore it).

Values come typed from a config file (TOML) or as text from a command line
("2", "true"): both are accepted and converted here.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable, Mapping

from localize.errors import UsageError

DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool):  # bool is an int subclass: `true` is not 1 GPU
        raise UsageError(f"vLLM setting {key} must be a whole number, not {value!r}")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise UsageError(f"vLLM setting {key} must be a whole number, not {value!r}") from None
    if isinstance(value, float) and number != value:
        raise UsageError(f"vLLM setting {key} must be a whole number, not {value!r}")
    if number < 1:
        raise UsageError(f"vLLM setting {key} must be at least 1, not {number}")
    return number


def _fraction(key: str, value: Any) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not 0.0 < number <= 1.0:
        raise UsageError(f"vLLM setting {key} must be a fraction above 0 and at most 1 (e.g. 0.9), not {value!r}")
    return number


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"vLLM setting {key} must be true or false, not {value!r}")


def _dtype(key: str, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in DTYPES:
        raise UsageError(f"vLLM setting {key} must be one of {', '.join(DTYPES)}, not {value!r}")
    return text


def _name(key: str, value: Any) -> str:
    # Quantization methods change with every vLLM release (awq, gptq, fp8,
    # bitsandbytes, ...): vLLM checks the name itself; here it only has to be one.
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"vLLM setting {key} must be a method name such as awq, gptq or fp8, not {value!r}")
    return value.strip()


OFFLINE_SETTINGS: dict[str, Callable[[str, Any], Any]] = {
    "tensor_parallel_size": _positive_int,
    "pipeline_parallel_size": _positive_int,
    "dtype": _dtype,
    "quantization": _name,
    "max_model_len": _positive_int,
    "gpu_memory_utilization": _fraction,
    "max_num_seqs": _positive_int,
    "enable_prefix_caching": _flag,
    # No CUDA graphs or torch.compile: less memory and a faster start, slower decoding.
    "enforce_eager": _flag,
}


def _canonical(key: str) -> str:
    # `vllm serve` spells them --tensor-parallel-size: accept that spelling too.
    return str(key).strip().lstrip("-").replace("-", "_").lower()


def parse_offline_settings(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated `vllm.LLM` keyword arguments from a config table or option pairs.

    Raises UsageError (one line) for an unknown key, naming the closest valid
    one, or for a value of the wrong kind.
    """
    settings: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        name = _canonical(key)
        check = OFFLINE_SETTINGS.get(name)
        if check is None:
            hint = difflib.get_close_matches(name, OFFLINE_SETTINGS, n=1, cutoff=0.5)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UsageError(
                f"unknown vLLM setting {key!r}{extra}; valid settings: {', '.join(OFFLINE_SETTINGS)}"
            )
        settings[name] = check(name, value)
    return settings


def parse_setting_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """`["tensor_parallel_size=2", "dtype=bfloat16"]` (a repeatable command-line
    option) -> validated settings."""
    raw: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"vLLM setting {pair!r} must look like name=value, e.g. tensor_parallel_size=2")
        raw[key] = value
    return parse_offline_settings(raw)
