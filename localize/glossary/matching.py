"""Checking outputs against the glossary: mandated terms realized, banned
words absent, kept terms intact.

Normalization. Both the output and the expected text are NFKC-normalized
(full-width letters, ligatures, no-break and narrow spaces become their plain
forms) and typographic apostrophes and hyphens are unified (’ ʼ ‘ → ', ‐ ‑ → -).
Accents are significant: "imperméable" is not realized by "impermeable" —
a missing accent is a real spelling error in French, Spanish or Turkish.

Case. Unless the entry is case-sensitive, both sides are case-folded for the
locale: Turkish and Azerbaijani fold I→ı and İ→i (so "ILIK" is "ılık", and
"İstanbul" is "istanbul"), other locales use Unicode full case folding
(ß→ss, final sigma). Case-sensitive entries compare exactly (after NFKC).

Boundaries. A match must start and end at word boundaries, defined as in
`localize.glossary.scan`: letters of scripts without spaces (Chinese,
Japanese, Korean, Thai, ...) never block, so those match as substrings.
Between words of a multi-word term any run of spaces, or a hyphen, is
accepted ("best seller" = "best-seller"); around punctuation, optional spaces
("100%" = "100 %", as French typesets it). In HTML only visible text and
translatable attributes are searched, inline tags removed ("<em>lana</em>
merino" realizes "lana merino").

Inflection tolerance, per word of the term, by the locale's language (words
of one or two letters, and words with digits, must match exactly):
  en                      + s / es / 's
  es fr it pt ca          + s / es / x (plural); o/a(+s) endings swap
                          (gender); es "-ón" → "-ones" (accent moves);
                          fr "-al" → "-aux"; it final vowel swap (+ "che/chi");
                          pt "-ão" → "-ões/-ães/-ãos"
  de nl sv da nb no is    word + up to 4 letters, or word minus its last
  ru uk be pl cs sk sl    letter + 1-4 letters (case and plural endings:
  hr sr bg mk lt lv ro el "Jacke" → "Jacken", "куртка" → "куртки");
  ar he fa ur             de also umlauts the last a/o/u/au ("Mantel" →
                          "Mäntel", "Kissenbezug" → "Kissenbezüge")
  tr az fi et hu          word + up to 12 letters (agglutinative suffixes;
                          tr/az also after an apostrophe: "X2'nin"), or word
                          minus its last letter + 1-12 letters; tr/az final
                          p ç t k may soften to b c d ğ/g ("kitap" →
                          "kitabı", "yağmurluk" → "yağmurluğu"); fi/et may
                          also drop two letters (consonant gradation,
                          "takki" → "takin"); hu a/e may lengthen to á/é
  ar                      also a leading clitic/article (و ب ل ك ف ال)
  he                      also one or two leading prefix letters (ה ו ב ל מ ש כ)
  others (ja zh ko th vi id ...)  exact
Compounds: for de nl sv da nb no is fi et hu a case-insensitive mandated term
may also end a compound ("Wolle" is realized by "Merinowolle"); never for
bans, where that would flag innocent words.

Known gaps, on purpose: stem changes inside the word other than the German
umlaut (Slavic fleeting vowels, Finnish gradation beyond two
letters) are not recognized; add the inflected form as an alternative (TBX
synonym) when it matters. The tolerance errs on accepting: a realization
check that fails a correct translation would trigger needless repairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Sequence

from localize.glossary import scan
from localize.glossary.model import Entry

_PUNCT = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "‐": "-", "‑": "-"})
_TURKIC = {"tr", "az"}
ROMANCE = {"es", "fr", "it", "pt", "ca"}
FUSIONAL = {"de", "nl", "sv", "da", "nb", "no", "is", "ru", "uk", "be", "pl", "cs", "sk", "sl", "hr", "sr",
            "bg", "mk", "lt", "lv", "ro", "el", "ar", "he", "fa", "ur"}
AGGLUTINATIVE = {"tr", "az", "fi", "et", "hu"}
COMPOUNDING = {"de", "nl", "sv", "da", "nb", "no", "is", "fi", "et", "hu"}
_L = r"[^\W\d_]"  # one letter
_UNACCENT = str.maketrans("áéíóú", "aeiou")


def language(locale: str) -> str:
    return re.split(r"[-_]", str(locale).strip(), maxsplit=1)[0].lower()


def fold(text: str, lang: str, case_sensitive: bool = False) -> str:
    """NFKC, unified apostrophes/hyphens, and (unless case-sensitive) the
    locale's case folding."""
    t = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    if case_sensitive:
        return t
    if lang in _TURKIC:
        t = t.replace("I", "ı").replace("İ", "i")
    else:
        t = t.replace("İ", "i")
    return unicodedata.normalize("NFC", t.casefold())


def _tokens(expr: str) -> list[tuple[str, str]]:
    """("w", word) / ("s", spaces) / ("p", one punctuation character)."""
    out: list[tuple[str, str]] = []
    for ch in expr:
        kind = "w" if scan.is_word(ch) else "s" if ch.isspace() else "p"
        if kind in ("w", "s") and out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + ch)
        else:
            out.append((kind, ch))
    return out


def _word(w: str, lang: str) -> str:
    e = re.escape
    if len(w) < 3 or not w.isalpha() or any(scan.is_unspaced(c) for c in w):
        return e(w)
    alts: list[str]
    if lang == "en":
        alts = [e(w) + "(?:s|es|'s)?"]
        if w.endswith("y"):
            alts.append(e(w[:-1]) + "ies")
    elif lang in ROMANCE:
        alts = [e(w) + "(?:s|es|x)?"]
        if w[-1] in "oa":
            alts.append(e(w[:-1]) + "[oa]s?")
        if lang == "es" and w[-1] in "ns" and w[-2] in "áéíóú":
            alts.append(e(w[:-2] + w[-2].translate(_UNACCENT) + w[-1]) + "es")
        if lang == "fr" and w.endswith("al"):
            alts.append(e(w[:-2]) + "aux")
        if lang == "it" and w[-1] in "aeio":
            alts.append(e(w[:-1]) + "(?:h[ei]|[aeio])")
        if lang == "pt" and w.endswith("ão"):
            alts.append(e(w[:-2]) + "(?:ões|ães|ãos)")
    elif lang in FUSIONAL:
        alts = [e(w) + _L + "{0,4}"]
        if len(w) >= 4:
            alts.append(e(w[:-1]) + _L + "{1,4}")
        if lang == "de":  # umlaut plurals: Mantel -> Mäntel, Kissenbezug -> Kissenbezüge
            m = re.search(r"(au|a|o|u)(?=[^aouäöü]*$)", w)
            if m:
                umlaut = {"au": "äu", "a": "ä", "o": "ö", "u": "ü"}[m.group(1)]
                alts.append(e(w[: m.start()] + umlaut + w[m.end():]) + _L + "{0,4}")
    elif lang in AGGLUTINATIVE:
        apostrophe = "'?" if lang in _TURKIC else ""
        alts = [e(w) + apostrophe + _L + "{0,12}"]
        if len(w) >= 4:
            alts.append(e(w[:-1]) + _L + "{1,12}")
            if lang in _TURKIC and w[-1] in "pçtk":
                soft = {"p": "b", "ç": "c", "t": "d", "k": "[ğg]"}[w[-1]]
                alts.append(e(w[:-1]) + soft + _L + "{0,12}")
            if lang in ("fi", "et") and len(w) >= 5:
                alts.append(e(w[:-2]) + _L + "{1,12}")
            if lang == "hu" and w[-1] in "ae":
                alts.append(e(w[:-1]) + {"a": "á", "e": "é"}[w[-1]] + _L + "{0,12}")
    else:
        return e(w)
    return "(?:" + "|".join(alts) + ")"


_SPACE = r"(?:\s*-\s*|\s+)"
_PREFIX = {"ar": "(?:و?(?:ال|بال|لل|كال|فال|ب|ل|ك|ف)?)", "he": "[הובלמשכ]{0,2}"}


@lru_cache(maxsize=8192)
def _compile(expr: str, lang: str, relax_left: bool) -> re.Pattern | None:
    """A pattern for the folded expression `expr` (None when it is empty)."""
    toks = _tokens(expr.strip())
    if not toks:
        return None
    block = scan.blocking_pattern()
    parts: list[str] = []
    prev = None
    for kind, tok in toks:
        if kind == "s" or (kind == "p" and tok == "-"):
            if prev != "s":  # a hyphen next to spaces: one separator
                parts.append(_SPACE)
            kind = "s"
        elif kind == "p":
            if prev is not None and prev != "s":
                parts.append(r"\s*")
            parts.append(re.escape(tok))
        else:
            if prev == "p":
                parts.append(r"\s*")
            parts.append(_word(tok, lang))
        prev = kind
    first, last = expr.strip()[0], expr.strip()[-1]
    head = ""
    if scan.blocks(first):
        head = _PREFIX.get(lang, "")
        if not relax_left:
            head = f"(?<!{block})" + head
    tail = f"(?!{block})" if scan.blocks(last) else ""
    return re.compile(head + "".join(parts) + tail)


@lru_cache(maxsize=64)  # the pipeline checks many entries against one output in a row
def _parts(output: str, lang: str, case_sensitive: bool) -> tuple[str, ...]:
    return tuple(fold(p, lang, case_sensitive) for p in scan.visible_parts(output))


def _found(output: str, expr: str, lang: str, case_sensitive: bool, relax_left: bool) -> bool:
    pattern = _compile(fold(expr, lang, case_sensitive), lang, relax_left)
    if pattern is None:
        return False
    return any(pattern.search(p) for p in _parts(output, lang, case_sensitive))


def realized(output: str, entry: Entry, locale: str) -> bool:
    """Is the entry's target (or an alternative; the source for keep entries)
    present in the output? Locale-aware (module docstring)."""
    if not output:
        return False
    lang = language(locale)
    relax = lang in COMPOUNDING and not entry.case_sensitive
    return any(_found(output, t, lang, entry.case_sensitive, relax) for t in entry.renderings if t)


def banned_in(output: str, bans: Sequence[Entry], locale: str) -> list[Entry]:
    """The ban entries found in the output (any case unless the entry is
    case-sensitive; inflected forms too), in the order given."""
    if not output or not bans:
        return []
    lang = language(locale)
    return [b for b in bans if _found(output, b.source, lang, b.case_sensitive, False)]


def _kept_counts(text: str, keep: Sequence[Entry]) -> Counter:
    return Counter((entry, text[s:e]) for s, e, entry in scan.find(text, keep, scan.mask_regions(text)))


def keep_in(source: str, keep: Sequence[Entry]) -> list[Entry]:
    """The keep entries that occur in the source under the masking rules
    (regions, word boundaries, longest match): the denominator for
    `kept_ok`. Unlike a substring test, "Ro" is not found in "Room"."""
    if not keep or not source:
        return []
    found = {entry for (entry, _) in _kept_counts(source, keep)}
    return [e for e in keep if e in found]


def kept_ok(output: str, source: str, keep: Sequence[Entry]) -> list[Entry]:
    """Keep entries that occur fewer times in the output than in the source,
    counting each occurrence byte-exact as written in the source (the same
    regions, boundaries and longest-match rules as masking). Despite the
    name, the list holds the failures: empty means every kept term is intact."""
    if not keep or not source:
        return []
    want = _kept_counts(source, keep)
    if not want:
        return []
    got = _kept_counts(output or "", keep)
    missing: list[Entry] = []
    for (entry, text), n in want.items():
        if got[(entry, text)] < n and entry not in missing:
            missing.append(entry)
    order = {id(e): i for i, e in enumerate(keep)}
    return sorted(missing, key=lambda e: order.get(id(e), 0))
