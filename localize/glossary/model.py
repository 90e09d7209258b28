"""Glossary entries and the per-locale view the pipeline works with.

Three kinds of entry:
  keep  never translated (brands, product lines, model numbers): masked before
        the model sees the text and restored byte for byte after;
  term  a mandated translation: named in the prompt when its source occurs in
        the piece, and checked in the output;
  ban   a word or claim that must not appear in the output of that locale.

An entry with no locale applies to every locale; a language-only locale ("es")
also applies to its regional variants ("es-MX"). When a keep/term source has
entries at several levels, the most specific wins for that locale: a
`term` for "es-MX" beats one for "es", which beats one for every locale (so a
global keep can be turned into a translation for one market).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Iterator

from localize.errors import UsageError
from localize.glossary import scan
from localize.text.locales import Locale, parse_locale

KINDS = ("keep", "term", "ban")


@dataclass(frozen=True)
class Entry:
    source: str
    target: str  # "" for keep (target = source implied) and for ban
    locale: str | None  # normalized code via parse_locale ("es", "pt-BR"); None = every locale
    kind: str  # "keep" | "term" | "ban"
    case_sensitive: bool
    note: str = ""
    origin: str = ""  # "path:line" for error messages and reports
    # Other acceptable targets (a TBX concept's synonyms, a terminology's
    # senses); `target` is the preferred one, the one named in prompts.
    alternatives: tuple[str, ...] = ()
    # Native format: this entry replaces a conflicting one from an earlier file.
    override: bool = False

    @property
    def rendering(self) -> str:
        """What the output must contain: the target, or the source for keep."""
        return self.source if self.kind == "keep" else self.target

    @property
    def renderings(self) -> tuple[str, ...]:
        return (self.rendering, *self.alternatives)

    def key(self) -> str:
        """Identity of the source for conflicts, de-duplication and the
        most-specific-locale rule: case-insensitive, so a case-sensitive keep
        "Fjell" and a term "fjell" are recognized as the same source."""
        return self.source.casefold()

    @property
    def line(self) -> int | None:
        _, _, tail = self.origin.rpartition(":")
        return int(tail) if tail.isdigit() else None


def _code(locale: str | Locale) -> str:
    if isinstance(locale, Locale):
        return locale.code
    try:
        return parse_locale(str(locale)).code
    except UsageError:
        return str(locale)


def specificity(entry_locale: str | None, code: str) -> int:
    """-1: the entry does not apply to `code`; else higher is more specific."""
    if entry_locale is None:
        return 0
    if code == entry_locale or code.startswith(entry_locale + "-"):
        return entry_locale.count("-") + 1
    return -1


@dataclass(frozen=True)
class LocaleGlossary:
    locale: str
    keep: tuple[Entry, ...] = ()
    terms: tuple[Entry, ...] = ()
    bans: tuple[Entry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.keep or self.terms or self.bans)

    def terms_in(self, source: str) -> list[Entry]:
        """Term entries whose source occurs in this source text, in order of
        first occurrence, each once.

        Word boundaries, case per entry, English plural/possessive accepted
        ("base layer" in "Base Layers"). In HTML only visible text and
        translatable attributes count. Overlapping terms: the longest wins
        ("rain jacket" hides "jacket" inside it). A term inside a keep term
        (masked, so the model never sees it) is not required; a term that
        contains a whole keep term ("DWR finish" around "DWR") still is."""
        if not self.terms or not source:
            return []
        out: list[Entry] = []
        seen: set[Entry] = set()
        for part in scan.visible_parts(source):
            folded = scan.fold1(part)
            kept = [(s, e) for s, e, _ in scan.find(part, self.keep, folded=folded)] if self.keep else []
            cands = [
                c for c in scan.candidates(part, self.terms, suffixes=True, folded=folded)
                if all(c[1] <= ks or c[0] >= ke or (c[0] <= ks and ke <= c[1]) for ks, ke in kept)
            ]
            for _, _, entry in scan.select(cands):
                if entry not in seen:
                    seen.add(entry)
                    out.append(entry)
        return out


class Glossary:
    """Entries loaded from one or more files (see localize.glossary.formats)."""

    def __init__(self, entries: Iterable[Entry] = (), *, format: str = "", paths: Iterable[str] = ()):
        self.entries: list[Entry] = list(entries)
        self.format = format  # "native", "deepl", "multilingual", "tico19", "tbx", "empty", "merged"
        self.paths = tuple(str(p) for p in paths)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"Glossary({len(self.entries)} entries, format={self.format!r})"

    def for_locale(self, locale: str | Locale) -> LocaleGlossary:
        """Entries whose locale is None, equal to `locale`, or its language
        ("es" applies to "es-MX"); per source, the most specific level wins."""
        code = _code(locale)
        best: dict[str, int] = {}
        for e in self.entries:
            if e.kind != "ban":
                sp = specificity(e.locale, code)
                if sp > best.get(e.key(), -1):
                    best[e.key()] = sp
        keep, terms, bans, seen_bans = [], [], [], set()
        for e in self.entries:
            sp = specificity(e.locale, code)
            if sp < 0:
                continue
            if e.kind == "ban":
                if (e.key(), e.case_sensitive) not in seen_bans:
                    seen_bans.add((e.key(), e.case_sensitive))
                    bans.append(e)
            elif sp == best[e.key()]:
                (keep if e.kind == "keep" else terms).append(e)
        return LocaleGlossary(code, tuple(keep), tuple(terms), tuple(bans))

    def locales(self) -> list[str | None]:
        """Distinct entry locales, None (every locale) first."""
        found = {e.locale for e in self.entries}
        return ([None] if None in found else []) + sorted(c for c in found if c is not None)

    def fingerprint(self) -> str:
        """sha256 of the normalized entries, independent of their order and of
        file names and line numbers (a cache key for localized outputs)."""
        rows = sorted(
            json.dumps(
                [e.kind, e.locale or "", e.source, e.target, e.case_sensitive, e.note, list(e.alternatives)],
                ensure_ascii=False,
            )
            for e in self.entries
        )
        return hashlib.sha256(("localize-glossary-v1\n" + "\n".join(rows)).encode("utf-8")).hexdigest()
