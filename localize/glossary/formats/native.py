"""The native glossary CSV: source,target,locale,kind,case_sensitive,note,override
(any order, unknown columns refused; see glossaries/README.md)."""

from __future__ import annotations

from pathlib import Path

from localize.errors import InputError
from localize.glossary.formats.common import (
    Collector, check_width, clean, is_blank, parse_bool, parse_locale_cell,
)
from localize.glossary.model import KINDS, Entry

NATIVE_COLUMNS = ("source", "target", "locale", "kind", "case_sensitive", "note", "override")
ALL_LOCALES = {"", "*", "all"}  # a locale cell that means "every locale"


def load_native(path: Path, header_line: int, header: list[str], records) -> list[Entry]:
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    for n in names:
        if n not in NATIVE_COLUMNS:
            raise InputError(path, f"unknown column {n!r}; the columns are {', '.join(NATIVE_COLUMNS)}",
                             row=header_line)
        if names.count(n) > 1:
            raise InputError(path, f"column {n!r} appears twice", row=header_line)
    idx = {n: i for i, n in enumerate(names)}
    out = Collector(path, "strict")
    for line, row in records:
        if is_blank(row):
            continue
        if row[0].lstrip().startswith("#") and (len(row) <= idx["kind"] or not row[idx["kind"]].strip()):
            continue  # a comment line: "#..." in the first cell and no kind ("#1,,,ban" is an entry)
        check_width(path, line, row, len(names))

        def cell(name: str) -> str:
            return row[idx[name]].strip() if name in idx else ""

        source = clean(cell("source"))
        kind = cell("kind").lower()
        if kind not in KINDS:
            what = f"unknown kind {cell('kind')!r}" if kind else "the kind is empty"
            raise InputError(path, f"{what}; use keep, term or ban", row=line, column="kind")
        if not source:
            raise InputError(path, "the source is empty", row=line, column="source")
        target = clean(cell("target"))
        if kind == "term" and not target:
            raise InputError(path, f"term {source!r} has no target (its mandated translation); "
                             "use kind keep for words that stay as they are", row=line, column="target")
        if kind == "keep" and target and target != source:
            raise InputError(path, f"keep entries are never translated, so {source!r} takes no target; "
                             "use kind term for a mandated translation", row=line, column="target")
        if kind == "ban" and target:
            raise InputError(path, "ban entries take no target; put a suggested replacement in the note",
                             row=line, column="target")
        loc = cell("locale")
        locale = None if loc.lower() in ALL_LOCALES else parse_locale_cell(path, line, loc, "locale")
        entry = Entry(
            source=source,
            target=target if kind == "term" else "",
            locale=locale,
            kind=kind,
            case_sensitive=parse_bool(path, line, "case_sensitive", cell("case_sensitive"), default=kind == "keep"),
            note=cell("note"),
            origin=f"{path}:{line}",
            override=parse_bool(path, line, "override", cell("override"), default=False),
        )
        out.add(entry, line)
    return out.entries

