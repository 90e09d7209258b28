"""TBX glossaries: TBX-Basic / TBX v2 (`<martif>`, `<termEntry><langSet><tig><term>`)
and TBX v3 (`<tbx>`, `<conceptEntry><langSec><termSec><term>`), read with expat
so that no DOCTYPE internal subset or ENTITY declaration is ever expanded."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator
from xml.parsers import expat

from localize.errors import InputError
from localize.glossary.formats.common import Collector, clean, imported_case_sensitive, parse_locale_cell, try_locale
from localize.glossary.model import Entry

# administrativeStatus / normativeAuthorization values that make a term a ban entry.
_DEPRECATED = ("deprecated", "superseded")


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
            text = clean(term.itertext())
            if text:
                out.append((text, status, term.line))
    return out


def load_tbx(path: Path, data: bytes) -> list[Entry]:
    root = _parse_xml(path, data)
    if root.tag not in ("martif", "tbx"):
        raise InputError(path, f"not a TBX file (root element <{root.tag}>, expected <martif> or <tbx>)", row=root.line)
    root_lang = try_locale(_lang(root)) if _lang(root) else None
    out = Collector(path, "alternatives")
    for concept in root.iter("termEntry", "conceptEntry"):
        langsets = [c for c in concept.children if c.tag in ("langSet", "langSec")]
        codes = []
        for ls in langsets:
            if not _lang(ls):
                raise InputError(path, f"<{ls.tag}> has no xml:lang", row=ls.line)
            codes.append(parse_locale_cell(path, ls.line, _lang(ls)))
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
