"""Versioned prompt templates (prompts/<kind>.v<N>.toml) rendered to chat messages.

Message order is fixed for prefix caching: the system rules (identical for
every row and locale) come first, then the worked example for the language,
then the row's text, and the locale instruction last.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Sequence

from localize.errors import LocalizeError
from localize.text.locales import Locale

KINDS = ("title", "html", "text", "label")
_NAME = re.compile(r"^(?P<kind>[a-z]+)\.v(?P<version>\d+)\.toml$")


def prompts_dir() -> Path:
    """Installed wheels carry the templates inside the package; a source checkout has them at the top."""
    packaged = Path(__file__).resolve().parents[1] / "_data" / "prompts"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "prompts"


@dataclass(frozen=True)
class PromptTemplate:
    kind: str
    version: int
    system: str
    user: str
    limit: str
    shorten: str  # repair request when an output is over the market limit ("" = no repair)
    terms: str  # sentence naming the glossary's mandated translations for this piece
    placeholders: str  # sentence asking to copy masked keep-terms unchanged
    repair: str  # repair request listing glossary fixes
    example_source: str | None
    examples: dict[str, str]  # language code -> worked rewrite

    @property
    def id(self) -> str:
        return f"{self.kind}.v{self.version}"

    def messages(
        self,
        source: str,
        locale: Locale,
        max_chars: int | None = None,
        *,
        terms: Sequence[tuple[str, str]] = (),
        placeholders: Sequence[str] = (),
        example: bool = True,
    ) -> tuple[dict, ...]:
        """The chat for one piece. `example=False` leaves the worked example out:
        the retry of an answer that copied from it (its "420D nylon" in a yoga
        mat's page) must not be shown it again."""
        limit = self.limit.format(max_chars=max_chars) if max_chars and self.limit else ""
        if terms and self.terms:
            limit += self.terms.format(terms="; ".join(f'"{s}" -> "{t}"' for s, t in terms))
        if placeholders and self.placeholders:
            limit += self.placeholders.format(placeholders=", ".join(placeholders))
        msgs = [{"role": "system", "content": self.system}]
        worked = self.examples.get(locale.code) or self.examples.get(locale.language)
        if example and self.example_source and worked:
            msgs.append({"role": "user", "content": self._user(self.example_source, locale, "")})
            msgs.append({"role": "assistant", "content": worked})
        msgs.append({"role": "user", "content": self._user(source, locale, limit)})
        return tuple(msgs)

    def shorten_messages(
        self, first: tuple[dict, ...], output: str, locale: Locale, max_chars: int
    ) -> tuple[dict, ...]:
        """The first conversation, its too-long answer, and a request to shorten it."""
        ask = self.shorten.format(length=len(output), max_chars=max_chars, language=locale.name)
        return (*first, {"role": "assistant", "content": output}, {"role": "user", "content": ask})

    def repair_messages(self, first: tuple[dict, ...], output: str, fixes: Sequence[str]) -> tuple[dict, ...]:
        """The first conversation, its answer, and the glossary fixes it needs."""
        ask = self.repair.format(fixes=" ".join(fixes))
        return (*first, {"role": "assistant", "content": output}, {"role": "user", "content": ask})

    def _user(self, source: str, locale: Locale, limit: str) -> str:
        # str.format fills the template once; braces inside the product text are never re-read.
        return self.user.format(source=source, language=f"{locale.name} ({locale.code})", limit=limit)


def _load(path: Path) -> PromptTemplate:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        examples = dict(data.get("examples", {}))
        return PromptTemplate(
            kind=data["kind"],
            version=int(data["version"]),
            system=data["system"].strip(),
            user=data["user"].strip(),
            limit=data.get("limit", ""),
            shorten=data.get("shorten", ""),
            terms=data.get("terms", ""),
            placeholders=data.get("placeholders", ""),
            repair=data.get("repair", ""),
            example_source=examples.pop("source", None),
            examples={k: v for k, v in examples.items()},
        )
    except (tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
        raise LocalizeError(f"{path}: invalid prompt template: {exc}") from exc


@cache
def load_templates(directory: Path | None = None) -> dict[str, PromptTemplate]:
    """The newest version of each kind."""
    directory = directory or prompts_dir()
    found: dict[str, PromptTemplate] = {}
    for path in sorted(directory.glob("*.toml")):
        m = _NAME.match(path.name)
        if not m:
            continue
        tpl = _load(path)
        if (tpl.kind, tpl.version) != (m["kind"], int(m["version"])):
            raise LocalizeError(f"{path}: kind/version inside ({tpl.id}) differ from the file name")
        if tpl.kind not in found or tpl.version > found[tpl.kind].version:
            found[tpl.kind] = tpl
    missing = [k for k in KINDS if k not in found]
    if missing:
        raise LocalizeError(f"{directory}: no prompt template for {', '.join(missing)}")
    return found


@dataclass(frozen=True)
class Telltale:
    source: re.Pattern  # the worked example's words; any of them in a product's text explains a rewrite
    rewrites: re.Pattern  # how the examples render them


def _word_start(words: Sequence[str]) -> re.Pattern:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w.casefold()) for w in words) + ")")


@cache
def load_telltales(directory: Path | None = None) -> tuple[Telltale, ...]:
    """prompts/examples.telltales.toml: the words that show a worked example was copied."""
    path = (directory or prompts_dir()) / "examples.telltales.toml"
    if not path.is_file():
        return ()
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("telltale", [])
        return tuple(Telltale(_word_start(e["source"]), _word_start(e["rewrites"])) for e in entries)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise LocalizeError(f"{path}: invalid telltale list: {exc}") from exc


@cache
def _any_rewrite(telltales: tuple[Telltale, ...]) -> re.Pattern:
    return re.compile("|".join(t.rewrites.pattern for t in telltales) or "(?!)")


def copied_example(output: str, source: str, telltales: Sequence[Telltale] | None = None) -> list[str]:
    """The worked example's words in `output` that its `source` does not explain
    ("mochila" in a yoga mat's text); empty when none. Runs on every answer,
    so one pass finds whether any rewrite is there at all."""
    telltales = load_telltales() if telltales is None else tuple(telltales)
    out = output.casefold()
    if not _any_rewrite(telltales).search(out):
        return []
    src = source.casefold()
    found = []
    for t in telltales:
        if t.source.search(src):
            continue
        found += [m.group(0) for m in t.rewrites.finditer(out)]  # casefolded: "mochila"
    return list(dict.fromkeys(found))
