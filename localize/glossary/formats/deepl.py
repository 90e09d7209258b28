"""DeepL-style two-column glossaries: source,target rows without a header, or
source,target,source_lang,target_lang[,relevance] as DeepL exports them. The
target locale comes from those columns, the `locale` argument or the file name;
a row whose target equals its source is a keep entry (DeepL's "do not translate")."""

from __future__ import annotations

import re
from pathlib import Path

from localize.errors import InputError
from localize.glossary.formats.common import (
    Collector, clean, imported_case_sensitive, is_blank, parse_locale_cell, try_locale,
)
from localize.glossary.model import Entry

# Cells of a first row that is column labels, not a term.
DEEPL_LABELS = {"source", "target", "source term", "target term", "source_term", "target_term", "term",
                "translation", "source language", "target language", "source_lang", "target_lang",
                "source lang", "target lang", "relevance"}


def locale_from_name(path: Path) -> str | None:
    """brands.en-es.csv, brands_en_es.csv -> "es"; terms.en-pt-BR.tsv ->
    "pt-BR"; terms.de.tsv -> "de"; else None."""
    segment = Path(path).stem.rsplit(".", 1)[-1]
    parts = [p for p in re.split(r"[-_\s]", segment) if p]
    for start in range(len(parts)):
        for mid in range(start + 1, min(start + 3, len(parts))):
            left, right = parts[start:mid], parts[mid:]
            if len(right) <= 2 and try_locale("-".join(left)) and try_locale("-".join(right)):
                return try_locale("-".join(right))
    if "." in Path(path).stem:
        return try_locale(segment)
    return None


def load_deepl(path: Path, first_line: int, first: list[str], records, locale: str | None) -> list[Entry]:
    default = None
    if locale:
        default = parse_locale_cell(path, None, locale)
    else:
        default = locale_from_name(path)
    out = Collector(path, "strict")

    def rows():
        yield first_line, first
        yield from records

    for line, row in rows():
        if is_blank(row):
            continue
        if line == first_line and {c.strip().lower() for c in row if c.strip()} <= DEEPL_LABELS:
            continue  # a row of column labels
        if len(row) not in (2, 4, 5):
            raise InputError(
                path,
                f"malformed row: {len(row)} field(s); a two-column glossary has source,target or "
                "source,target,source_lang,target_lang per line (quote a term that contains the delimiter)",
                row=line,
            )
        source, target = clean(row[0]), clean(row[1])
        if not source or not target:
            raise InputError(path, f"the {'source' if not source else 'target'} term is empty", row=line)
        if len(row) >= 4 and row[3].strip():
            loc = parse_locale_cell(path, line, row[3], "target_lang")
        elif default:
            loc = default
        else:
            raise InputError(
                path,
                "cannot tell the target language of this two-column glossary: name the file like "
                "NAME.en-es.csv (source-target), add source_lang,target_lang columns, or use the native "
                "format with a locale column",
                row=line,
            )
        if source == target:
            entry = Entry(source, "", loc, "keep", True, "", f"{path}:{line}")
        else:
            entry = Entry(source, target, loc, "term", imported_case_sensitive(source), "", f"{path}:{line}")
        out.add(entry, line)
    return out.entries

