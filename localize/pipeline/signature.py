"""A run's signature, as sacrebleu records one beside every score: what decided
the texts of an output, in one compact line.

    engine:embedded|model:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf:sha256=8a3f1c|prompts:3f2a1c|glossary:none|market:generic|store:v1

It is printed in the summary, in `--json` and on every row of the report
files, so two outputs can be told apart (another model, an edited prompt, a
new glossary entry) without rerunning anything. The parts are the ones the
translation store keys texts by (localize/store/session.py), so two runs with
the same signature reuse each other's stored texts.
"""

from __future__ import annotations

import hashlib
import re

from localize.store import KEY_VERSION
from localize.store.session import template_fingerprint

SHORT = 6  # hex digits kept of each hash: enough to tell runs apart, short enough to read
_LONG_HEX = re.compile(r"[0-9a-f]{12,}")


def run_signature(*, engine: str, model_id: str, templates: dict, glossary, market: str) -> str:
    parts = {
        "engine": engine,
        "model": _model_label(engine, model_id),
        "prompts": prompts_hash(templates),
        "glossary": glossary.fingerprint()[:SHORT] if glossary is not None and len(glossary) else "none",
        "market": market,
        "store": f"v{KEY_VERSION}",
    }
    return "|".join(f"{name}:{value.replace('|', '/')}" for name, value in parts.items())


def prompts_hash(templates: dict) -> str:
    """One hash over every prompt template's whole content: an edited prompt file changes it."""
    digest = hashlib.sha256()
    for kind in sorted(templates):
        digest.update(f"{kind}={template_fingerprint(templates[kind])}\n".encode())
    return digest.hexdigest()[:SHORT]


def _model_label(engine: str, model_id: str) -> str:
    """The model id without the engine name it repeats, and with its long hashes
    cut short (the id keeps them whole for the store's keys)."""
    label = model_id.removeprefix(f"{engine}:")
    return _LONG_HEX.sub(lambda m: m.group(0)[:SHORT], label)
