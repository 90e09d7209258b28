"""What every glossary reader shares: text and locale clean-up, true/false
cells, CSV decoding and records, and the per-file conflict rules (`Collector`)."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from localize.errors import InputError, UsageError
from localize.glossary.model import Entry
from localize.text.locales import parse_locale

TRUE_WORDS = {"true", "yes", "y", "1", "t", "x"}
FALSE_WORDS = {"false", "no", "n", "0", "f"}


def clean(text: str) -> str:
    """NFC, and every run of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def normalize_code(text: str) -> str:
    code = text.strip().replace("_", "-")
    # TICO-19/FLORES write "es_XX" for "Spanish, no particular region".
    return re.sub(r"-(?:XX|xx)$", "", code)


def try_locale(text: str) -> str | None:
    """The locale code a header or cell names, or None when it names none."""
    try:
        return parse_locale(normalize_code(text)).code if text.strip() else None
    except UsageError:
        return None


def parse_locale_cell(path, line: int | None, text: str, column: str | None = None) -> str:
    """A locale the file must name correctly: InputError at its line otherwise."""
    try:
        return parse_locale(normalize_code(text)).code
    except UsageError as exc:
        raise InputError(path, str(exc), row=line, column=column) from None


def imported_case_sensitive(source: str) -> bool:
    """Acronyms and brand-like casing (AIDS, COVID-19, iPhone, GripTec)."""
    if " " in source:
        return False
    return sum(c.isupper() for c in source) >= 2 or re.search(r"[a-z][A-Z]", source) is not None


def parse_bool(path, line: int, column: str, text: str, default: bool) -> bool:
    t = text.strip().lower()
    if not t:
        return default
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    raise InputError(path, f"{text.strip()!r} is not true or false", row=line, column=column)


def what_it_says(e: Entry) -> str:
    if e.kind == "keep":
        return "keep it unchanged"
    return f"translate it as {e.target!r}"


def where_it_applies(e: Entry) -> str:
    return f"locale {e.locale}" if e.locale else "every locale"


class Collector:
    """Entries of one file, with conflict detection (the rules are in
    `localize.glossary.formats`' docstring, "Conflicts").

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
            f"conflicting entries for {entry.source!r} ({where_it_applies(entry)}): "
            f"line {old.line} says {what_it_says(old)}, line {line} says {what_it_says(entry)}",
            row=line,
        )


def decode_text(path: Path, data: bytes) -> str:
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


def sniff_delimiter(path: Path, text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    if path.suffix.lower() == ".tsv" or "\t" in first:
        return "\t"
    if "," not in first and ";" in first:
        return ";"
    return ","


def csv_records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for every record; blank lines come as []."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    prev = 0
    try:
        for row in reader:
            yield prev + 1, row
            prev = reader.line_num
    except csv.Error as exc:
        raise InputError(path, f"malformed CSV: {exc}", row=prev + 1) from None


def is_blank(row: list[str]) -> bool:
    return not any(c.strip() for c in row)


def check_width(path, line: int, row: list[str], width: int) -> None:
    if len(row) != width:
        raise InputError(
            path,
            f"malformed row: {len(row)} field(s) where the header has {width} "
            "(quote a field that contains the delimiter)",
            row=line,
        )

