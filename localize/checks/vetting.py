"""A run's verdict on a model's answer: what may be published, and what the report says.

`vet_cell` is the one call a run makes per cell: `vet` first (what a steered
model wrote is withheld or sanitized), then `review` of the value to publish
(structure, numbers, facts, language, the worked example). Every code is
decided by its registry function, the same one `localize eval` calls.

Problems that leave the cell empty (registry `withholds`, WITHHELD): the
output is not a translation of the source, or carries something an attacker
could want published (active markup, a link, a contact, the prompt). A seller
must not ship it; the report says why. On 1,080 embedded-model outputs of
examples/catalog.csv (es, fr, tr) 28 are withheld, each a real failure: the
prompt's worked example returned instead of the product (new_code 420D,
length_ratio 4.1), repetition loops (length_ratio 4.7), placeholders mangled
into "<<<1>>>" by an older placeholder format (prompt_echo), titles that lost
the brand and the numbers (length_ratio 0.32). On the dev set's 400 human
references: none.
"""

from __future__ import annotations

from functools import lru_cache

from localize.checks import language
from localize.checks.html_safety import sanitize
from localize.checks.langid import get_identifier
from localize.checks.pair import Pair
from localize.checks.registry import PAIR_CODES, REGISTRY, WITHHELD, check_pair
from localize.text.safety import strip_hidden

# Judged on the model's answer (hidden characters aside), before anything is removed from it:
# what a steered model writes, and so what withholds a cell.
SAFETY_CODES = tuple(c for c in PAIR_CODES if REGISTRY[c].withholds or REGISTRY[c].scope == "answer"
                     if c not in ("hidden_characters", "example_copied"))
# Judged on the value that is published: the file checks `localize eval` also makes, and the worked example.
REVIEW_CODES = tuple(c for c in PAIR_CODES if c not in SAFETY_CODES and c != "hidden_characters")


def language_code(locale) -> str:
    """The language subtag of a Locale or a code ("pt-BR" -> "pt")."""
    return getattr(locale, "language", None) or str(locale).split("-")[0].lower()


def validate_output(output: str, source: str, locale, kind: str, identifier=None) -> list[tuple[str, str]]:
    """(code, detail) problems of a model's output that a faithful translation does not have.

    `locale` is a Locale or a code ("es", "pt-BR"). Markup is judged before any
    sanitizing; run `sanitize_html` for the HTML that may be published.
    """
    if not output.strip():
        return []
    if identifier is None:  # the pipeline judges a piece, then its cell: the same text twice for most cells
        return list(_validate_cached(output, source, language_code(locale), kind))
    return check_pair(Pair(source, output, kind, language_code(locale), identifier=identifier), SAFETY_CODES)


@lru_cache(maxsize=8192)  # emptied after each batch (forget_verdicts): it holds a batch's texts, no more
def _validate_cached(output: str, source: str, language: str, kind: str) -> tuple[tuple[str, str], ...]:
    return tuple(check_pair(Pair(source, output, kind, language, identifier=get_identifier()), SAFETY_CODES))


def forget_verdicts() -> None:
    _validate_cached.cache_clear()
    language.forget()


def vet(output: str, source: str, locale, kind: str, identifier=None) -> tuple[str | None, list[tuple[str, str]]]:
    """What a steered model wrote: (value to write, problems).

    The value is None (cell left empty, row kept, problems reported) when a
    WITHHELD problem is found. Otherwise HTML with new formatting markup comes
    back sanitized; everything else comes back as the model wrote it."""
    hidden = REGISTRY["hidden_characters"].func(Pair(source, output, kind, language_code(locale)))
    output, _ = strip_hidden(output, source)
    issues = validate_output(output, source, locale, kind, identifier)
    if hidden:
        issues.append(("hidden_characters", hidden))
    if any(code in WITHHELD for code, _ in issues):
        return None, [(code, f"{detail}; cell left empty" if code in WITHHELD else detail) for code, detail in issues]
    if any(code == "html_sanitized" for code, _ in issues):
        output = sanitize(output, source)
    return output, issues


def review(value: str, source: str, locale, kind: str, max_chars: int | None = None,
           identifier=None) -> list[tuple[str, str]]:
    """The problems of a value that is published: flagged for a human look, kept."""
    pair = Pair(source, value, kind, language_code(locale), max_chars, identifier or get_identifier())
    return check_pair(pair, REVIEW_CODES)


def vet_cell(output: str, source: str, locale, kind: str, max_chars: int | None = None,
             identifier=None) -> tuple[str | None, list[tuple[str, str]]]:
    """A run's one call per cell: (value to write or None when withheld, every problem for the report)."""
    value, issues = vet(output, source, locale, kind, identifier)
    if value is not None:
        issues += review(value, source, locale, kind, max_chars, identifier)
    return value, issues
