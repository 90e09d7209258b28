"""Corpus-level reference-based scores, each stored with the sacrebleu signature
that produced it (every setting that changes a number sits next to the number).

Tokenization for BLEU follows what reproduces published tables offline:

    zh        sacrebleu's built-in `zh` tokenizer
    ja        `char`: what WMT23's published en-ja BLEU used (the `ja-mecab`
              default needs MeCab and a dictionary, `flores200` downloads a
              SentencePiece model at run time; neither works offline here)
    ko, th,   `char` (scripts written without spaces between words, or with
    lo, km,   `ko-mecab`/`flores200` unavailable offline)
    my
    others    `13a`, sacrebleu's default

TER gets `normalized` + `asian_support` (character-level CJK) for zh and
the languages above; `norm:` and `asian:` record it. chrF/chrF++ need no
tokenizer. The choice is recorded as `tok:` in each signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from localize.errors import UsageError

METRICS = ("BLEU", "chrF", "chrF++", "TER")
CHAR_TOKENIZED = frozenset({"ja", "ko", "th", "lo", "km", "my"})
HIGHER_IS_BETTER = {"BLEU": True, "chrF": True, "chrF++": True, "TER": False}


@dataclass(frozen=True)
class Score:
    metric: str  # "BLEU", "chrF", "chrF++", "TER"
    score: float
    signature: str  # sacrebleu's, e.g. "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    segments: int

    def as_dict(self) -> dict:
        return {"score": round(self.score, 6), "signature": self.signature, "segments": self.segments}

    def __str__(self) -> str:
        return f"{self.metric}|{self.signature} = {self.score:.2f}"


def bleu_tokenizer(language: str) -> str:
    """sacrebleu tokenizer for BLEU in a target language (a language subtag: "ja", "pt")."""
    if language == "zh":
        return "zh"
    if language in CHAR_TOKENIZED:
        return "char"
    return "13a"


def _metric(name: str, language: str):
    from sacrebleu.metrics import BLEU, CHRF, TER

    if name == "BLEU":
        return BLEU(tokenize=bleu_tokenizer(language))
    if name == "chrF":
        return CHRF()
    if name == "chrF++":
        return CHRF(word_order=2)
    if name == "TER":
        # asian_support splits CJK characters, but only together with normalized=True (sacrebleu's rule).
        cjk = language in CHAR_TOKENIZED or language == "zh"
        return TER(normalized=cjk, asian_support=cjk)
    raise UsageError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")


def corpus_scores(
    hypotheses: Sequence[str], references: Sequence[str], language: str, metrics: Sequence[str] = METRICS
) -> dict[str, Score]:
    """One reference per hypothesis, aligned by position. Returns {metric: Score}."""
    return scores_with_sentence_chrf(hypotheses, references, language, metrics)[0]


def scores_with_sentence_chrf(
    hypotheses: Sequence[str], references: Sequence[str], language: str, metrics: Sequence[str] = METRICS
) -> tuple[dict[str, Score], list[float] | None]:
    """Corpus scores, plus each segment's chrF (to rank the worst rows) when chrF is asked for.

    Sentence chrF comes from the same pass as corpus chrF (sacrebleu's
    per-sentence statistics), so ranking rows costs no second scoring.
    Sentence scores are never aggregated into a corpus number.
    """
    if len(hypotheses) != len(references):
        raise UsageError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    hyps, refs = list(hypotheses), [list(references)]  # sacrebleu: a list of reference *streams*
    out, sentence = {}, None
    for name in metrics:
        metric = _metric(name, language)
        if name == "chrF":
            result, sentence = _chrf_with_sentences(metric, hyps, refs)
        else:
            result = metric.corpus_score(hyps, refs)
        out[name] = Score(name, float(result.score), str(metric.get_signature()), len(hyps))
    return out, sentence


def _chrf_with_sentences(metric, hyps: list[str], refs: list[list[str]]):
    try:  # sacrebleu internals, stable since 2.0; corpus_score does exactly this
        stats = metric._extract_corpus_statistics(hyps, refs)
        corpus = metric._aggregate_and_compute(stats)
        return corpus, [float(metric._compute_score_from_stats(s).score) for s in stats]
    except AttributeError:  # a sacrebleu that moved them: two passes, same numbers
        corpus = metric.corpus_score(hyps, refs)
        return corpus, [float(metric.sentence_score(h, [r]).score) for h, r in zip(hyps, refs[0])]
