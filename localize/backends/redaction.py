"""API keys: where they come from, and how they are kept out of everything written.

Keys come from the environment only, never a command-line option (argv is
visible to every user in `ps` and lands in shell history and CI logs). Not
OPENAI_API_KEY: a real OpenAI key would be sent to whatever endpoint is
configured. VLLM_API_KEY is what `vllm serve` itself reads for --api-key.

A server or gateway may echo the request's headers in any answer (an error
body, an HTML page, even a 200 whose content repeats them), so every text that
came from a server is redacted where the backend turns it into an error or a
text, and again where a file or a terminal line is written. Redact before
truncating: a key cut in half by `text[:200]` no longer matches and half of it
would be written.
"""

from __future__ import annotations

import functools
import json
import os
import urllib.parse
from typing import Iterable

API_KEY_VARS = ("LOCALIZE_API_KEY", "VLLM_API_KEY")
MASK = "***"
# Shorter "keys" would mangle ordinary words; no real key is that short.
_MIN_KEY_CHARS = 4
# A text ending in this many first characters of a key ends in a cut key; fewer
# could be chance ("sk-" ends many words of nothing).
_MIN_CUT_CHARS = 6


def resolve_api_key(explicit: str | None) -> str | None:
    """The key to send: `explicit` when given ("" means none), else the first set variable."""
    if explicit is not None:
        return explicit or None
    return next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)


def environment_keys() -> list[str]:
    return [os.environ[v] for v in API_KEY_VARS if len(os.environ.get(v, "")) >= _MIN_KEY_CHARS]


@functools.lru_cache(maxsize=16)  # the same one or two keys, for every answer of a run
def _spellings(key: str) -> frozenset[str]:
    """The forms a key takes when a server echoes it: as is, JSON-escaped (with
    and without \\u escapes), as Python writes it in a repr of str or bytes,
    and percent-encoded."""
    forms = {
        key,
        json.dumps(key)[1:-1],
        json.dumps(key, ensure_ascii=False)[1:-1],
        repr(key)[1:-1],
        urllib.parse.quote(key, safe=""),
    }
    try:
        forms.add(repr(key.encode("utf-8"))[2:-1])
    except UnicodeEncodeError:  # a key with a lone surrogate cannot even be sent
        pass
    return frozenset(f for f in forms if len(f) >= _MIN_KEY_CHARS)


def redact(text: str, keys: Iterable[str | None] = ()) -> str:
    """`text` with every key (the given ones and those in the environment), in
    every spelling `_spellings` knows, replaced by ***."""
    if not isinstance(text, str):
        text = str(text)
    wanted = {k for k in (*keys, *environment_keys()) if k and len(k) >= _MIN_KEY_CHARS}
    forms = sorted({f for k in wanted for f in _spellings(k)}, key=len, reverse=True)
    # Longest first: a key that contains another key is masked whole.
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    for form in forms:
        text = _mask_cut_key(text, form)
    return text


def _mask_cut_key(text: str, form: str) -> str:
    """A text that ends in the first characters of a key (a server that cut its
    echo short, or a caller that cut before redacting) ends in *** instead."""
    for n in range(len(form) - 1, _MIN_CUT_CHARS - 1, -1):
        if text.endswith(form[:n]):
            return text[: len(text) - n] + MASK
    return text


def redact_api_keys(text: str) -> str:
    """`text` with every API key from the environment replaced by ***."""
    return redact(text)
