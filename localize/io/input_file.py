"""What the catalog path names, checked before any format reader opens it.

A regular file is read in place. Every reader opens the file more than once
(the CSV reader: encoding detection, the header, a full parse to count rows
and find a bad one early, then the batches), which a named pipe cannot
allow: its data can be read once, and a second open waits for a writer that
never comes. So a pipe (`mkfifo`, or `/dev/stdin` fed by a shell pipe) is
copied once, in chunks, into a temporary file that the readers then use;
errors still name the pipe. A device (`/dev/null`, `/dev/zero`, a terminal)
or a socket is not a catalog and is refused with one line, before anything
waits on it.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from localize.errors import InputError

COPY_CHUNK = 1024 * 1024


def input_kind(path: Path) -> str:
    """"file" or "pipe"; InputError for anything else (missing, a folder,
    a device, a socket, no permission)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except PermissionError:
        raise InputError(path, "cannot be read: permission denied") from None
    except OSError as e:
        raise InputError(path, f"cannot be read: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise InputError(path, "is a folder, not a catalog file")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise InputError(path, "is a device, not a catalog file; give the path of a saved file")
    if stat.S_ISSOCK(mode):
        raise InputError(path, "is a socket, not a catalog file; give the path of a saved file")
    if stat.S_ISFIFO(mode):
        return "pipe"
    _check_opens(path)
    return "file"


def _check_opens(path: Path) -> None:
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise InputError(path, "cannot be read: permission denied") from None
    except OSError as e:
        raise InputError(path, f"cannot be read: {e.strerror or e}") from None


class PipeCopy:
    """The data of a named pipe, read once into a temporary file (same
    suffix, for the readers that look at it). `close()` removes it."""

    def __init__(self, pipe: Path):
        self.pipe = pipe
        fd, name = tempfile.mkstemp(prefix="localize-pipe-", suffix=pipe.suffix)
        self.path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, open(pipe, "rb") as source:
                shutil.copyfileobj(source, out, COPY_CHUNK)
        except PermissionError:
            self.close()
            raise InputError(pipe, "cannot be read: permission denied") from None
        except OSError as e:
            self.close()
            raise InputError(pipe, f"cannot be read (it is a pipe, copied to {tempfile.gettempdir()} "
                             f"to be read): {e.strerror or e}") from None
        except BaseException:
            self.close()
            raise

    def named_as_pipe(self, err: InputError) -> InputError:
        """`err` as the user must see it: naming the pipe, not the copy."""
        err.args = tuple(str(a).replace(str(self.path), str(self.pipe)) for a in err.args)
        err.path = self.pipe
        return err

    def close(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
