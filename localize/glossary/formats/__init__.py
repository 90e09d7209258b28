"""Reading glossary files: the native format and the formats sellers already have.

`load_glossary(path)` detects the format from the content, in this order:

1. TBX (the file starts with "<"): TBX-Basic / TBX v2 (`<martif>`,
   `<termEntry><langSet xml:lang><tig><term>`) and TBX v3 (`<tbx>`,
   `<conceptEntry><langSec><termSec><term>`). The source language is the root
   element's xml:lang, else English when the concept has it, else the first
   language. Each other language gives a term entry; several terms in one
   language are synonyms (the first preferred one is the target, the others
   alternatives); terms marked deprecated or superseded (administrativeStatus
   or normativeAuthorization) become ban entries for that language. DOCTYPEs
   with an internal subset and every ENTITY declaration are refused, so entity
   expansion ("billion laughs") and external entities cannot happen; external
   DTDs are never fetched.
2. CSV/TSV (delimiter: tab for .tsv or when the first line has a tab; ";"
   when the first line has semicolons but no comma; else ","). UTF-8 with or
   without BOM, or UTF-16 with BOM. The header decides:
   - native: has `source` and `kind` columns. Columns source, target, locale,
     kind, case_sensitive, note, override; any order; unknown columns are an
     error (a typo must not silently drop a locale). See glossaries/README.md.
   - TICO-19 terminology: has `sourceString` and `targetString` (per-row
     `targetLang`; "es_XX" means Spanish with no region).
   - multi-language (Google "equivalent term sets", Amazon Translate custom
     terminology, Shopify taxonomy extracts): every header cell is a language
     code, or one of the metadata columns id, key, context, pos, description,
     definition, note(s), comment(s), domain, category; two languages at
     least. The first language column is the source; one term entry per row
     and other language with a non-empty cell.
   - otherwise DeepL-style rows without a header: `source,target`, or
     `source,target,source_lang,target_lang[,relevance]` as DeepL exports
     them. A first row of column labels ("source,target") is skipped. Without
     language columns the target locale comes from the `locale` argument or
     the file name: NAME.<src>-<tgt>.csv (brands.en-es.csv, terms.en-de.tsv)
     or NAME.<tgt>.csv. A row whose target equals its source (DeepL's idiom
     for "do not translate") becomes a keep entry for that locale.

Conflicts: one source with two different renderings for one locale is an error
naming both lines in the seller-authored formats (native, DeepL,
multi-language without metadata). In terminologies whose rows carry a sense
(TICO-19 pos/description, taxonomy key/context, Google pos/description) rows
that differ in it are different senses, and TBX synonyms are synonyms: their
targets become `alternatives` of one entry. Exact duplicates are dropped.
Across files (`load_glossaries`) a conflict is an error too, unless the later
entry has override=true (native format): then it replaces the earlier one.

Case: native entries say it (`case_sensitive`, default true for keep, false
for term and ban). Imported entries are case-sensitive when the source is one
token with two capitals or an inner capital (AIDS, COVID-19, iPhone), else not.
Text is normalized to NFC and runs of whitespace to one space.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Iterable

from localize.errors import InputError
from localize.glossary.formats.common import (
    csv_records, decode_text, imported_case_sensitive, is_blank, sniff_delimiter, try_locale,
    what_it_says, where_it_applies,
)
from localize.glossary.formats.deepl import DEEPL_LABELS, load_deepl, locale_from_name
from localize.glossary.formats.languages import is_multilingual, load_multilingual, load_tico19
from localize.glossary.formats.native import NATIVE_COLUMNS, load_native
from localize.glossary.formats.tbx import load_tbx
from localize.glossary.model import Entry, Glossary

__all__ = [
    "FORMAT_NAMES", "NATIVE_COLUMNS", "imported_case_sensitive", "load_glossaries", "load_glossary",
    "locale_from_name", "merge_glossaries", "try_locale",
]

FORMAT_NAMES = {
    "native": "native CSV (source,target,locale,kind,...)",
    "deepl": "DeepL-style two-column CSV/TSV",
    "multilingual": "multi-language CSV (first row = language codes)",
    "tico19": "TICO-19 terminology CSV",
    "tbx": "TBX",
    "empty": "empty",
    "merged": "merged",
}


def load_glossary(path, locale: str | None = None) -> Glossary:
    """Read one glossary file, detecting its format (module docstring).

    `locale`: target locale for two-column DeepL-style files whose name and
    columns do not say it. InputError (file and line) on bad input; an empty
    file is an empty glossary."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such glossary file") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder; give a glossary file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read the glossary: {exc.strerror or exc}") from None
    head = data.lstrip(codecs.BOM_UTF8).lstrip()
    if head.startswith((b"<", codecs.BOM_UTF16_LE + b"<", codecs.BOM_UTF16_BE + b"\0<")):
        return Glossary(load_tbx(path, data), format="tbx", paths=[path])
    text = decode_text(path, data)
    if not text.strip():
        return Glossary([], format="empty", paths=[path])
    records = csv_records(path, text, sniff_delimiter(path, text))
    for line, header in records:
        if not is_blank(header):
            break
    else:
        return Glossary([], format="empty", paths=[path])
    names = [h.strip().lower() for h in header]
    if "source" in names and "kind" in names:
        fmt, entries = "native", load_native(path, line, header, records)
    elif "sourcestring" in names and "targetstring" in names:
        fmt, entries = "tico19", load_tico19(path, line, names, records)
    elif is_multilingual(names):
        fmt, entries = "multilingual", load_multilingual(path, line, header, records)
    elif "source" in names and any(n in NATIVE_COLUMNS for n in set(names) - DEEPL_LABELS):
        raise InputError(path, "the header has a 'source' column but no 'kind' column; the native format needs "
                         f"{', '.join(NATIVE_COLUMNS)}", row=line)
    else:
        fmt, entries = "deepl", load_deepl(path, line, header, records, locale)
    return Glossary(entries, format=fmt, paths=[path])


def load_glossaries(paths: Iterable) -> Glossary:
    """Load and merge, in order. Conflicts across files are errors unless the
    later entry says override=true; an empty list gives an empty glossary."""
    paths = list(paths)
    return merge_glossaries([load_glossary(p) for p in paths])


def merge_glossaries(glossaries: list[Glossary]) -> Glossary:
    """One glossary from several, in order (see "Conflicts" above)."""
    merged: list[Entry | None] = []
    index: dict[tuple, int] = {}
    for g in glossaries:
        for e in g.entries:
            key = ("ban" if e.kind == "ban" else "kt", e.key(), e.locale)
            i = index.get(key)
            if i is None:
                index[key] = len(merged)
                merged.append(e)
                continue
            old = merged[i]
            if e.kind == "ban" or (e.rendering in old.renderings and not e.override):
                continue
            if e.override:
                merged[i] = e
                continue
            path, _, _ = e.origin.rpartition(":")
            raise InputError(
                path or e.origin,
                f"conflicting entries for {e.source!r} ({where_it_applies(e)}): "
                f"this line says {what_it_says(e)}, {old.origin} says {what_it_says(old)}; "
                "set override to true on this line to replace the earlier entry",
                row=e.line,
            )
    formats = {g.format for g in glossaries}
    fmt = formats.pop() if len(glossaries) == 1 else ("merged" if glossaries else "empty")
    return Glossary([e for e in merged if e is not None], format=fmt, paths=[p for g in glossaries for p in g.paths])

