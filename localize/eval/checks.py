"""Reference-free checks on every (source, output) pair: they need no
reference, so they run on any real localized catalog.

Every code is the checks layer's (localize.checks.registry): the same
function decides it here and in a run, so `localize eval` of a run's output
agrees with the run's report. This module only adapts an evaluation row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from localize.checks import Pair
from localize.checks.registry import FILE_CODES, REGISTRY, check_pair

# Every violation code `localize eval` reports, in report order (`max_rate` gates name them).
CHECKS = FILE_CODES
DESCRIPTIONS = {code: REGISTRY[code].description for code in CHECKS}
# Decided per row here; the glossary codes are added by the run with the glossary (run.py).
_ROW_CODES = tuple(code for code in CHECKS if REGISTRY[code].scope == "file")
# Without a source (line files given without --src) only these can be decided.
_WITHOUT_SOURCE = ("empty_output", "wrong_language")


@dataclass
class Row:
    """One (source, output) pair of one locale, and what the checks found."""

    id: str
    locale: str
    language: str  # the target's language subtag, for the language check
    kind: str  # title | text | html | label
    source: str | None  # None: line files given without --src
    output: str
    reference: str | None = None
    role: str | None = None  # field role for the market limit
    max_chars: int | None = None
    violations: list[tuple[str, str]] = field(default_factory=list)  # (code, detail)
    sentence_chrf: float | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id, "locale": self.locale, "kind": self.kind, "source": self.source,
            "output": self.output, "reference": self.reference,
            "violations": [{"check": c, "detail": d} for c, d in self.violations],
            "sentence_chrf": None if self.sentence_chrf is None else round(self.sentence_chrf, 2),
        }

    def pair(self, identifier=None) -> Pair:
        return Pair(self.source, self.output or "", self.kind, self.language, self.max_chars, identifier)


class TermCheck(Protocol):
    """The glossary hook (localize.glossary.metric.TermCheck): (terms expected,
    terms found) for a row, from which the terminology accuracy gate is
    computed. Without a glossary no terminology number exists and a
    `min_terminology_accuracy` gate reports "not measured", never a pass."""

    def __call__(self, row: Row) -> tuple[int, int]: ...


def check_row(row: Row, identifier=None) -> list[tuple[str, str]]:
    """All violations of one row (also stored on `row.violations`); glossary codes are added by the run.

    Without a source (line files with no --src) only the empty-output and
    language checks can run. Without an `identifier` the language is not judged."""
    codes = _ROW_CODES if row.source is not None else _WITHOUT_SOURCE
    row.violations = check_pair(row.pair(identifier), codes)
    return row.violations


def run_checks(rows: list[Row], identifier=None, on_row: Callable[[Row], None] | None = None) -> None:
    for row in rows:
        check_row(row, identifier)
        if on_row:
            on_row(row)
