"""Terminologies with a language per column or per row: multi-language CSV
(Google equivalent term sets, Amazon Translate custom terminology, Shopify
taxonomy extracts) and TICO-19. Rows that differ in their sense columns are
different senses of one source: their targets become alternatives."""

from __future__ import annotations

from pathlib import Path

from localize.errors import InputError
from localize.glossary.formats.common import (
    Collector, check_width, clean, imported_case_sensitive, is_blank, parse_locale_cell, try_locale,
)
from localize.glossary.model import Entry

META_COLUMNS = {"id", "key", "context", "pos", "description", "definition", "note", "notes",
                "comment", "comments", "domain", "category"}
SENSE_COLUMNS = ("key", "context", "pos", "description", "definition", "domain", "category")
NOTE_COLUMNS = ("description", "definition", "context", "note", "notes", "comment", "comments")


def load_tico19(path: Path, header_line: int, names: list[str], records) -> list[Entry]:
    if "targetlang" not in names:
        raise InputError(path, "a TICO-19 terminology needs a targetLang column", row=header_line)
    si, ti, li = names.index("sourcestring"), names.index("targetstring"), names.index("targetlang")
    sense_idx = [names.index(c) for c in ("pos", "description") if c in names]
    desc = names.index("description") if "description" in names else None
    out = Collector(path, "senses")
    for line, row in records:
        if is_blank(row):
            continue
        check_width(path, line, row, len(names))
        source, target = clean(row[si]), clean(row[ti])
        if not source and not target:
            continue  # TICO-19 files hold rows with nothing but a language code
        if not source or not target:
            missing = "sourceString" if not source else "targetString"
            raise InputError(path, f"the {missing} is empty", row=line, column=missing)
        locale = parse_locale_cell(path, line, row[li], "targetLang")
        note = row[desc].strip() if desc is not None else ""
        entry = Entry(source, target, locale, "term", imported_case_sensitive(source), note, f"{path}:{line}")
        out.add(entry, line, tuple(row[i].strip() for i in sense_idx))
    return out.entries



def is_multilingual(names: list[str]) -> bool:
    langs = [n for n in names if n not in META_COLUMNS and try_locale(n)]
    return len(langs) >= 2 and all(n in META_COLUMNS or try_locale(n) for n in names)


def load_multilingual(path: Path, header_line: int, header: list[str], records) -> list[Entry]:
    names = [h.strip().lower() for h in header]
    langs: list[tuple[int, str]] = []
    for i, n in enumerate(names):
        if n not in META_COLUMNS:
            code = try_locale(n)
            if code in (c for _, c in langs):
                raise InputError(path, f"language {header[i].strip()!r} has two columns", row=header_line)
            langs.append((i, code))
    (src_i, src_code), targets = langs[0], langs[1:]
    sense_idx = [i for i, n in enumerate(names) if n in SENSE_COLUMNS]
    note_idx = [i for n in NOTE_COLUMNS for i, m in enumerate(names) if m == n]
    out = Collector(path, "senses")
    for line, row in records:
        if is_blank(row):
            continue
        check_width(path, line, row, len(names))
        source = clean(row[src_i])
        if not source:
            if any(row[i].strip() for i, _ in targets):
                raise InputError(path, f"the {src_code} (source) term is empty", row=line, column=header[src_i].strip())
            continue
        note = next((row[i].strip() for i in note_idx if row[i].strip()), "")
        sense = tuple(row[i].strip() for i in sense_idx)
        cs = imported_case_sensitive(source)
        for i, code in targets:
            target = clean(row[i])
            if target:
                out.add(Entry(source, target, code, "term", cs, note, f"{path}:{line}"), line, sense)
    return out.entries

