"""Terminology accuracy: the share of required terms realized in the output.

In the style of the WMT23 terminology task's success rate: for every source
segment, each glossary term whose source occurs in it (`LocaleGlossary.terms_in`,
each term once per segment) is one required item, realized when its target (or
an alternative) is found in the output by `matching.realized`. Per locale:
realized / required. Locales without any required term are absent from the
result (not 1.0): "not measured" is not a pass.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Iterator

from localize.glossary.matching import realized
from localize.glossary.model import Entry, Glossary, LocaleGlossary


def terminology_accuracy(items: Iterable[tuple[str, str, Entry]]) -> dict[str, float]:
    """(locale, output, entry) for every required term occurrence -> {locale: share realized}."""
    required: Counter = Counter()
    hits: Counter = Counter()
    for locale, output, entry in items:
        required[locale] += 1
        if realized(output or "", entry, locale):
            hits[locale] += 1
    return {loc: hits[loc] / required[loc] for loc in sorted(required)}


def required_items(
    glossary: Glossary, rows: Iterable[tuple[str, str, str]]
) -> Iterator[tuple[str, str, Entry]]:
    """(locale, source, output) rows -> the (locale, output, entry) items of
    `terminology_accuracy`: one per term of the glossary found in the source."""
    views: dict[str, LocaleGlossary] = {}
    for locale, source, output in rows:
        if locale not in views:
            views[locale] = glossary.for_locale(locale)
        for entry in views[locale].terms_in(source or ""):
            yield locale, output, entry


class TermCheck:
    """The eval harness's hook (`localize.eval.checks.TermCheck`): for a row
    with .source, .output and .locale, (terms expected, terms found)."""

    def __init__(self, glossary: Glossary):
        self.glossary = glossary
        self._views: dict[str, LocaleGlossary] = {}

    def __call__(self, row) -> tuple[int, int]:
        if not getattr(row, "source", None):
            return 0, 0
        view = self._views.get(row.locale)
        if view is None:
            view = self._views[row.locale] = self.glossary.for_locale(row.locale)
        terms = view.terms_in(row.source)
        found = sum(realized(row.output or "", e, row.locale) for e in terms)
        return len(terms), found
