"""`localize glossary check`: what a glossary holds, in a few lines."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

from localize.glossary.formats import FORMAT_NAMES, load_glossary, merge_glossaries
from localize.glossary.model import KINDS, Entry, Glossary

EXAMPLES = 3


def _example(e: Entry) -> str:
    where = e.locale or "*"
    if e.kind == "term":
        alts = f" (or {', '.join(repr(a) for a in e.alternatives)})" if e.alternatives else ""
        body = f"{e.source!r} -> {e.target!r}{alts}"
    else:
        body = repr(e.source)
    return f"    {e.kind:4} {where:6} {body}  [{e.origin}]"


def describe(g: Glossary, title: str) -> list[str]:
    lines = [f"{title}: {FORMAT_NAMES.get(g.format, g.format)}, {len(g)} entr{'y' if len(g) == 1 else 'ies'}"]
    by_kind = {k: Counter(e.locale or "*" for e in g.entries if e.kind == k) for k in KINDS}
    for kind in KINDS:
        counts = by_kind[kind]
        if counts:
            parts = ", ".join(f"{loc} {n}" for loc, n in sorted(counts.items(), key=lambda x: (x[0] != "*", x[0])))
            lines.append(f"  {kind:4}  {sum(counts.values()):5}  ({parts})")
    if g.entries:
        lines.append("  e.g.")
        for kind in KINDS:
            lines += [_example(e) for e in [e for e in g.entries if e.kind == kind][:EXAMPLES]]
        lines.append(f"  fingerprint {g.fingerprint()[:16]}")
    return lines


def check_files(paths: Sequence[Path]) -> str:
    """Load each file (InputError on the first problem), then merge them as
    `--glossary` would (cross-file conflicts), and describe the result."""
    loaded = [load_glossary(p) for p in paths]
    lines: list[str] = []
    for path, g in zip(paths, loaded):
        lines += describe(g, str(path))
    if len(loaded) > 1:
        merged = merge_glossaries(loaded)
        lines.append(f"together: {len(merged)} entries after merging, fingerprint {merged.fingerprint()[:16]}")
    return "\n".join(lines) + "\n"
