"""The checks the translator applies to answers and cells, in one place.

Every check function the translator uses is imported here and nowhere else
in this package, so the rules live in their own modules (text/safety.py,
text/cleanup.py, text/prompts.py) and this package only says when they run.
"""

from __future__ import annotations

from localize.text.cleanup import problems
from localize.text.locales import Locale
from localize.text.prompts import copied_example
from localize.text.safety import WITHHELD, defuse, forget_verdicts, validate_output, vet

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


def vet_cell(value: str, source: str, locale: Locale, kind: str,
             max_chars: int | None) -> tuple[str | None, list[tuple[str, str]]]:
    """A joined cell, vetted: what a steered model wrote is withheld (None) or
    sanitized, and the report's issues (lost numbers and tags, length, a copied example)."""
    value, issues = vet(value, source, locale, kind)
    if value is None:
        return None, issues
    issues += problems(value, source, kind, max_chars)
    copied = copied_example(value, source)
    if copied:
        issues.append(("example_copied", "words of the prompt's worked example, not of this product: "
                                         + ", ".join(dict.fromkeys(copied))))
    return value, issues


def forget() -> None:
    """Drop the batch's cached verdicts (text/safety.py keeps them per batch)."""
    forget_verdicts()
