"""Planning a batch: cells cut into pieces, pieces into segments, and the
segments that actually need the engine (the rest are repeats of this batch,
of the in-run memory, or of the translation store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Sequence

from localize.catalog.fields import Field, needs_model
from localize.pipeline.translate.memory import TranslationMemory
from localize.pipeline.translate.outcome import Outcome
from localize.store import SegmentKey
from localize.text.html import has_text, split_blocks
from localize.text.locales import Locale

# One request carries at most this much text: ~3,000 tokens in, as many out,
# inside an 8k context. HTML is cut at block boundaries well below it; a single
# block or plain text above it (a pasted manual, a data dump) is reported, not
# sent, so one hostile cell cannot stall a run or overflow the model's context.
MAX_PIECE_CHARS = 12_000


@dataclass
class PlannedCell:
    row: int  # index within the batch
    field: Field
    source: str
    kind: str
    max_chars: int | None
    pieces: list[str]
    needs: list[bool]  # per piece: does it go to the model
    refused: str | None = None  # why the cell is not sent at all (a piece too large for one request)

    def segments(self, locale: Locale) -> Iterator[tuple[str, SegmentKey]]:
        """(piece, key) of every piece that goes to the model, in order."""
        for piece, need in zip(self.pieces, self.needs):
            if need:
                yield piece, segment_key(self, piece, locale)


def plan_cell(row: int, fld: Field, source: str, limit: int | None, html_piece_chars: int) -> PlannedCell:
    """The cell cut into pieces; `limit` is the market's for the field's role."""
    kind = fld.kind_for(source)
    if not needs_model(source, kind):
        return PlannedCell(row, fld, source, kind, limit, [source], [False])
    pieces = split_blocks(source, html_piece_chars) if kind == "html" else [source]
    needs = [has_text(p) if kind == "html" else True for p in pieces]
    longest = max((len(p) for p, n in zip(pieces, needs) if n), default=0)
    if longest > MAX_PIECE_CHARS:
        why = (f"a text block of {longest:,} characters is over the {MAX_PIECE_CHARS:,} one model request "
               "carries; split it into paragraphs or localize it by hand")
        return PlannedCell(row, fld, source, kind, limit, [source], [False], refused=why)
    return PlannedCell(row, fld, source, kind, limit, pieces, needs)


def segment_key(cell: PlannedCell, piece: str, locale: Locale) -> SegmentKey:
    # An HTML page cut into pieces cannot give each piece the page's limit; it is checked on the whole.
    limit = cell.max_chars if len(cell.pieces) == 1 else None
    return SegmentKey(cell.kind, limit, locale.code, piece.strip())


Slot = tuple[int, str]  # (row within the batch, locale code)


@dataclass
class RequestPlan:
    """The batch's unique segments for the engine, in submission order (all
    locales of a row next to each other, so a server caches the shared
    prefix), and which rows wait on each."""

    keys: list[SegmentKey] = field(default_factory=list)
    dependants: list[list[Slot]] = field(default_factory=list)  # per key: the (row, locale) it completes
    waiting: dict[Slot, int] = field(default_factory=dict)  # (row, locale) -> requests still running
    segments: int = 0  # every piece x locale that needs the model
    reused: int = 0  # ... served by the in-run memory or by an earlier segment of this batch
    cached: int = 0  # ... served by the translation store
    copied: int = 0  # cells copied as they are (nothing to localize)

    def finish(self, index: int) -> list[Slot]:
        """Key `index` has its answer: the (row, locale) slots it was the last one for."""
        done = []
        for slot in self.dependants[index]:
            self.waiting[slot] -= 1
            if self.waiting[slot] == 0:
                done.append(slot)
        return done


def plan_requests(cells: Sequence[PlannedCell], locales: Sequence[Locale], memory: TranslationMemory,
                  from_store: dict[SegmentKey, Outcome]) -> RequestPlan:
    """Dedup against the memory, the store's hits (put into the memory, so
    their repeats in this run count as reused) and the batch itself."""
    plan = RequestPlan()
    index: dict[SegmentKey, int] = {}
    for cell in cells:
        for locale in locales:
            for _, key in cell.segments(locale):
                plan.segments += 1
                if memory.get(key) is not None:
                    plan.reused += 1
                    continue
                if key in from_store:
                    plan.cached += 1
                    memory.put(key, from_store[key])
                    continue
                if key in index:
                    plan.reused += 1
                else:
                    index[key] = len(plan.keys)
                    plan.keys.append(key)
                    plan.dependants.append([])
                slot = (cell.row, locale.code)
                plan.dependants[index[key]].append(slot)
                plan.waiting[slot] = plan.waiting.get(slot, 0) + 1
            if not any(cell.needs) and not cell.refused:
                plan.copied += 1
    return plan
