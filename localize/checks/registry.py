"""Every report code, defined once: what it means, whether a run withholds
the cell, whether it is a hard rule, and the one function that decides it.

A run (`vet_cell`, the glossary constraints) and `localize eval`
(`localize.eval.checks.check_row`) both call `REGISTRY[code].func` for a
code, so the same output gets the same verdict from either.

Scopes (who decides a code, on what):
  file         func(Pair) -> detail or None, from the source and the output
               alone: a run decides it on the cell it writes (a run's
               `wrong_language` on the answer, which it then withholds) and
               `localize eval` on any localized file.
  glossary     as `file`, with a glossary (`--glossary`); func is the glossary
               layer's matcher (localize.glossary.matching).
  answer       func(Pair) -> detail or None, decided by a run on the model's
               answer before anything is published: the cell is withheld,
               cleaned (`removes`) or flagged. These are about what localize's
               own prompt or a steered model adds; `localize eval` does not
               report them (a localized shop URL is fine in someone else's file).
  placeholder  about the answer before its keep-term placeholders are restored
               (localize.glossary.masking.unmask): only a run sees it.

`hard`: a rule a faithful translation never breaks, decided by exact
comparison (tags, digits, units, codes, links, the market limit, glossary
terms, added markup). Not hard: a judgement that can be wrong on a good
translation (language identification, a length ratio, a copy of the source,
words of the prompt or of its worked example).

`removes`: a run removes what the check finds and publishes the rest, so the
published cell no longer shows it (its report still does).

The engine's failures are not report codes: they go to `<stem>.errors.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from localize.checks import content, html_safety, injection, language, length, structure
from localize.checks.pair import Pair
from localize.glossary import masking, matching


@dataclass(frozen=True)
class Check:
    code: str
    description: str  # one line, for reports and `max_rate` gates
    withholds: bool  # a run leaves the cell empty (the row is kept, the report says why)
    hard: bool
    func: Callable
    scope: str = "file"  # file | glossary | answer | placeholder (see the module docstring)
    removes: bool = False


_CHECKS = (
    # Structure, numbers, facts (report order of `localize eval`).
    Check("empty_output", "output is empty", False, True, structure.empty_output),
    Check("html_structure", "HTML tag structure differs from the source", False, True, structure.html_structure),
    Check("numbers_changed", "a number of the source is missing", False, True, structure.numbers_changed),
    Check("unchanged", "output is a copy of the source", False, False, structure.unchanged),
    Check("too_long", "over the market's length limit", False, True, structure.too_long),
    Check("units_changed", "a measurement lost its unit symbol", False, True, content.units_changed),
    Check("codes_changed", "a model number or SKU is missing", False, True, content.codes_changed),
    Check("urls_changed", "a URL or e-mail address is missing", False, True, content.urls_changed),
    # Language (one rule: localize/checks/language.py).
    Check("untranslated", "output is in the source's language", False, False, language.untranslated),
    Check("wrong_language", "output is in another language than the target", True, False, language.wrong_language),
    # Glossary adherence.
    Check("keep_missing", "a glossary keep-term (brand, product line) is not in the output as in the source",
          False, True, matching.kept_ok, "glossary"),
    Check("term_missing", "a mandated glossary term is not used", False, True, matching.realized, "glossary"),
    Check("banned_term", "a banned word appears", False, True, matching.banned_in, "glossary"),
    # What a translation never adds and a steered model does (localize/checks/injection.py).
    Check("unsafe_html", "new markup that can run, load, link or hide something", True, True,
          html_safety.unsafe_html, "answer"),
    Check("new_html", "markup in an output whose source has none", True, True, html_safety.new_html, "answer"),
    Check("html_sanitized", "formatting markup not in the source (a run removes it)", False, True,
          html_safety.html_sanitized, "answer", removes=True),
    Check("new_url", "a URL, e-mail address, domain or phone number not in the source", True, True,
          injection.new_url, "answer"),
    Check("new_code", "a model number or code not in the source", True, True, injection.new_code, "answer"),
    Check("prompt_echo", "words of localize's own prompt", True, False, injection.prompt_echo, "answer"),
    Check("length_ratio", "a length far outside what a translation gives", True, False, length.length_ratio, "answer"),
    Check("hidden_characters", "invisible tag or bidi characters not in the source (a run removes them)",
          False, True, injection.hidden_characters, "answer", removes=True),
    Check("example_copied", "words of the prompt's worked example, not of this product", False, False,
          injection.example_copied, "answer"),
    # The model's answer before keep-terms are restored.
    Check("keep_duplicated", "a kept term came back more often than the source has it", False, True,
          masking.problem_kind, "placeholder"),
    Check("placeholder_left", "a placeholder the model made up is left in the output", False, True,
          masking.problem_kind, "placeholder"),
)

REGISTRY: dict[str, Check] = {c.code: c for c in _CHECKS}
CODES = tuple(REGISTRY)
WITHHELD = tuple(c.code for c in _CHECKS if c.withholds)
# What `localize eval` decides on a localized file, in its report order (`max_rate` gates name them).
FILE_CODES = tuple(c.code for c in _CHECKS if c.scope in ("file", "glossary"))
# Decided by func(Pair): the file and answer scopes.
PAIR_CODES = tuple(c.code for c in _CHECKS if c.scope in ("file", "answer"))


def describe(code: str) -> str:
    """The code's one-line description ("withheld" when a run leaves the cell empty)."""
    check = REGISTRY[code]
    return check.description + (" (cell withheld)" if check.withholds else "")


def check_pair(pair: Pair, codes) -> list[tuple[str, str]]:
    """(code, detail) for each of `codes` (file or answer scope) that `pair` fails, in `codes` order.
    An empty output fails `empty_output` only: nothing else can be judged on it."""
    if pair.empty:
        return [("empty_output", structure.empty_output(pair))] if "empty_output" in codes else []
    return [(code, detail) for code in codes if (detail := REGISTRY[code].func(pair))]
