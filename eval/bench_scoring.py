"""How long scoring takes, so it never dominates a run.

    .venv/bin/python eval/bench_scoring.py            # 100,000 segments
    .venv/bin/python eval/bench_scoring.py --segments 20000

Synthetic product-title-like segments (12-24 words, deterministic seed); each
hypothesis is its reference with ~20% of words replaced or dropped. Times
corpus BLEU and chrF (the gated metrics) on every segment, chrF++ and TER
on a sample (TER's shift search is far slower), and the per-row
reference-free checks including language identification. Not a test: it
prints numbers.
"""

from __future__ import annotations

import argparse
import random
import time


def synthetic(n: int, seed: int = 7) -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(seed)
    vocab = ("camiseta algodón orgánico manga corta cuello redondo hombre mujer talla color negro blanco azul "
             "suave transpirable lavable máquina envío gratis pack unidades bolsillo cremallera impermeable "
             "chaqueta ligera invierno verano deportiva ajustable elástico resistente garantía años nuevo "
             "modelo edición limitada diseño clásico moderno cómodo ideal para regalo").split()
    refs, hyps, srcs = [], [], []
    for _ in range(n):
        words = [rng.choice(vocab) for _ in range(rng.randint(12, 24))]
        words.insert(rng.randrange(len(words)), f"{rng.randint(1, 500)} g")
        ref = " ".join(words).capitalize()
        out = [w if rng.random() > 0.2 else rng.choice(vocab) for w in words if rng.random() > 0.03]
        refs.append(ref)
        hyps.append(" ".join(out).capitalize())
        srcs.append(ref)  # the checks only need a source with the same numbers
    return hyps, refs, srcs


def timed(label: str, fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    print(f"{label:34} {n:>8,} segments {took:8.2f} s  ({n / took:,.0f} segments/s)")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000, help="segments for chrF++, TER and the checks")
    args = parser.parse_args()

    import sacrebleu

    from localize.eval.checks import Row, run_checks
    from localize.checks.langid import get_identifier
    from localize.eval.scores import corpus_scores

    hyps, refs, srcs = synthetic(args.segments)
    print(f"sacrebleu {sacrebleu.__version__}; {args.segments:,} segments, "
          f"{sum(len(r) for r in refs) / len(refs):.0f} characters each on average")
    timed("corpus BLEU (tok 13a)", lambda: corpus_scores(hyps, refs, "es", ["BLEU"]), len(hyps))
    timed("corpus BLEU (tok char, ja/ko)", lambda: corpus_scores(hyps, refs, "ja", ["BLEU"]), len(hyps))
    timed("corpus chrF", lambda: corpus_scores(hyps, refs, "es", ["chrF"]), len(hyps))
    k = min(args.sample, len(hyps))
    timed("corpus chrF++", lambda: corpus_scores(hyps[:k], refs[:k], "es", ["chrF++"]), k)
    timed("corpus TER", lambda: corpus_scores(hyps[:k], refs[:k], "es", ["TER"]), k)
    get_identifier()  # model load (~0.5 s) is not per row
    rows = [Row(str(i), "es", "es", "title", s, h, r) for i, (s, h, r) in enumerate(zip(srcs[:k], hyps[:k], refs[:k]))]
    timed("checks incl. language id", lambda: run_checks(rows, get_identifier()), k)


if __name__ == "__main__":
    main()
