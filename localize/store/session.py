"""The store as one run sees it: which key a text has, lookups and saves per batch.

A text's key is the sha256 of a canonical JSON of everything that decides it:

  source piece, field kind, length limit, locale          (the request)
  model identity (Backend.model_id) and sampling settings  (the engine)
  prompt template id and a hash of its whole content       (the prompt, repair turns included)
  glossary entries that apply to the locale                (masking, terms, bans, repairs)
  market profile name                                      (with the limit above)
  KEY_VERSION                                              (the pipeline's own rules)

Change any of them and the text is generated again; nothing else is. A store
that fails mid-run (disk full, damaged file) is dropped with one warning and
the run goes on without it: a cache must never cost a catalog.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Callable, Iterable, NamedTuple, Sequence

from localize.backends.base import GenerationRequest
from localize.backends.redaction import redact_api_keys
from localize.store.store import Record, Stored, StoreError, TranslationStore
from localize.text.unprintable import writable

# Bump when the same request would now give a different final text: cleanup
# rules, repair rounds, max_tokens, keep-term restoration. Old entries then
# stop matching (and can be removed with `localize cache clear --older-than`).
KEY_VERSION = 2  # 2: control characters cleaned from answers; a cut answer gets a round with more room

# The sampling settings every request is sent with (GenerationRequest's defaults).
SAMPLING = {"temperature": GenerationRequest.temperature, "repeat_penalty": GenerationRequest.repeat_penalty}



class SegmentKey(NamedTuple):
    """One piece of one cell as the engine is asked for it, and the store's key
    for its text (with the engine, prompts, glossary and market of the session).

    Defined here, below the pipeline that makes these keys, so the store never
    imports the pipeline. A plain 4-tuple in this order works wherever a key does.
    """

    kind: str  # the prompt kind: title, label, text, html
    limit: int | None  # the market's length limit for the piece (None: none, or a piece of a page)
    locale: str  # the target locale's code
    text: str  # the source piece, stripped


def template_fingerprint(template) -> str:
    """sha256 of a prompt template's whole content: editing a prompt file
    without bumping its version still changes the key."""
    body = json.dumps(dataclasses.asdict(template), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def glossary_fingerprint(glossary, locale: str) -> str:
    """The entries that apply to `locale` only: adding a Turkish term does not
    invalidate Spanish texts. "" without a glossary."""
    if glossary is None or len(glossary) == 0:
        return ""
    from localize.glossary.model import Glossary

    view = glossary.for_locale(locale)
    if not view:
        return ""
    return Glossary([*view.keep, *view.terms, *view.bans]).fingerprint()


class StoreSession:
    def __init__(
        self,
        store: TranslationStore,
        *,
        model_id: str,
        templates: dict,
        market_name: str,
        glossary=None,
        warn: Callable[[str], None] | None = None,
    ):
        self.store: TranslationStore | None = store
        self.model_id = model_id
        self.market_name = market_name
        self.glossary = glossary
        self.warn = warn or (lambda message: None)
        self._templates = {kind: [t.id, template_fingerprint(t)] for kind, t in templates.items()}
        self._glossary: dict[str, str] = {}

    @property
    def active(self) -> bool:
        return self.store is not None

    def digest(self, key: SegmentKey) -> bytes:
        kind, max_chars, locale, piece = key  # unpacked, so plain tuples keep their digests
        if locale not in self._glossary:
            self._glossary[locale] = glossary_fingerprint(self.glossary, locale)
        canonical = json.dumps(
            {
                "v": KEY_VERSION,
                "source": piece,
                "kind": kind,
                "max_chars": max_chars,
                "locale": locale,
                "model": self.model_id,
                "sampling": SAMPLING,
                "template": self._templates.get(kind),
                "glossary": self._glossary[locale],
                "market": self.market_name,
            },
            sort_keys=True, ensure_ascii=False, separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).digest()

    def lookup(self, keys: Sequence[SegmentKey]) -> dict[SegmentKey, Stored]:
        """The texts of `keys` found in the store."""
        if self.store is None or not keys:
            return {}
        digests = {self.digest(k): k for k in keys}
        try:
            found = self.store.get_many(list(digests))
        except StoreError as exc:
            self._give_up(exc)
            return {}
        # A text some output cannot hold (an older localize stored U+FFFF from a model)
        # is generated again rather than failing every rerun the same way.
        return {digests[d]: stored for d, stored in found.items() if _keepable(stored)}

    def save(self, items: Iterable[tuple[SegmentKey, Stored]]) -> None:
        """One batch's new texts in one transaction (failed generations never come here)."""
        if self.store is None:
            return
        keys = ((SegmentKey(*k), stored) for k, stored in items)  # plain 4-tuples too
        records = [
            Record(self.digest(k), _without_secrets(stored), self.model_id, k.locale, k.kind)
            for k, stored in keys if _keepable(stored)
        ]
        try:
            self.store.put_many(records)
        except StoreError as exc:
            self._give_up(exc)

    def _give_up(self, exc: StoreError) -> None:
        self.warn(f"localize: warning: {exc}; the run goes on without the translation store")
        self.store = None


def _keepable(stored: Stored) -> bool:
    """Never store (nor serve) a text that some output format cannot write."""
    return writable(stored.text) and (stored.raw is None or writable(stored.raw))


def _without_secrets(stored: Stored) -> Stored:
    """The store is a file like any output: an API key a server echoed into a
    text never reaches it (the backend redacts already; this is the sink's own guard)."""
    text, raw = redact_api_keys(stored.text), None if stored.raw is None else redact_api_keys(stored.raw)
    if text == stored.text and raw == stored.raw:
        return stored
    return dataclasses.replace(stored, text=text, raw=raw)
