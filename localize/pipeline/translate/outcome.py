"""What the translator hands back: one answer per segment, one result per cell."""

from __future__ import annotations

from dataclasses import dataclass, field

from localize.pipeline.constraints import Check


@dataclass
class Outcome:
    """The answer to one segment (a piece of a cell, in one locale)."""

    text: str | None  # None: the engine failed; else the output with keep-terms restored
    error: str | None = None
    raw: str | None = None  # the model's own answer (placeholders in place), for repair turns
    restore_problems: list[str] = field(default_factory=list)
    check: Check | None = None  # the glossary verdict, when a glossary applies
    attempts: int = 1  # engine attempts behind a failure, for the errors file
    finish_reason: str | None = None  # the engine's: "length" when the answer was cut at max_tokens


@dataclass
class CellResult:
    value: str | None
    issues: list[tuple[str, str]] = field(default_factory=list)  # (code, detail)
    failed: bool = False
    attempts: int = 0  # a failed cell: the engine's attempts on the piece that failed
