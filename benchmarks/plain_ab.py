"""A/B: localize's whole pipeline against a plain one-line translation prompt,
same engine and model, on held-out parallel text; corpus chrF for both.

    python benchmarks/plain_ab.py --src EN_FILE --ref REF_FILE --locale fr --count 20 --skip 300

Held-out: pick lines the prompts were never tuned on (the default skips the
first 300, which earlier A/Bs may have looked at). The plain system sends
"Translate the user's text from English to <language>. Reply with the
translation only." with the text as the user turn; localize runs a generic
feed whose one column (`description`) holds the same texts, with no store.
Pre-tokenized corpora (IKEA: "you ’ re", "spaces .") are detokenized first,
sources and references alike, so neither system is scored on tokenization.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
from pathlib import Path

import sacrebleu

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localize.backends import GenerationRequest, create_backend  # noqa: E402
from localize.pipeline.run import RunOptions, run  # noqa: E402
from localize.text.cleanup import clean_output  # noqa: E402
from localize.text.locales import parse_locale  # noqa: E402

LANGUAGE = {"es": "Spanish", "fr": "French", "de": "German", "tr": "Turkish", "it": "Italian"}


def detokenize(line: str) -> str:
    line = re.sub(r" ?([’']) ?", r"\1", line.strip())
    return re.sub(r" ([.,;:!?)%])", r"\1", line).replace("( ", "(")


def read_pairs(src: Path, ref: Path, skip: int, count: int) -> tuple[list[str], list[str]]:
    sources = src.read_text(encoding="utf-8").splitlines()[skip:skip + count]
    refs = ref.read_text(encoding="utf-8").splitlines()[skip:skip + count]
    return [detokenize(s) for s in sources], [detokenize(r) for r in refs]


def plain(sources: list[str], locale: str, backend) -> list[str]:
    system = f"Translate the user's text from English to {LANGUAGE[locale]}. Reply with the translation only."
    requests = [GenerationRequest(messages=({"role": "system", "content": system}, {"role": "user", "content": s}),
                                  max_tokens=min(4096, 48 + int(len(s) * 0.75))) for s in sources]
    return [clean_output(g.text or "", s, "text") for g, s in zip(backend.generate(requests), sources)]


def with_localize(sources: list[str], locale: str, backend) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "feed.csv"
        with open(catalog, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["id", "description"], *([str(i), s] for i, s in enumerate(sources))])
        out = Path(tmp) / "feed.out.csv"
        run(RunOptions(input=catalog, locales=[parse_locale(locale)], output=out, quiet=True, store=None),
            backend=backend)
        with open(out, newline="", encoding="utf-8") as f:
            return [row[f"description_{locale}"] for row in csv.DictReader(f)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--ref", type=Path, required=True)
    ap.add_argument("--locale", required=True, choices=sorted(LANGUAGE))
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--skip", type=int, default=300)
    ap.add_argument("--backend", default="embedded")
    ap.add_argument("--model")
    args = ap.parse_args()
    sources, refs = read_pairs(args.src, args.ref, args.skip, args.count)
    backend = create_backend(args.backend, model=args.model)
    backend.load()
    try:
        scores = {name: sacrebleu.corpus_chrf(system(sources, args.locale, backend), [refs]).score
                  for name, system in (("plain", plain), ("localize", with_localize))}
    finally:
        backend.close()
    result = {"locale": args.locale, "segments": len(sources), "corpus": args.src.parent.name,
              "chrF": {k: round(v, 1) for k, v in scores.items()}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
