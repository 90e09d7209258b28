"""Turn a batch of catalog rows into model requests and back into cells.

For each batch: every non-empty cell of every field is cut into pieces (a
whole title; an HTML page in blocks), each piece becomes one request per
locale unless an identical segment (kind, limit, locale, text: SegmentKey)
was already generated (in this run, or by an earlier one: the translation
store, localize.store), all requests of the batch go to the engine in one call
(all locales of a row next to each other, so a server caches the shared
prefix), the answers go through the repair rounds, and are cleaned, checked
and joined back into cells.

The stages, one module each:
  planning.py    cells -> pieces -> segments; dedup against memory and store
  memory.py      the in-run translation memory (bounded LRU)
  work.py        a batch's segments in flight: requests, answers, shared judgements
  rounds.py      the repair rounds, one class each, run in order
  assembly.py    pieces joined back into cells, vetted and counted
  eta.py         progress in expected tokens, for the run's ETA
  verdicts.py    the checks this package applies, imported in one place
  translator.py  BatchTranslator, which runs them
"""

from localize.pipeline.translate.memory import TranslationMemory
from localize.pipeline.translate.outcome import CellResult, Outcome
from localize.pipeline.translate.planning import MAX_PIECE_CHARS, PlannedCell
from localize.pipeline.translate.rounds import ROUNDS, Attempt, Round
from localize.pipeline.translate.translator import BatchTranslator
from localize.pipeline.translate.work import MAX_ANSWER_TOKENS, BatchWork
from localize.store import SegmentKey

__all__ = [
    "MAX_ANSWER_TOKENS", "MAX_PIECE_CHARS", "ROUNDS", "Attempt", "BatchTranslator", "BatchWork", "CellResult",
    "Outcome", "PlannedCell", "Round", "SegmentKey", "TranslationMemory",
]
