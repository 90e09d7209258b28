"""Keep an in-process engine's own output out of localize's terminal.

vLLM logs through Python logging (to stdout by default), its engine runs in a
child process that inherits the parent's stdout and stderr, and torch,
tokenizers and tqdm print from C or Python while a model loads. localize's
progress and summary share that terminal, so vLLM's lines would land between
them and after the summary (at shutdown). Two measures, both needed:

- `vllm_logging_env(log)`: environment that makes vLLM's logging (in this
  process and in every engine process it starts) write to the log file;
- `output_to(log)`: the process-wide stdout/stderr file descriptors point at
  the log file while the engine loads and shuts down, which catches what
  bypasses logging, including the engine process, started during the load,
  which keeps those descriptors for its whole life.

Generation itself is not redirected: localize's progress bar draws on stderr
meanwhile, and by then everything vLLM says goes through the two routes above.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path


def vllm_logging_config(log: Path) -> dict:
    """A `logging.config.dictConfig` that sends the `vllm` logger's records to `log`, at INFO."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"vllm": {"format": "%(levelname)s %(asctime)s [%(filename)s:%(lineno)d] %(message)s",
                                "datefmt": "%m-%d %H:%M:%S"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(log), "mode": "a",
                              "formatter": "vllm", "level": "INFO"}},
        "loggers": {"vllm": {"handlers": ["file"], "level": "INFO", "propagate": False}},
    }


def vllm_logging_env(log: Path) -> dict[str, str]:
    """Environment variables under which vLLM configures its logging (in this
    process on first import, and in each engine process it starts) from
    `vllm_logging_config(log)`, written as JSON beside the log."""
    config_path = log.with_name(log.name + ".logging.json")
    config_path.write_text(json.dumps(vllm_logging_config(log), indent=1), encoding="utf-8")
    return {"VLLM_CONFIGURE_LOGGING": "1", "VLLM_LOGGING_CONFIG_PATH": str(config_path)}


def send_vllm_logging_to(log: Path) -> None:
    """Reconfigure the `vllm` logger of this process now: vLLM reads the
    environment only on its first import, which may have happened earlier."""
    import logging.config

    logging.config.dictConfig(vllm_logging_config(log))


@contextlib.contextmanager
def output_to(log: Path):
    """Point file descriptors 1 and 2 at `log` (appending) for the duration."""
    for stream in (sys.stdout, sys.stderr):
        _flush(stream)
    saved = [os.dup(1), os.dup(2)]
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            _flush(stream)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


def _flush(stream) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):  # closed or replaced streams
        pass
