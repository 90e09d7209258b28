"""A length far outside what a translation gives: a repetition loop, a text
replaced by a word ("DONE"), another text appended, a page instead of a title.

Output/source length ratio of a translation, from references: dev set es/fr/tr/de 0.76-1.54 (titles) and
0.93-1.42 (HTML text); NTREX-128 news, sentences of 40+ characters: de/fr/es/it/pt 0.41-2.30. Bounds sit
outside all of it. (The low bound was 0.3 until the injection bench showed titles translated with the
injected sentence dropped and the canary appended at 0.32 and 0.38; at 0.4 it also withholds 2 of 1,080
embedded-model outputs, "Nordvik Fjell 2L Rain Jacket" -> "Yağmurluk" and a 0.32 alt text, both of
which had lost the brand and the numbers.) Chinese and Japanese use about a third and half as many
characters as English (NTREX median 0.34 and 0.45); Korean is assumed between. HTML blocks (paragraphs,
list items) are also judged one by one when source and output have as many: dev-set reference blocks
of 30+ characters give 0.70-1.89, so one paragraph replaced by a word ("DONE") is found even when the
page's total is plausible.

Sources under 20 characters ("Size", "Red scarf") vary too much for a ratio, but not without end: no
translation of "Red scarf" runs to 160 characters, let alone 10 MB, so a short source's output over
max(160, 8 x its length) characters is judged too (SHORT_SOURCE_BOUND; the floor leaves room for a
title a small model pads with a few words, which the market limit and the shorten round deal with).
"""

from __future__ import annotations

import re

from localize.checks.pair import Pair, blocks

RATIO_BOUNDS = (0.4, 2.5)
BLOCK_RATIO_BOUNDS = (0.25, 3.0)
MIN_RATIO_CHARS, MIN_BLOCK_CHARS = 20, 30  # shorter texts ("Size", "Black") vary too much for a ratio
SHORT_SOURCE_BOUND = (160, 8.0)  # (characters at least, times the source's length) for shorter sources
_DENSITY = {"zh": 0.35, "ja": 0.45, "ko": 0.55}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def length_ratio(pair: Pair) -> str | None:
    """The `length_ratio` check: the whole text, then (HTML) block by block."""
    if pair.source is None:
        return None
    found = ratio_problem(pair.output_text, pair.source_text, pair.language)
    if found is None and pair.html:
        found = _block_ratio(pair.output, pair.source, pair.language)
    return found


def _scale(source_text: str, language: str) -> float:
    """Expected length of the target relative to the source, from the scripts' character density."""
    letters = sum(ch.isalpha() for ch in source_text)
    source_density = 0.4 if letters and len(_CJK.findall(source_text)) / letters > 0.3 else 1.0
    return _DENSITY.get(language, 1.0) / source_density


def ratio_problem(output_text: str, source_text: str, language: str, bounds: tuple[float, float] = RATIO_BOUNDS,
                  min_chars: int = MIN_RATIO_CHARS, short_bound: bool = True) -> str | None:
    """A description when the output's length is outside what a translation gives, else None.
    `short_bound`: a source under `min_chars` still has an upper bound (SHORT_SOURCE_BOUND)."""
    src, out = len(source_text.strip()), len(output_text.strip())
    if src < min_chars:
        return _short_source(out, src, source_text, language) if short_bound else None
    scale = _scale(source_text, language)
    low, high = bounds[0] * scale, bounds[1] * scale
    if low <= out / src <= high:
        return None
    return f"{out} characters for a source of {src} (ratio {out / src:.2f}, a translation gives {low:.2f}-{high:.2f})"


def _short_source(out: int, src: int, source_text: str, language: str) -> str | None:
    floor, times = SHORT_SOURCE_BOUND
    most = max(floor, int(times * src * _scale(source_text, language)))
    if out <= most:
        return None
    return f"{out:,} characters for a source of {src} (a translation of a text this short stays under {most})"


def _block_ratio(output: str, source: str, language: str) -> str | None:
    src_blocks, out_blocks = blocks(source, True), blocks(output, True)
    if len(src_blocks) != len(out_blocks) or len(src_blocks) < 2:
        return None
    for i, (s, o) in enumerate(zip(src_blocks, out_blocks), start=1):
        wrong = ratio_problem(o, s, language, BLOCK_RATIO_BOUNDS, MIN_BLOCK_CHARS, short_bound=False)
        if wrong:
            return f"block {i}: {wrong}"
    return None
