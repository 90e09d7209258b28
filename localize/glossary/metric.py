"""Terminology accuracy: the share of required terms realized in the output.

In the style of the WMT23 terminology task's success rate: for every source
segment, each glossary term whose source occurs in it (`LocaleGlossary.terms_in`,
each term once per segment) is one required item, realized when its target (or
an alternative) is found in the output by `matching.realized`. `localize eval`
sums `TermCheck`'s counts per locale (realized / required); a locale without
any required term has no accuracy, not 1.0: "not measured" is not a pass.
A run counts the same items as it checks each answer
(`localize.pipeline.constraints.GlossaryTotals`).
"""

from __future__ import annotations

from localize.glossary.matching import realized
from localize.glossary.model import Glossary, LocaleGlossary


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
