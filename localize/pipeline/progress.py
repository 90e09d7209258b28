"""Progress on stderr: a rich bar per locale on a terminal, plain lines otherwise.

Data goes to files (or stdout); nothing here ever writes to stdout.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Sequence


class Progress:
    """Rows done per locale, ETA, generated tokens/s."""

    def __init__(self, locales: Sequence[str], total_rows: int | None, *, quiet: bool = False, console=None):
        self.locales = list(locales)
        self.total = total_rows
        self.quiet = quiet
        self.done = {loc: 0 for loc in self.locales}
        self.token_count = lambda: 0  # set by the run: generated tokens so far
        # Set by the run: rows finished, counting the batch in flight by its share of
        # requests done. Per-locale row counts move in jumps (a row is done only when
        # all its texts are), so the ETA is computed from this instead.
        self.rows_finished = lambda: float(sum(self.done.values())) / max(1, len(self.locales))
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._rich = None
        self._tasks: dict[str, int] = {}
        self._last_plain = 0.0
        if quiet:
            return
        from rich.console import Console

        self.console = console or Console(stderr=True)
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn,
            )

            self._rich = RichProgress(
                TextColumn("[bold]{task.description:>8}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"),
                TextColumn("{task.fields[tps]}"),
                console=self.console,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            for loc in self.locales:
                self._tasks[loc] = self._rich.add_task(loc, total=total_rows, tps="", eta="")
            self._rich.start()

    def message(self, text: str) -> None:
        if self._rich is not None:  # printed above the live bars, not through them
            self._rich.console.print(text, markup=False, highlight=False, soft_wrap=True)
        elif not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def rows_done(self, locale: str, n: int = 1) -> None:
        with self._lock:
            self.done[locale] += n
            if self._rich is not None:
                self._rich.update(self._tasks[locale], advance=n)
        self.tick()

    def tick(self) -> None:
        """Refresh ETA and tokens/s; called as requests finish."""
        with self._lock:
            if self._rich is not None:
                eta, tps = self._eta_text(), self._tps_text()
                for task in self._tasks.values():
                    self._rich.update(task, eta=eta, tps=tps)
            elif not self.quiet and time.monotonic() - self._last_plain >= 10:
                self._plain_line()

    def _eta_text(self) -> str:
        if not self.total:
            return ""
        elapsed = time.monotonic() - self.started
        fraction = min(1.0, self.rows_finished() / self.total)
        if fraction <= 0 or elapsed < 1:
            return "ETA -"
        return f"ETA {_duration(elapsed / fraction - elapsed)}"

    def _tps_text(self) -> str:
        elapsed = time.monotonic() - self.started
        tokens = self.token_count()
        return f"{tokens / elapsed:.1f} tok/s" if elapsed > 0 and tokens else ""

    def _plain_line(self) -> None:
        self._last_plain = time.monotonic()
        parts = []
        for loc in self.locales:
            total = f"/{self.total}" if self.total is not None else ""
            parts.append(f"{loc} {self.done[loc]}{total}")
        eta = self._eta_text()
        eta = f", {eta}" if eta else ""
        tps = self._tps_text()
        print(f"localize: rows {', '.join(parts)}{eta}{', ' + tps if tps else ''}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"
