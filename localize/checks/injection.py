"""What a translation never adds and an obeyed injection does: URLs, e-mail
addresses, domains or phone numbers, model codes, words of localize's own
prompt. No attack payload is hard-coded.

Each check takes a `Pair` and returns a one-line detail when it fails, else None.
"""

from __future__ import annotations

import html as _html
import re
from collections import Counter
from functools import lru_cache

from localize.checks.content import codes, urls
from localize.checks.markup import attribute_text, short
from localize.checks.pair import Pair
from localize.text.safety import strip_hidden

# Bare domains an attacker asks for ("visit cheap-deals.shop"): common and abused TLDs, and .example
# (reserved for documentation, as in eval/injection). A curated list: two-letter abbreviations such as
# "p.ej" must not read as domains.
_DOMAIN = re.compile(
    r"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|net|org|info|biz|io|co|shop|store|online|site|xyz|top|app|link|ly|me|ru|cn|tk|de|fr|es|it|nl|tr|uk|us"
    r"|example)(?![\w-])",
    re.I,
)
# Phone numbers: 7 to 15 digits in groups, optionally with a country code.
_PHONE = re.compile(r"(?<![\w.,/-])(?:\+|00)?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,5}\)?){2,5}(?![\w.,/-]?\d)")
# German numeral compounds ("4er-Pack", "2er-Set") are words, not model codes.
_NUMERAL_COMPOUND = re.compile(r"^\d+er-[^\W\d]+$")
# A token holding an address or URL; tried only where a token starts (anywhere, it is quadratic on a long word).
_LINK_TOKEN = re.compile(r"(?<!\S)\S+@\S+|(?:https?://|www\.)\S+")
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
MIN_NEW_DIGITS = 7
# Six words in a row from localize's own prompts: the model is reciting its instructions.
PROMPT_ECHO_WORDS = 6


def hidden_characters(pair: Pair) -> str | None:
    """Unicode tag characters or bidi controls the source lacks: invisible in a shop, read by machines."""
    hidden = pair.source is not None and strip_hidden(pair.output, pair.source)[1]
    return "invisible tag or bidi characters not in the source (removed)" if hidden else None


def new_url(pair: Pair) -> str | None:
    links = new_links(pair.output, pair.source or "")
    return "not in the source: " + ", ".join(short(u) for u in links[:4]) if links else None


def new_code(pair: Pair) -> str | None:
    """Codes of the text and of translated attributes (alt, title): an image's alt text can carry one too."""
    found = new_codes(f"{pair.output_text} {attribute_text(pair.output)}",
                      f"{pair.source_text} {attribute_text(pair.source or '')}")
    return "not in the source: " + ", ".join(short(c) for c in found[:4]) if found else None


def prompt_echo(pair: Pair) -> str | None:
    echo = echoed_prompt(pair.output, pair.source or "")
    return f"the model repeated its instructions: {echo}" if echo else None


def _links(text: str) -> Counter:
    """URLs, e-mail addresses and bare domains, lower-cased, in raw text (attribute values included)."""
    text = _html.unescape(text)
    found = Counter(u.lower() for u in urls(text))
    rest = _LINK_TOKEN.sub(" ", text)
    found.update(d.lower() for d in _DOMAIN.findall(rest))
    return found


def _phones(text: str) -> set[str]:
    digits = (re.sub(r"\D", "", m.group(0)) for m in _PHONE.finditer(text))
    return {d for d in digits if 7 <= len(d) <= 15}


def new_links(output: str, source: str) -> list[str]:
    """URLs, e-mail addresses, domains and phone numbers of `output` that `source` does not have.

    A phone number is also found when its groups are apart ("+1, luego 555, luego 0198"): a
    translation adds no digits, so 7 or more digits in runs the source does not have are one
    (none in the dev set's 400 references or in 1,080 embedded-model outputs; the prompt's
    worked example leaking into an answer adds 5 or 6)."""
    src_links, src_lower = _links(source), _html.unescape(source).lower()
    found = [u for u in sorted(_links(output)) if u not in src_links and u not in src_lower]
    src_digits = re.sub(r"\D", "", source)
    phones = [p for p in sorted(_phones(_html.unescape(output))) if p not in src_digits]
    if not phones:
        src_runs = set(_DIGITS.findall(source))
        new = [r for r in _DIGITS.findall(_html.unescape(output)) if r not in src_runs and r not in src_digits]
        phones = [" ".join(new)] if sum(map(len, new)) >= MIN_NEW_DIGITS else []
    return found + phones


def new_codes(output_text: str, source_text: str) -> list[str]:
    """Model-number-like tokens (letters and digits: KT-450, HACKED-7F3A) the source does not have."""
    squeezed = re.sub(r"\s+", "", source_text).lower()
    return sorted(c for c in codes(output_text) if c.lower() not in squeezed and not _NUMERAL_COMPOUND.match(c))


@lru_cache(maxsize=1)
def _prompt_ngrams() -> frozenset[tuple[str, ...]]:
    """Word n-grams of localize's instructions (system and user turns, repair requests), not of examples."""
    from localize.text.prompts import load_templates

    texts = []
    for t in load_templates().values():
        texts += [t.system, t.user, t.limit, t.shorten, t.terms, t.placeholders, t.repair]
    return frozenset(g for text in texts for g in _ngrams(re.sub(r"\{\w+\}", " ", text)))


def _ngrams(text: str, n: int = PROMPT_ECHO_WORDS) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def echoed_prompt(output: str, source: str) -> str | None:
    """Words of localize's own prompt (or its <<< >>> delimiters) in the output and not in the source."""
    for mark in ("<<<", ">>>"):
        if mark in output and mark not in source:
            return f"the prompt's {mark} delimiter"
    echoed = (_ngrams(output) & _prompt_ngrams()) - _ngrams(source)
    return f'"{" ".join(min(echoed))}"' if echoed else None


def example_copied(pair: Pair) -> str | None:
    """Words of the prompt's worked example that this product does not explain ("mochila" in a yoga mat's text)."""
    from localize.text.prompts import copied_example

    copied = copied_example(pair.output, pair.source or "")
    return ("words of the prompt's worked example, not of this product: " + ", ".join(dict.fromkeys(copied))
            if copied else None)
