"""When a server client stops a run instead of failing row after row.

Two breakers, each raising ServerGone or NothingUsable on the client's event
loop (single-threaded, so no locks); the client turns them into one
BackendUnavailable line, so the run stops like a server that is down.

- `DownBreaker`: a server that does not answer (refused, reset, 5xx, timeouts).
  Retries cover one bad request; a request that used up its retries while no
  request anywhere succeeded since its first attempt, with at least
  `trip_after` failed attempts in a row, trips it. A server that is down would
  otherwise cost every remaining row a full retry span and leave thousands of
  failed rows; under partial faults other requests keep succeeding and it
  never trips.
- `UselessBreaker`: a server that answers, but never usefully. vLLM given a
  wrong --model accepts discovery and answers 404 to every chat, a bad setting
  can make every request a 400, a broken gateway can strip every content. Such
  a run would write a catalog of empty cells and exit 0. It trips only before
  the first usable answer: once one came back, the engine works and a failing
  cell is that cell's problem (the errors file).
"""

from __future__ import annotations

import time
from typing import Sequence

from localize.backends.base import Generation

# Useless answers (4xx, malformed, empty), with not one usable answer before
# them, after which the run stops: a catalog's first ten texts all failing is
# a misconfigured engine, not ten bad cells.
NOTHING_USABLE_AFTER = 10


class ServerGone(Exception):
    """The server stopped answering (or refuses the key): the run cannot go on."""


class NothingUsable(Exception):
    """The server answers, but no answer has been usable."""


class DownBreaker:
    def __init__(self, trip_after: int):
        self.trip_after = trip_after
        self.last_success = 0.0  # time.monotonic() of the last request that succeeded
        self.failed_in_a_row = 0  # attempts failed with a retryable error since then

    def succeeded(self) -> None:
        self.last_success = time.monotonic()
        self.failed_in_a_row = 0

    def failed_attempt(self) -> None:
        self.failed_in_a_row += 1

    def gave_up(self, started: float, error: str) -> None:
        """A request used up its retries (its first attempt at `started`): trip, or let it fail alone."""
        if self.last_success < started and self.failed_in_a_row >= self.trip_after:
            raise ServerGone(
                f"no request succeeded in the last {time.monotonic() - started:.0f} s "
                f"({self.failed_in_a_row} failed attempts in a row, the last: {error})"
            )


def usable(gen: Generation | None) -> bool:
    return gen is not None and gen.ok and bool(gen.text.strip())


class UselessBreaker:
    def __init__(self, after: int = NOTHING_USABLE_AFTER):
        self.after = after
        self.usable = 0
        self.useless = 0  # before the first usable answer

    def judge(self, gen: Generation) -> None:
        """One answer that came back (not one whose retries ran out: DownBreaker's)."""
        if usable(gen):
            self.usable += 1
            return
        if self.usable:
            return
        self.useless += 1
        if self.useless >= self.after:
            raise NothingUsable(f"every request of the first {self.useless} failed, the last: "
                                f"{gen.error or 'an empty answer'}")

    def judge_batch(self, results: Sequence[Generation | None]) -> None:
        """A run smaller than `after` requests: a whole batch of at least two,
        nothing usable yet, every request failing the same way (a
        misconfiguration says the same thing to every request; a few bad cells
        fail each for its own reason, a prompt too long by its own count)."""
        if self.usable or len(results) < 2 or any(usable(g) for g in results):
            return
        errors = {g.error if g is not None else None for g in results}
        if len(errors) == 1:
            raise NothingUsable(f"every request of the first {len(results)} failed: "
                                f"{next(iter(errors)) or 'an empty answer'}")
