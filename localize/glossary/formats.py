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
import csv
import io
import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator
from xml.parsers import expat

from localize.errors import InputError, UsageError
from localize.glossary.model import KINDS, Entry, Glossary
from localize.text.locales import parse_locale

NATIVE_COLUMNS = ("source", "target", "locale", "kind", "case_sensitive", "note", "override")
META_COLUMNS = {"id", "key", "context", "pos", "description", "definition", "note", "notes",
                "comment", "comments", "domain", "category"}
SENSE_COLUMNS = ("key", "context", "pos", "description", "definition", "domain", "category")
NOTE_COLUMNS = ("description", "definition", "context", "note", "notes", "comment", "comments")
_DEEPL_LABELS = {"source", "target", "source term", "target term", "source_term", "target_term", "term",
                 "translation", "source language", "target language", "source_lang", "target_lang",
                 "source lang", "target lang", "relevance"}
_TRUE = {"true", "yes", "y", "1", "t", "x"}
_FALSE = {"false", "no", "n", "0", "f"}
_ALL_LOCALES = {"", "*", "all"}
_DEPRECATED = ("deprecated", "superseded")

FORMAT_NAMES = {
    "native": "native CSV (source,target,locale,kind,...)",
    "deepl": "DeepL-style two-column CSV/TSV",
    "multilingual": "multi-language CSV (first row = language codes)",
    "tico19": "TICO-19 terminology CSV",
    "tbx": "TBX",
    "empty": "empty",
    "merged": "merged",
}



# --- small helpers -------------------------------------------------------------


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _normalize_code(text: str) -> str:
    code = text.strip().replace("_", "-")
    # TICO-19/FLORES write "es_XX" for "Spanish, no particular region".
    return re.sub(r"-(?:XX|xx)$", "", code)


def try_locale(text: str) -> str | None:
    try:
        return parse_locale(_normalize_code(text)).code if text.strip() else None
    except UsageError:
        return None


def _locale(path, line: int | None, text: str, column: str | None = None) -> str:
    try:
        return parse_locale(_normalize_code(text)).code
    except UsageError as exc:
        raise InputError(path, str(exc), row=line, column=column) from None


def imported_case_sensitive(source: str) -> bool:
    """Acronyms and brand-like casing (AIDS, COVID-19, iPhone, GripTec)."""
    if " " in source:
        return False
    return sum(c.isupper() for c in source) >= 2 or re.search(r"[a-z][A-Z]", source) is not None


def _bool(path, line: int, column: str, text: str, default: bool) -> bool:
    t = text.strip().lower()
    if not t:
        return default
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise InputError(path, f"{text.strip()!r} is not true or false", row=line, column=column)


def _what(e: Entry) -> str:
    if e.kind == "keep":
        return "keep it unchanged"
    return f"translate it as {e.target!r}"


def _where(e: Entry) -> str:
    return f"locale {e.locale}" if e.locale else "every locale"


class _Collector:
    """Entries of one file, with conflict detection (see the module docstring).

    mode: "strict" (a conflict is an error), "senses" (rows that differ in
    their sense columns become alternatives), "alternatives" (always)."""

    def __init__(self, path, mode: str):
        self.path, self.mode = path, mode
        self.entries: list[Entry] = []
        self._index: dict[tuple, int] = {}
        self._sense: list[tuple] = []

    def add(self, entry: Entry, line: int, sense: tuple = ()) -> None:
        key = ("ban" if entry.kind == "ban" else "kt", entry.key(), entry.locale)
        i = self._index.get(key)
        if i is None:
            self._index[key] = len(self.entries)
            self.entries.append(entry)
            self._sense.append(sense)
            return
        old = self.entries[i]
        if entry.kind == "ban" or entry.rendering in old.renderings:
            return  # a duplicate
        if old.kind == entry.kind == "term" and (
            self.mode == "alternatives" or (self.mode == "senses" and sense != self._sense[i])
        ):
            extra = tuple(t for t in dict.fromkeys(entry.renderings) if t not in old.renderings)
            self.entries[i] = replace(old, alternatives=old.alternatives + extra)
            return
        raise InputError(
            self.path,
            f"conflicting entries for {entry.source!r} ({_where(entry)}): line {old.line} says {_what(old)}, "
            f"line {line} says {_what(entry)}",
            row=line,
        )


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(path, "is not valid UTF-16 text") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(path, "is not UTF-8 text; re-save it as UTF-8 (e.g. Excel: 'CSV UTF-8')", row=line) from None


def _delimiter(path: Path, text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if path.suffix.lower() == ".tsv" or "\t" in first:
        return "\t"
    if "," not in first and ";" in first:
        return ";"
    return ","


def _records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for every record; blank lines come as []."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    prev = 0
    try:
        for row in reader:
            yield prev + 1, row
            prev = reader.line_num
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV: {exc}", row=prev + 1) from None


def _blank(row: list[str]) -> bool:
    return not any(c.strip() for c in row)


def _check_width(path, line: int, row: list[str], width: int) -> None:
    if len(row) != width:
        raise InputError(
            path,
            f"malformed row: {len(row)} field(s) where the header has {width} "
            "(quote a field that contains the delimiter)",
            row=line,
        )


# --- public API ------------------------------------------------------------------


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
        return Glossary(_load_tbx(path, data), format="tbx", paths=[path])
    text = _decode(path, data)
    if not text.strip():
        return Glossary([], format="empty", paths=[path])
    records = _records(path, text, _delimiter(path, text))
    for line, header in records:
        if not _blank(header):
            break
    else:
        return Glossary([], format="empty", paths=[path])
    names = [h.strip().lower() for h in header]
    if "source" in names and "kind" in names:
        fmt, entries = "native", _load_native(path, line, header, records)
    elif "sourcestring" in names and "targetstring" in names:
        fmt, entries = "tico19", _load_tico(path, line, names, records)
    elif _is_multilingual(names):
        fmt, entries = "multilingual", _load_multilingual(path, line, header, records)
    elif "source" in names and any(n in NATIVE_COLUMNS for n in set(names) - _DEEPL_LABELS):
        raise InputError(path, "the header has a 'source' column but no 'kind' column; the native format needs "
                         f"{', '.join(NATIVE_COLUMNS)}", row=line)
    else:
        fmt, entries = "deepl", _load_deepl(path, line, header, records, locale)
    return Glossary(entries, format=fmt, paths=[path])


def load_glossaries(paths: Iterable) -> Glossary:
    """Load and merge, in order. Conflicts across files are errors unless the
    later entry says override=true; an empty list gives an empty glossary."""
    paths = list(paths)
    return merge_glossaries([load_glossary(p) for p in paths])


def merge_glossaries(glossaries: list[Glossary]) -> Glossary:
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
                f"conflicting entries for {e.source!r} ({_where(e)}): this line says {_what(e)}, "
                f"{old.origin} says {_what(old)}; set override to true on this line to replace the earlier entry",
                row=e.line,
            )
    formats = {g.format for g in glossaries}
    fmt = formats.pop() if len(glossaries) == 1 else ("merged" if glossaries else "empty")
    return Glossary([e for e in merged if e is not None], format=fmt, paths=[p for g in glossaries for p in g.paths])


# --- native ----------------------------------------------------------------------


def _load_native(path: Path, header_line: int, header: list[str], records) -> list[Entry]:
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    for n in names:
        if n not in NATIVE_COLUMNS:
            raise InputError(path, f"unknown column {n!r}; the columns are {', '.join(NATIVE_COLUMNS)}",
                             row=header_line)
        if names.count(n) > 1:
            raise InputError(path, f"column {n!r} appears twice", row=header_line)
    idx = {n: i for i, n in enumerate(names)}
    out = _Collector(path, "strict")
    for line, row in records:
        if _blank(row):
            continue
        if row[0].lstrip().startswith("#") and (len(row) <= idx["kind"] or not row[idx["kind"]].strip()):
            continue  # a comment line: "#..." in the first cell and no kind ("#1,,,ban" is an entry)
        _check_width(path, line, row, len(names))

        def cell(name: str) -> str:
            return row[idx[name]].strip() if name in idx else ""

        source = _clean(cell("source"))
        kind = cell("kind").lower()
        if kind not in KINDS:
            what = f"unknown kind {cell('kind')!r}" if kind else "the kind is empty"
            raise InputError(path, f"{what}; use keep, term or ban", row=line, column="kind")
        if not source:
            raise InputError(path, "the source is empty", row=line, column="source")
        target = _clean(cell("target"))
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
        locale = None if loc.lower() in _ALL_LOCALES else _locale(path, line, loc, "locale")
        entry = Entry(
            source=source,
            target=target if kind == "term" else "",
            locale=locale,
            kind=kind,
            case_sensitive=_bool(path, line, "case_sensitive", cell("case_sensitive"), default=kind == "keep"),
            note=cell("note"),
            origin=f"{path}:{line}",
            override=_bool(path, line, "override", cell("override"), default=False),
        )
        out.add(entry, line)
    return out.entries


# --- TICO-19 ---------------------------------------------------------------------


def _load_tico(path: Path, header_line: int, names: list[str], records) -> list[Entry]:
    if "targetlang" not in names:
        raise InputError(path, "a TICO-19 terminology needs a targetLang column", row=header_line)
    si, ti, li = names.index("sourcestring"), names.index("targetstring"), names.index("targetlang")
    sense_idx = [names.index(c) for c in ("pos", "description") if c in names]
    desc = names.index("description") if "description" in names else None
    out = _Collector(path, "senses")
    for line, row in records:
        if _blank(row):
            continue
        _check_width(path, line, row, len(names))
        source, target = _clean(row[si]), _clean(row[ti])
        if not source and not target:
            continue  # TICO-19 files hold rows with nothing but a language code
        if not source or not target:
            missing = "sourceString" if not source else "targetString"
            raise InputError(path, f"the {missing} is empty", row=line, column=missing)
        locale = _locale(path, line, row[li], "targetLang")
        note = row[desc].strip() if desc is not None else ""
        entry = Entry(source, target, locale, "term", imported_case_sensitive(source), note, f"{path}:{line}")
        out.add(entry, line, tuple(row[i].strip() for i in sense_idx))
    return out.entries


# --- multi-language ----------------------------------------------------------------


def _is_multilingual(names: list[str]) -> bool:
    langs = [n for n in names if n not in META_COLUMNS and try_locale(n)]
    return len(langs) >= 2 and all(n in META_COLUMNS or try_locale(n) for n in names)


def _load_multilingual(path: Path, header_line: int, header: list[str], records) -> list[Entry]:
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
    out = _Collector(path, "senses")
    for line, row in records:
        if _blank(row):
            continue
        _check_width(path, line, row, len(names))
        source = _clean(row[src_i])
        if not source:
            if any(row[i].strip() for i, _ in targets):
                raise InputError(path, f"the {src_code} (source) term is empty", row=line, column=header[src_i].strip())
            continue
        note = next((row[i].strip() for i in note_idx if row[i].strip()), "")
        sense = tuple(row[i].strip() for i in sense_idx)
        cs = imported_case_sensitive(source)
        for i, code in targets:
            target = _clean(row[i])
            if target:
                out.add(Entry(source, target, code, "term", cs, note, f"{path}:{line}"), line, sense)
    return out.entries


# --- DeepL-style two columns ---------------------------------------------------------


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


def _load_deepl(path: Path, first_line: int, first: list[str], records, locale: str | None) -> list[Entry]:
    default = None
    if locale:
        default = _locale(path, None, locale)
    else:
        default = locale_from_name(path)
    out = _Collector(path, "strict")

    def rows():
        yield first_line, first
        yield from records

    for line, row in rows():
        if _blank(row):
            continue
        if line == first_line and {c.strip().lower() for c in row if c.strip()} <= _DEEPL_LABELS:
            continue  # a row of column labels
        if len(row) not in (2, 4, 5):
            raise InputError(
                path,
                f"malformed row: {len(row)} field(s); a two-column glossary has source,target or "
                "source,target,source_lang,target_lang per line (quote a term that contains the delimiter)",
                row=line,
            )
        source, target = _clean(row[0]), _clean(row[1])
        if not source or not target:
            raise InputError(path, f"the {'source' if not source else 'target'} term is empty", row=line)
        if len(row) >= 4 and row[3].strip():
            loc = _locale(path, line, row[3], "target_lang")
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


# --- TBX -----------------------------------------------------------------------------


class _Forbidden(Exception):
    pass


class _El:
    __slots__ = ("tag", "attrib", "children", "text", "line")

    def __init__(self, tag: str, attrib: dict, line: int):
        self.tag, self.attrib, self.children, self.text, self.line = tag, attrib, [], [], line

    def iter(self, *tags: str) -> Iterator["_El"]:
        if not tags or self.tag in tags:
            yield self
        for c in self.children:
            yield from c.iter(*tags)

    def itertext(self) -> str:
        return "".join(self.text) + "".join(c.itertext() for c in self.children)


def _parse_xml(path: Path, data: bytes) -> _El:
    parser = expat.ParserCreate()
    parser.buffer_text = True
    stack: list[_El] = []
    root: list[_El] = []

    def start(name, attrs):
        el = _El(name.rpartition(":")[2], attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(el)
        stack.append(el)

    def end(name):
        stack.pop()

    def chars(text):
        if stack:
            stack[-1].text.append(text)

    def doctype(name, sysid, pubid, has_internal_subset):
        if has_internal_subset:
            raise _Forbidden("a DOCTYPE with an internal subset")

    def entity(*args):
        raise _Forbidden("ENTITY declarations")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = entity
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except _Forbidden as exc:
        raise InputError(path, f"{exc} are not allowed in a glossary (XML entity attacks)",
                         row=parser.CurrentLineNumber) from None
    except expat.ExpatError as exc:
        raise InputError(path, f"not well-formed XML: {expat.ErrorString(exc.code)}", row=exc.lineno) from None
    return root[0]


def _lang(el: _El) -> str:
    return (el.attrib.get("xml:lang") or el.attrib.get("lang") or "").strip()


def _tbx_terms(path: Path, langset: _El) -> list[tuple[str, str, int]]:
    """(term, status, line) in document order; status "" when not given."""
    out = []
    containers = [c for c in langset.iter("tig", "ntig", "termSec")]
    for box in containers or [langset]:
        terms = list(box.iter("term"))
        if not terms:
            continue
        status = ""
        for note in box.iter("termNote", "descrip"):
            if note.attrib.get("type") in ("administrativeStatus", "normativeAuthorization"):
                status = note.itertext().strip().lower()
        for term in terms if not containers else terms[:1]:
            text = _clean(term.itertext())
            if text:
                out.append((text, status, term.line))
    return out


def _load_tbx(path: Path, data: bytes) -> list[Entry]:
    root = _parse_xml(path, data)
    if root.tag not in ("martif", "tbx"):
        raise InputError(path, f"not a TBX file (root element <{root.tag}>, expected <martif> or <tbx>)", row=root.line)
    root_lang = try_locale(_lang(root)) if _lang(root) else None
    out = _Collector(path, "alternatives")
    for concept in root.iter("termEntry", "conceptEntry"):
        langsets = [c for c in concept.children if c.tag in ("langSet", "langSec")]
        codes = []
        for ls in langsets:
            if not _lang(ls):
                raise InputError(path, f"<{ls.tag}> has no xml:lang", row=ls.line)
            codes.append(_locale(path, ls.line, _lang(ls)))
        if not langsets:
            continue
        languages = [c.split("-")[0] for c in codes]
        if root_lang:
            src = root_lang.split("-")[0]
        else:
            src = "en" if "en" in languages else languages[0]
        sources = [t for ls, lg in zip(langsets, languages) if lg == src for t in _tbx_terms(path, ls)]
        definitions = (d.itertext().strip() for d in concept.iter("descrip") if d.attrib.get("type") == "definition")
        definition = next(definitions, "")
        for ls, code, lg in zip(langsets, codes, languages):
            if lg == src:
                continue
            terms = _tbx_terms(path, ls)
            good = [t for t in terms if not t[1].startswith(_DEPRECATED)]
            good.sort(key=lambda t: not t[1].startswith("preferred"))  # stable: preferred first
            if good and sources:
                (target, _, tline), alts = good[0], tuple(dict.fromkeys(t[0] for t in good[1:] if t[0] != good[0][0]))
                for source, _, _ in sources:
                    entry = Entry(source, target, code, "term", imported_case_sensitive(source), definition,
                                  f"{path}:{tline}", alternatives=alts)
                    out.add(entry, tline)
            for bad, status, bline in terms:
                if status.startswith(_DEPRECATED):
                    hint = f"{status} term; use {good[0][0]!r}" if good else f"{status} term"
                    out.add(Entry(bad, "", code, "ban", False, hint, f"{path}:{bline}"), bline)
    return out.entries
