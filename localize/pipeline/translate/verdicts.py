"""The checks the translator applies to answers and cells, in one place.

Every check function the translator uses is imported here and nowhere else
in this package, so the rules live in the checks layer (localize.checks,
one registry of every report code) and this package only says when they run.
"""

from __future__ import annotations

from localize.checks import WITHHELD, forget_verdicts, problems, validate_output, vet_cell
from localize.text.locales import Locale
from localize.text.prompts import copied_example
from localize.text.safety import defuse

__all__ = ["as_data", "forget", "lost", "off_source", "vet_cell", "withheld"]


def as_data(text: str) -> str:
    """Product text made safe to put in a prompt: no control tokens, no delimiters."""
    return defuse(text)


def withheld(text: str | None, source: str, locale: str, kind: str) -> list[str]:
    """The safety problems that would leave this piece's cell empty."""
    if not text:
        return []
    return [code for code, _ in validate_output(text, source, locale, kind) if code in WITHHELD]


def off_source(text: str, source: str, locale: str, kind: str) -> bool:
    """Copied from the prompt's worked example, or withheld by the safety checks."""
    return bool(copied_example(text, source) or withheld(text, source, locale, kind))


def lost(text: str, source: str, kind: str) -> int:
    """Numbers and tags the text lost (length is the shorten round's to judge)."""
    return len(problems(text, source, kind, None))


def forget() -> None:
    """Drop the batch's cached verdicts (localize.checks keeps them per batch)."""
    forget_verdicts()
