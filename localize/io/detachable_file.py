"""A file handle a library can keep after the write it made has failed.

xlsxwriter builds the workbook with a zipfile.ZipFile on the output file. When
a write fails (a full disk), the ZipFile is left open inside the exception's
frames, and when it is garbage-collected its __del__ tries to finish the zip:
on the closed or failing file that prints an `Exception ignored in ZipFile.__del__`
traceback after localize's one error line. Handing the library this wrapper
and `detach()`ing it once the output is given up makes every later write, seek
and flush a no-op, so nothing is said twice and nothing reaches the disk.
"""

from __future__ import annotations

from typing import IO


class DetachableFile:
    """Forwards to `fh` until detach(); then writes, seeks and flushes touch
    nothing, while the position still moves as they say (ZipFile computes
    offsets from it and would fail on a position that stood still)."""

    def __init__(self, fh: IO[bytes]):
        self._fh = fh
        self.detached = False
        self._pos = 0

    def detach(self) -> None:
        if self.detached:
            return
        try:
            self._pos = self._fh.tell()
        except (OSError, ValueError):  # already closed
            pass
        self.detached = True

    def write(self, data) -> int:
        if not self.detached:
            return self._fh.write(data)
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self.detached:
            return self._fh.seek(offset, whence)
        self._pos = max(0, offset if whence == 0 else self._pos + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos if self.detached else self._fh.tell()

    def flush(self) -> None:
        if not self.detached:
            self._fh.flush()

    def seekable(self) -> bool:
        return self._fh.seekable()

    def __getattr__(self, name: str):
        return getattr(self._fh, name)
