"""Joining a cell's answered pieces back into the cell, vetted and counted."""

from __future__ import annotations

from localize.pipeline.constraints import Check, Constraints, GlossaryTotals
from localize.pipeline.translate import verdicts
from localize.pipeline.translate.memory import TranslationMemory
from localize.pipeline.translate.outcome import CellResult, Outcome
from localize.pipeline.translate.planning import PlannedCell, segment_key
from localize.store import SegmentKey
from localize.text.locales import Locale


class Assembler:
    def __init__(self, constraints: Constraints, glossary_totals: dict[str, GlossaryTotals],
                 memory: TranslationMemory):
        self.constraints = constraints
        self.glossary_totals = glossary_totals  # per locale, counted per published cell
        self.memory = memory

    def cell(self, cell: PlannedCell, locale: Locale, answers: dict[SegmentKey, Outcome]) -> CellResult:
        """The cell in `locale` from this batch's `answers` (else the in-run memory)."""
        if cell.refused:
            self._count_unpublished(cell, locale)
            return CellResult(None, [("failed", cell.refused)], failed=True)
        out: list[str] = []
        checks: list[Check] = []
        for piece, need in zip(cell.pieces, cell.needs):
            if not need:
                out.append(piece)
                continue
            key = segment_key(cell, piece, locale)
            outcome = answers.get(key) or self.memory.get(key)
            if outcome is None or outcome.text is None:
                self._count_unpublished(cell, locale)
                reason = outcome.error if outcome else "no result"
                return CellResult(None, [("failed", reason)], failed=True, attempts=outcome.attempts if outcome else 0)
            lead = piece[: len(piece) - len(piece.lstrip())]
            trail = piece[len(piece.rstrip()) :]
            out.append(lead + outcome.text.strip() + trail)
            if outcome.check is not None:
                checks.append(outcome.check)
        value: str | None = "".join(out)
        issues: list[tuple[str, str]] = []
        if any(cell.needs):  # what a steered model wrote is withheld or sanitized (text/safety.py)
            value, issues = verdicts.vet_cell(value, cell.source, locale, cell.kind, cell.max_chars)
        if value is None:  # withheld: the report says why; the glossary counts what was published
            self._count_unpublished(cell, locale)
            return CellResult(value, issues)
        for check in checks:  # counted per cell: a term in 100 rows is 100 required occurrences
            self.glossary_totals[locale.code].add(check)
            issues.extend(check.issues)
        return CellResult(value, issues)

    def _count_unpublished(self, cell: PlannedCell, locale: Locale) -> None:
        """A cell left empty (failed, refused or withheld) realizes none of its
        terms and keeps none of its kept terms: the run's glossary numbers are
        those of the catalog it writes, as `localize eval` reads them."""
        if not self.constraints:
            return
        for piece, need in zip(cell.pieces, cell.needs):
            if need or cell.refused:
                text = piece.strip()
                check = self.constraints.check("", text, self.constraints.prepare(text, locale.code), locale.code)
                self.glossary_totals[locale.code].add(check)
