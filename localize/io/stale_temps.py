"""Temp files next to an output, named so a later run can clean up after a killed one.

An output is written to `.<name>.<pid>.<random>.tmp` in its own folder and
renamed into place at the end, so the output name only ever holds a complete
file. A run killed with SIGKILL (or by the OOM killer, or a power loss) cannot
remove its temp file; the next run writing the same output removes it, once
the process that made it is gone. A run still writing keeps its file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def make_temp(dest: Path) -> tuple[int, str]:
    """mkstemp next to `dest`, after removing the temps of dead runs. Raises OSError."""
    sweep_stale_temps(dest)
    return tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent)


def sweep_stale_temps(dest: Path) -> list[Path]:
    """Removes `dest`'s temp files whose process no longer runs; returns them.
    POSIX only: elsewhere a process cannot be probed safely, and temps stay."""
    if os.name != "posix":
        return []
    pattern = re.compile(rf"\.{re.escape(dest.name)}\.(\d+)\.[^.]+\.tmp")
    try:
        names = os.listdir(dest.parent)
    except OSError:
        return []
    removed = []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or _alive(int(m.group(1))):
            continue
        path = dest.parent / name
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass  # another run cleaned it first, or the folder is read-only: harmless
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid: leave the file alone
    return True
