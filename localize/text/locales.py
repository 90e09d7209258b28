"""Locale codes the tool accepts, with the names we put in prompts.

A locale is a language subtag, optionally with a region (es-MX, pt-BR) or a
script (zh-Hant). Prompts name the language in English because instruction-tuned
models follow English instructions best.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from localize.errors import UsageError

LANGUAGES = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech",
    "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "et": "Estonian", "fa": "Persian", "fi": "Finnish", "fil": "Filipino", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian",
    "ms": "Malay", "nb": "Norwegian Bokmål", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian",
    "sr": "Serbian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "th": "Thai",
    "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}

REGIONS = {
    "AR": "Argentina", "AT": "Austria", "AU": "Australia", "BE": "Belgium", "BR": "Brazil",
    "CA": "Canada", "CH": "Switzerland", "CL": "Chile", "CN": "China", "CO": "Colombia",
    "DE": "Germany", "ES": "Spain", "FR": "France", "GB": "United Kingdom", "HK": "Hong Kong",
    "IE": "Ireland", "IN": "India", "IT": "Italy", "JP": "Japan", "KR": "South Korea",
    "MX": "Mexico", "NL": "Netherlands", "NZ": "New Zealand", "PE": "Peru", "PT": "Portugal",
    "SA": "Saudi Arabia", "SG": "Singapore", "TR": "Turkey", "TW": "Taiwan", "US": "United States",
    "AE": "United Arab Emirates", "419": "Latin America",
}

SCRIPTS = {"Hans": "Simplified", "Hant": "Traditional", "Latn": "Latin", "Cyrl": "Cyrillic"}

_CODE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?$")


@dataclass(frozen=True)
class Locale:
    code: str  # normalized: "es", "pt-BR", "zh-Hant"
    language: str  # "es"
    name: str  # "Spanish", "Portuguese (Brazil)", "Chinese (Traditional)"

    def __str__(self) -> str:
        return self.code


def parse_locale(text: str) -> Locale:
    raw = text.strip()
    m = _CODE.match(raw)
    lang = m.group(1).lower() if m else ""
    if not m or lang not in LANGUAGES:
        hint = difflib.get_close_matches(raw.lower(), LANGUAGES, n=1)
        by_name = [c for c, n in LANGUAGES.items() if n.lower() == raw.lower()]
        suggestion = by_name or hint
        extra = f" (did you mean {suggestion[0]!r}?)" if suggestion else ""
        raise UsageError(f"unknown locale code {raw!r}{extra}; use codes like es, fr, tr, pt-BR")
    script = m.group(2).title() if m.group(2) else None
    region = m.group(3).upper() if m.group(3) else None
    if script and script not in SCRIPTS:
        raise UsageError(f"unknown script {m.group(2)!r} in locale {raw!r}")
    if region and region not in REGIONS:
        raise UsageError(f"unknown region {m.group(3)!r} in locale {raw!r}")
    code = "-".join(p for p in (lang, script, region) if p)
    qualifiers = [q for q in (SCRIPTS.get(script or ""), REGIONS.get(region or "")) if q]
    name = LANGUAGES[lang] + (f" ({', '.join(qualifiers)})" if qualifiers else "")
    return Locale(code, lang, name)


def parse_locales(text: str) -> list[Locale]:
    """`es,fr,tr` -> three Locales, in order, without duplicates."""
    parts = [p for p in re.split(r"[,\s]+", text) if p]
    if not parts:
        raise UsageError("no target locale given; use --to es,fr,tr")
    seen: dict[str, Locale] = {}
    for part in parts:
        loc = parse_locale(part)
        seen.setdefault(loc.code, loc)
    return list(seen.values())
