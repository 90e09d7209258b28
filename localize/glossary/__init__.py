"""Seller glossaries: brands kept, mandated terms used, banned words absent.

- model: Entry, Glossary, LocaleGlossary (per-locale view, `terms_in`)
- formats: load_glossary / load_glossaries (native CSV, DeepL, multi-language
  CSV, TICO-19, TBX)
- masking: mask / unmask (keep terms as QX1-style placeholders), lock_terms
- matching: realized / banned_in / kept_ok (locale-aware checks)
- scan: where in a text (HTML-aware) terms are searched
- summary: `localize glossary check`
- metric: TermCheck (terms required and realized per row, for `localize eval`)
"""

from localize.glossary.model import KINDS, Entry, Glossary, LocaleGlossary

__all__ = ["KINDS", "Entry", "Glossary", "LocaleGlossary"]
