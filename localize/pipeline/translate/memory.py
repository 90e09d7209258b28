"""The in-run translation memory: texts generated earlier in this run."""

from __future__ import annotations

from collections import OrderedDict

from localize.pipeline.translate.outcome import Outcome
from localize.store import SegmentKey


class TranslationMemory:
    """Texts generated in this run, so repeats ("Size", "Black") cost one call.

    Bounded LRU: a 10-million-row catalog must not grow memory without end;
    the repeats that matter (option labels, shared boilerplate) stay hot.
    """

    def __init__(self, capacity: int = 200_000):
        self.capacity = capacity
        self._data: OrderedDict[SegmentKey, Outcome] = OrderedDict()

    def get(self, key: SegmentKey) -> Outcome | None:
        hit = self._data.get(key)
        if hit is not None:
            self._data.move_to_end(key)
        return hit

    def put(self, key: SegmentKey, outcome: Outcome) -> None:
        if outcome.text is None:
            return  # failures are retried when the text comes up again
        self._data[key] = outcome
        self._data.move_to_end(key)
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)
