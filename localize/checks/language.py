"""Is the output in the target language? One rule, for a run and for `localize eval`.

The output is judged as a whole, or block by block when it is HTML with more
than one block of `min_block_letters` letters (so one paragraph left in
English is found). A judged text that the identifier says is confidently not
in the target (langid.LanguageIdentifier.contradicts) is:

- `untranslated` when it reads as the source's language: a quality problem,
  flagged and published (the `unchanged` check often fires too);
- `wrong_language` when it reads as a third language with probability
  MIN_LANGUAGE_CONFIDENCE or more: what an obeyed "answer in Russian" gives,
  so a run withholds the cell.

The source's language is identified only when the source has `min_letters`
letters; with a shorter source neither is judged (an answer left in the
source's language would otherwise read as a third one). Without any source
(`localize eval --hyp` without `--src`) only `wrong_language` can be found.
"""

from __future__ import annotations

from functools import lru_cache

from localize.checks.pair import Pair, blocks

# Brand-heavy titles that merely confuse the identifier score below 0.6 (measured on 1,080
# embedded-model outputs of examples/catalog.csv); a real paragraph in another language scores above 0.9.
MIN_LANGUAGE_CONFIDENCE = 0.8
_LANGUAGE_SAMPLE = 250


def untranslated(pair: Pair) -> str | None:
    return language_verdict(pair).get("untranslated")


def wrong_language(pair: Pair) -> str | None:
    return language_verdict(pair).get("wrong_language")


def language_verdict(pair: Pair) -> dict[str, str]:
    """{"untranslated" | "wrong_language": detail}, each at most once; empty: in the target language."""
    if pair.identifier is None or pair.empty:
        return {}
    html = pair.html if pair.source is not None else pair.kind == "html"
    return dict(_verdict(pair.output, pair.output_text, pair.source_text if pair.source is not None else None,
                         html, pair.language, pair.identifier))


@lru_cache(maxsize=8192)  # a run judges a piece and then its cell, and both checks read one verdict
def _verdict(output: str, output_text: str, source_text: str | None, html: bool, language: str,
             identifier) -> tuple[tuple[str, str], ...]:
    if source_text is not None and sum(ch.isalpha() for ch in source_text) < identifier.min_letters:
        return ()
    source_lang = identifier.identify(_sample(source_text)).language if source_text else None
    pieces = blocks(output, html)
    long = [p for p in pieces if sum(ch.isalpha() for ch in p) >= identifier.min_block_letters]
    judged = long if len(long) > 1 else [_sample(output_text)]
    found: dict[str, str] = {}
    for piece in judged:
        wrong = identifier.contradicts(piece, language)
        if wrong is None:
            continue
        where = f"block {pieces.index(piece) + 1} " if len(judged) > 1 else ""
        what = (f"{where}reads as {wrong.language} (p={wrong.confidence:.2f}), "
                f"{language} p={wrong.target_probability:.2f}")
        if wrong.language == source_lang:
            found.setdefault("untranslated", what + ", the source's language")
        elif wrong.confidence >= MIN_LANGUAGE_CONFIDENCE:
            found.setdefault("wrong_language", what)
    return tuple(found.items())


def _sample(text: str) -> str:
    """A long text's start and end: identification costs ~0.3 ms instead of ~2 ms per page."""
    if len(text) > 2 * _LANGUAGE_SAMPLE:
        return text[:_LANGUAGE_SAMPLE] + " " + text[-_LANGUAGE_SAMPLE:]
    return text


def forget() -> None:
    """Drop the cached verdicts (a run calls it after each batch)."""
    _verdict.cache_clear()
