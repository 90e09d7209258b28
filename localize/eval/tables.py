"""Tables `localize eval` reads: dev sets (id, kind, en, es, ...) and localized
catalogs (`<column>_<locale>` beside `<column>`), turned into checked rows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from localize.errors import InputError, UsageError
from localize.eval.checks import Row
from localize.text.html import looks_like_html
from localize.text.locales import Locale, parse_locale, parse_locales
from localize.text.prompts import KINDS

KIND_ROLE = {"title": "title", "html": "description", "text": "description", "label": "option_value"}
ID_COLUMN, KIND_COLUMN = "id", "kind"  # `id` is the row id, never Indonesian: name that column id-ID


@dataclass
class Table:
    path: Path
    columns: list[str]
    records: list[dict[str, str | None]]


def read_table(path: Path, limit: int | None) -> Table:
    from localize.io.catalog import CatalogReader

    records: list[dict] = []
    with CatalogReader(path, batch_rows=4096) as reader:
        columns = reader.columns
        by_kind = KIND_COLUMN in columns
        for batch in reader.batches():
            records += batch.to_dicts()
            if limit and not by_kind and len(records) >= limit:
                break
    if limit and by_kind:  # a dev set: the first N rows of each kind, so a CI subset still has HTML
        seen: dict[str, int] = {}
        kept = []
        for r in records:
            kind = str(r.get(KIND_COLUMN) or "")
            seen[kind] = seen.get(kind, 0) + 1
            if seen[kind] <= limit:
                kept.append(r)
        records = kept
    elif limit:
        records = records[:limit]
    if not records:
        raise UsageError(f"{path}: has no data rows")
    return Table(Path(path), columns, records)


def locale_columns(columns: list[str]) -> dict[str, Locale]:
    """Columns named exactly by a locale code (`es`, `pt-BR`), except the row id."""
    out = {}
    for col in columns:
        if col == ID_COLUMN:
            continue
        try:
            loc = parse_locale(col)
        except UsageError:
            continue
        if loc.code == col or loc.code.lower() == col.lower():
            out[col] = loc
    return out


def hypothesis_columns(columns: list[str]) -> list[tuple[str, str, Locale]]:
    """(hypothesis column, source column, locale) for every `<column>_<locale>`."""
    found = []
    for col in columns:
        base, sep, code = col.rpartition("_")
        if not sep or base not in columns:
            continue
        try:
            loc = parse_locale(code)
        except UsageError:
            continue
        found.append((col, base, loc))
    return found


def row_kind(record: dict, table: Table, source_col: str, text: str) -> str:
    if KIND_COLUMN in table.columns and record.get(KIND_COLUMN):
        kind = str(record[KIND_COLUMN]).strip().lower()
        if kind not in KINDS:
            raise InputError(table.path, f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}", column=KIND_COLUMN)
        return kind
    known = _known_field(source_col)
    if known is not None:
        return known.kind_for(text)
    return "html" if looks_like_html(text) else "text"


@lru_cache(maxsize=256)
def _known_field(column: str):
    """The catalog field (with its role) when `column` is a recognized platform header."""
    from localize.catalog.fields import detect_fields

    found = detect_fields([column])
    return found[0] if found else None


def row_id(record: dict, index: int) -> str:
    value = record.get(ID_COLUMN)
    return str(value) if value not in (None, "") else str(index + 1)


def selected_locales(locales: list[Locale], to: str | None) -> list[Locale]:
    """--to's locales (they need no reference column: unscored, still checked), else every reference locale."""
    return parse_locales(to) if to else locales


def catalog_rows(table: Table, to: str | None, market) -> list[Row]:
    """A localized catalog's rows: every `<column>_<locale>` cell against its `<column>`
    (and against the reference column when `<column>` is itself a locale column)."""
    hyp_cols = hypothesis_columns(table.columns)
    if not hyp_cols:
        hint = " (a dev set: pass --run to localize it first)" if locale_columns(table.columns) else ""
        raise UsageError(f"{table.path}: no localized <column>_<locale> columns to evaluate{hint}")
    if to:
        wanted = {loc.code for loc in parse_locales(to)}
        missing = wanted - {loc.code for _, _, loc in hyp_cols}
        if missing:
            raise UsageError(f"{table.path}: no localized columns for {', '.join(sorted(missing))}")
        hyp_cols = [h for h in hyp_cols if h[2].code in wanted]
    locale_cols = locale_columns(table.columns)
    rows = []
    for hyp_col, src_col, loc in hyp_cols:
        ref_col = loc.code if src_col in locale_cols and loc.code in table.columns else None
        for i, record in enumerate(table.records):
            row = make_row(record, i, table, src_col, record.get(hyp_col), ref_col, loc, market)
            if row is not None:
                rows.append(row)
    return rows


def make_row(record, index, table, src_col, output, ref_col, loc: Locale, market) -> Row | None:
    source = record.get(src_col)
    if source in (None, "") or not str(source).strip():
        return None  # nothing to localize, nothing to check
    source = str(source)
    kind = row_kind(record, table, src_col, source)
    known = _known_field(src_col)
    role = known.role if known is not None else KIND_ROLE[kind]
    reference = record.get(ref_col) if ref_col else None
    return Row(
        row_id(record, index), loc.code, loc.language, kind, source, "" if output is None else str(output),
        reference=None if reference in (None, "") else str(reference), role=role, max_chars=market.limit(role),
    )

