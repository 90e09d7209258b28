"""Output folders a run makes, and removes again when it fails before writing there."""

from __future__ import annotations

import contextlib
from pathlib import Path

from localize.errors import OutputError


def make_output_folders(folders, undo: contextlib.ExitStack) -> None:
    """Creates the missing output folders; `undo` removes the ones it made if
    they are still empty when the run ends (it failed before writing there)."""
    made: list[Path] = []  # deepest first
    undo.callback(_remove_empty_folders, made)
    for folder in dict.fromkeys(folders):
        made[:0] = [p for p in (folder, *folder.parents) if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create the output folder: {exc.strerror or exc}") from None


def _remove_empty_folders(folders: list[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()  # only ever succeeds on an empty folder
        except OSError:
            pass
