"""Shopify Translate & Adapt files: one row per (resource, field, locale).

Shopify's admin exports translations as
`Type,Identification,Field,Locale,Market,Status,Default content,Translated content`
and imports the same file back. localize fills `Translated content` for the
rows of the requested locales (only empty ones unless --overwrite) and keeps
every other cell as it was, so the file stays importable. Handles (URL
slugs), metafields and theme strings are left alone: they are identifiers or
structured data, not listing text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import polars as pl

from localize.catalog.fields import Field
from localize.errors import UsageError
from localize.io.catalog import FORMULA_TRIGGERS
from localize.pipeline.translate import BatchTranslator
from localize.text.locales import Locale, parse_locale

COLUMNS = ["Type", "Identification", "Field", "Locale", "Market", "Status", "Default content", "Translated content"]
SOURCE, TARGET = "Default content", "Translated content"

# Shopify field name -> localize role; any resource type (product, collection, page, article).
FIELD_ROLES = {
    "title": "title",
    "body_html": "description",
    "summary_html": "short_description",
    "meta_title": "seo_title",
    "meta_description": "seo_description",
    "product_type": "option_value",
}
# Field "name" means an option name or an option value depending on the resource type.
TYPE_NAME_ROLES = {"PRODUCT_OPTION": "option_name", "PRODUCT_OPTION_VALUE": "option_value"}


def is_translate_adapt(columns: list[str]) -> bool:
    return columns[: len(COLUMNS)] == COLUMNS


def check_options(*, layout: str, fields: str | None) -> None:
    """Options that a Translate & Adapt file decides itself are refused, not ignored."""
    if layout != "columns":
        raise UsageError("a Shopify Translate & Adapt file is filled in place; --layout does not apply")
    if fields:
        raise UsageError("a Shopify Translate & Adapt file says which fields to translate; --fields does not apply")


def role_of(resource_type: str, field_name: str) -> str | None:
    if field_name == "name":
        return TYPE_NAME_ROLES.get(resource_type)
    return FIELD_ROLES.get(field_name)


@dataclass
class TranslateAdaptBatches:
    """Per-locale translators over Translate & Adapt batches."""

    make_translator: Callable[[Locale], BatchTranslator]
    locales: list[Locale]
    overwrite: bool = False
    translators: dict[str, BatchTranslator] = field(default_factory=dict)
    skipped_fields: dict[str, int] = field(default_factory=dict)  # field name -> rows left alone
    rows_filled: int = 0

    def _locale_of(self, code: str | None) -> Locale | None:
        try:
            loc = parse_locale(code or "")
        except Exception:  # a locale we don't know is simply not one we were asked for
            return None
        return next((w for w in self.locales if w.code == loc.code), None)

    def say_what_was_left(self, progress) -> None:
        """After the run: the fields left alone, or that nothing needed filling."""
        if self.skipped_fields:
            left = ", ".join(f"{name} ({n})" for name, n in sorted(self.skipped_fields.items()))
            progress.message(f"localize: left untranslated (identifiers or structured data): {left}")
        if not self.translators:
            asked = ", ".join(loc.code for loc in self.locales)
            progress.message(f"localize: no rows to fill for {asked} (already translated, or not in this file)")

    def localize(self, batch: pl.DataFrame, offset: int, report, progress) -> pl.DataFrame:
        rows = batch.select(["Type", "Field", "Locale", SOURCE, TARGET]).to_dicts()
        targets = [r[TARGET] for r in rows]
        by_locale: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            loc = self._locale_of(r["Locale"])
            if loc is None or (r[TARGET] and not self.overwrite):
                continue
            if role_of(r["Type"] or "", r["Field"] or "") is None:
                self.skipped_fields[r["Field"]] = self.skipped_fields.get(r["Field"], 0) + 1
                continue
            by_locale.setdefault(loc.code, []).append(i)
        for code, indices in by_locale.items():
            loc = next(w for w in self.locales if w.code == code)
            translator = self.translators.setdefault(code, self.make_translator(loc))
            # One pseudo-column per role, so each row is planned with its own prompt and limit.
            pseudo = [{role_of(rows[i]["Type"], rows[i]["Field"]): rows[i][SOURCE]} for i in indices]
            roles = sorted({next(iter(p)) for p in pseudo})
            results = translator.translate(
                pseudo, [Field(role, role) for role in roles],
                on_row_done=progress.rows_done, on_request_done=progress.tick,
            )
            for j, i in enumerate(indices):
                role, source = next(iter(pseudo[j].items()))
                cell = results.get((j, role, code))
                if cell is None:  # empty default content: nothing to translate
                    continue
                report.add_cell(offset + i + 1, TARGET, code, cell)
                value = cell.value or ""
                # Cells we fill are neutralized like any model output (OWASP); the seller's own are not.
                targets[i] = "'" + value if value.startswith(tuple(FORMULA_TRIGGERS)) else value
                self.rows_filled += cell.value is not None
        return batch.with_columns(pl.Series(TARGET, targets, dtype=pl.String))

    def total(self, name: str) -> int:
        return sum(getattr(t, name) for t in self.translators.values())
