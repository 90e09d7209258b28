"""Product text is data: keep it from steering the model, and keep what a
steered model writes out of the shop.

A catalog cell can carry text written by someone else (a supplier feed, a
marketplace import, a scraped description): "ignore previous instructions",
fake chat-role tags, a hidden HTML comment for the model. Three layers:

1. `defuse` (before the prompt): chat-template control tokens in product
   text (`<|im_start|>system`, `[INST]`) are broken with an invisible word
   joiner, because llama.cpp, vLLM and transformers tokenize message content
   with special-token parsing on, so the literal text would become a real
   system turn (llama.cpp issue #26532). Our own `<<<`/`>>>` delimiters are
   broken the same way, and invisible Unicode tag characters ("ASCII
   smuggling") are dropped. The prompt also says the text is data.
2. `sanitize_html` (every HTML output): nothing the source did not have
   reaches the page. The allowlist is derived from the source: its tags, its
   attributes per tag, the exact values of its non-text attributes (href, src,
   class, style, on*), its `<script>`/`<style>` elements verbatim, comments
   only if it had comments; `javascript:` and `vbscript:` URLs never, `data:`
   only if the source used it.
3. `validate_output`: generic checks that a translation passes and an obeyed
   injection does not: markup or URLs, e-mails, phone numbers or model codes
   that the source does not have, a length far outside what a translation
   gives, a text confidently in another language than the target. No attack
   payload is hard-coded. `vet` applies the policy (see WITHHELD).

Why sanitizing is applied only when something is found: nh3 (ammonia, on
html5ever) re-serializes everything it cleans: `&ndash;` becomes `–`,
`<br />` becomes `<br>`, unclosed tags are closed. Measured on 2,224 HTML
cells (examples/catalog.csv, ../shared/data/catalogs, the dev set's sources
and references), a clean with the source's own allowlist gives back only 215
byte for byte. Seller HTML is kept exactly as written elsewhere in localize,
so nh3 runs only when a finding says it must. Findings come from two parsers
so a parsing trick cannot hide markup from both: localize's own tokenizer
(every `<name ...>` with its attributes, unfinished tags a shop's template
could complete) and html5ever itself, through nh3: the output cleaned with the
source's allowlist must equal the output cleaned with an allow-everything
list, or html5ever saw markup that the allowlist removes (`<!--><img
onerror=...>-->` is a comment to a regex and an image to a browser).
"""

from __future__ import annotations

import html as _html
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import nh3

from localize.eval.checks import _codes, _urls, blocks, plain_text
from localize.text.html import _ATTR, _TAG, TRANSLATABLE_ATTRS, looks_like_html, tokens

# -- layer 1: the prompt -------------------------------------------------------------

WORD_JOINER = "\u2060"  # invisible, no width: splits a special token without changing what a person reads
# Chat-template control tokens: ChatML/Qwen/Llama 3/Phi `<|...|>`, Llama 2/Mistral `[INST]` and `<<SYS>>`,
# Gemma `<start_of_turn>`. (`<s>` is left alone: it is also HTML's strikethrough tag.)
_CONTROL_TOKEN = re.compile(
    r"<\|[A-Za-z0-9_.:/-]{0,40}\|?>|\[/?(?:INST|SYS|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS)\]"
    r"|<</?SYS>>|</?(?:start_of_turn|end_of_turn|think|tool_call)>",
    re.I,
)
_DELIMITER = re.compile(r"<<<|>>>")
# Unicode tag characters: invisible in a shop, read as ASCII by some models.
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
# Bidi overrides and isolates can make a text read differently from how it is stored.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def defuse(text: str) -> str:
    """Product text as it goes into a prompt: control tokens and our delimiters broken, tag characters dropped."""
    text = _TAG_CHARS.sub("", text)
    text = _CONTROL_TOKEN.sub(lambda m: m.group(0)[0] + WORD_JOINER + m.group(0)[1:], text)
    return _DELIMITER.sub(lambda m: m.group(0)[0] + WORD_JOINER + m.group(0)[1:], text)


def strip_hidden(output: str, source: str) -> tuple[str, bool]:
    """Remove word joiners (ours, echoed back), tag characters and bidi controls the source did not have.
    Returns the text and whether anything but our word joiners was removed."""
    hidden = False
    if WORD_JOINER in output and WORD_JOINER not in source:
        output = output.replace(WORD_JOINER, "")
    for pattern in (_TAG_CHARS, _BIDI):
        if pattern.search(output) and not pattern.search(source):
            output, hidden = pattern.sub("", output), True
    return output, hidden


# -- layer 2: HTML -----------------------------------------------------------------

NEVER_SCHEMES = frozenset({"javascript", "vbscript"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")  # browsers drop tabs and newlines inside URLs
_RAW_ELEMENT = re.compile(r"<(script|style)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>.*?</\1\s*>", re.S | re.I)
_STRAY = re.compile(r"<[A-Za-z!/?]")  # text that starts markup; unfinished, a template's next ">" completes it
# Schemes ammonia allows by default, plus those the source uses (never the two above).
_DEFAULT_SCHEMES = frozenset(
    {"bitcoin", "ftp", "ftps", "geo", "http", "https", "im", "irc", "ircs", "magnet", "mailto", "mms", "mx",
     "news", "nntp", "openpgp4fpr", "sip", "sms", "smsto", "ssh", "tel", "url", "webcal", "wtai", "xmpp"}
)
# Every element a browser knows, for the allow-everything view of html5ever.
_ALL_TAGS = frozenset(
    "a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound big blink blockquote"
    " body br button canvas caption center cite code col colgroup data datalist dd del details dfn dialog dir div"
    " dl dt em embed fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header"
    " hgroup hr html i iframe image img input ins kbd keygen label legend li link listing main map mark marquee"
    " math menu menuitem meta meter nav nobr noembed noframes noscript object ol optgroup option output p param"
    " picture plaintext portal pre progress q rb rp rt rtc ruby s samp script search section select slot small"
    " source span strike strong style sub summary sup svg table tbody td template textarea tfoot th thead time"
    " title tr track tt u ul var video wbr xmp animate foreignobject set use".split()
)


@dataclass
class Markup:
    """What markup a text contains, as localize's tokenizer reads it."""

    tags: set[str] = field(default_factory=set)
    attributes: dict[str, set[str]] = field(default_factory=dict)  # tag -> attribute names
    values: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (tag, attribute) -> decoded values
    schemes: set[str] = field(default_factory=set)  # URL schemes of attribute values
    comments: int = 0
    declarations: set[str] = field(default_factory=set)
    raw_elements: set[str] = field(default_factory=set)  # <script>/<style> elements as written
    stray: int = 0


def _scheme(value: str) -> str | None:
    m = _SCHEME.match(_URL_NOISE.sub("", value).lower())
    return m.group(1) if m else None


def inventory(text: str) -> Markup:
    """Tags, attributes with their decoded values, comments, raw <script>/<style> elements, stray "<"."""
    found = Markup(raw_elements={m.group(0) for m in _RAW_ELEMENT.finditer(text)})
    for is_markup, piece in tokens(text):
        if not is_markup:
            found.stray += len(_STRAY.findall(piece))
            continue
        if piece.startswith("<!--"):
            found.comments += 1
            continue
        if piece.startswith("<!"):
            found.declarations.add(piece.lower())
            continue
        m = _TAG.match(piece)
        if not m:
            found.stray += 1
            continue
        closing, name, rest, _ = m.groups()
        name = name.lower()
        found.tags.add(name)
        if closing:
            continue
        names = found.attributes.setdefault(name, set())
        for a in _ATTR.finditer(rest):
            key = a.group(1).lower()
            names.add(key)
            value = _html.unescape(next((g for g in a.groups()[1:] if g is not None), ""))
            found.values.setdefault((name, key), set()).add(value)
            if (scheme := _scheme(value)) is not None:
                found.schemes.add(scheme)
    return found


def _short(value: str, n: int = 40) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


# New markup that only changes how text looks: removed by the sanitizer, the rest of the output kept.
# Anything else (scripts, frames, forms, media, links, handlers, styles, URLs) is "active": it can run
# code, load or link something, or hide text, so a model that wrote it was steered and the cell is withheld.
FORMATTING_TAGS = frozenset(
    "b strong i em u s small sub sup mark span p br hr div h1 h2 h3 h4 h5 h6 ul ol li dl dt dd table thead"
    " tbody tfoot tr td th caption colgroup col blockquote code pre abbr cite q del ins figure figcaption"
    " section article header footer wbr".split()
)
FORMATTING_ATTRS = frozenset(
    {"class", "id", "title", "alt", "lang", "dir", "align", "valign", "colspan", "rowspan", "width", "height",
     "scope", "headers", "span", "start", "reversed", "type", "aria-label", "role"}
)


@dataclass(frozen=True)
class Finding:
    what: str  # "<script>", "onerror= on <img>", "javascript: URL"
    active: bool  # can run, load, link or hide something (see FORMATTING_TAGS)


def markup_findings(output: str, source: str) -> list[Finding]:
    """Markup in `output` that `source` does not have. Empty: nothing new."""
    if "<" not in output:
        return []
    out, src = inventory(output), _source_inventory(source)
    found = [Finding(f"<{t}>", t not in FORMATTING_TAGS) for t in sorted(out.tags - src.tags)]
    for tag, names in sorted(out.attributes.items()):
        allowed = src.attributes.get(tag, set())
        found += [Finding(f"{n}= on <{tag}>", n not in FORMATTING_ATTRS) for n in sorted(names - allowed)]
        for name in sorted(names & allowed - TRANSLATABLE_ATTRS):  # alt, title: translated text, any value
            new = out.values.get((tag, name), set()) - src.values.get((tag, name), set())
            found += [Finding(f'{name}="{_short(v)}" on <{tag}>', name not in FORMATTING_ATTRS) for v in sorted(new)]
    dangerous = {_scheme(v) for vs in out.values.values() for v in vs} & NEVER_SCHEMES
    found += [Finding(f"{s}: URL", True) for s in sorted(dangerous)]
    if "data" in out.schemes and "data" not in src.schemes:
        found.append(Finding("data: URL", True))
    if out.comments and not src.comments:
        found.append(Finding("HTML comment", False))
    found += [Finding(f"declaration {_short(d)}", False) for d in sorted(out.declarations - src.declarations)]
    found += [Finding(f"{_short(e, 30)} changed", True) for e in sorted(out.raw_elements - src.raw_elements)]
    if out.stray > src.stray:
        found.append(Finding("unfinished tag", True))  # the shop template's next ">" would complete it
    if not found and _html5ever_disagrees(output, source, out.tags):
        found.append(Finding("markup a browser reads differently", True))
    return found


@lru_cache(maxsize=1024)
def _source_inventory(source: str) -> Markup:
    return inventory(source)  # cached: a page is vetted once per locale (callers never mutate it)


@lru_cache(maxsize=1024)
def _allowlist(source: str) -> dict:
    """nh3 arguments that keep exactly what `source` has."""
    src = _source_inventory(source)
    free = {t: {n for n in names if n in TRANSLATABLE_ATTRS} for t, names in src.attributes.items()}
    pinned = {
        t: {n: src.values.get((t, n), set()) for n in names if n not in TRANSLATABLE_ATTRS}
        for t, names in src.attributes.items()
    }
    schemes = ((_DEFAULT_SCHEMES | src.schemes) - NEVER_SCHEMES) - ({"data"} - src.schemes)
    # Elements html5ever inserts into the source itself (<tbody> in a <table> written without one).
    implied = inventory(_wide(source, src.tags)).tags - src.tags
    return {
        "tags": src.tags | implied,
        # "*": nothing on every tag (ammonia would otherwise allow lang= and title= anywhere).
        "attributes": {"*": set(), **{t: n for t, n in free.items() if n}},
        "tag_attribute_values": {t: v for t, v in pinned.items() if v},
        "url_schemes": set(schemes),
        "strip_comments": not src.comments,
        "link_rel": None,
    }


def _clean(output: str, allow: dict, raw_ok: bool) -> str:
    tags = set(allow["tags"])
    if not raw_ok:
        tags -= {"script", "style"}
    return nh3.clean(output, **{**allow, "tags": tags}, clean_content_tags={"script", "style"} - tags)


def _html5ever_disagrees(output: str, source: str, output_tags: set[str]) -> bool:
    allow = _allowlist(source)
    # Attribute names only: changed values are the tokenizer's finding, where both sides decode alike.
    narrow_attrs = {t: set(allow["attributes"].get(t, set())) | set(allow["tag_attribute_values"].get(t, {}))
                    for t in allow["tags"]} | {"*": set()}
    narrow = nh3.clean(
        output, tags=allow["tags"], attributes=narrow_attrs, url_schemes=allow["url_schemes"],
        strip_comments=allow["strip_comments"], link_rel=None,
        clean_content_tags={"script", "style"} - allow["tags"],
    )
    return narrow != _wide(output, output_tags)


def _wide(text: str, tags: set[str]) -> str:
    """html5ever's reading of `text` with (almost) nothing removed: every element, attribute and comment."""
    return nh3.clean(
        text, tags=_ALL_TAGS | tags, clean_content_tags=set(), attributes={},
        generic_attribute_prefixes=set(string.ascii_lowercase), strip_comments=False, link_rel=None,
        url_schemes=_DEFAULT_SCHEMES | {"javascript", "vbscript", "data", "file", "blob"},
    )


def sanitize_html(output: str, source: str) -> str:
    """`output` with every tag, attribute, attribute value, comment and URL scheme the source lacks removed.

    Returned unchanged (byte for byte) when nothing is found; otherwise cleaned
    by nh3 with an allowlist derived from the source (see the module docstring).
    """
    return _sanitize(output, source) if markup_findings(output, source) else output


def _sanitize(output: str, source: str) -> str:
    raw_ok = inventory(output).raw_elements <= _source_inventory(source).raw_elements
    return _clean(output, _allowlist(source), raw_ok)


# -- layer 3: checks ---------------------------------------------------------------

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
_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
MIN_NEW_DIGITS = 7

# Output/source length ratio of a translation, from references: dev set es/fr/tr/de 0.76-1.54 (titles) and
# 0.93-1.42 (HTML text); NTREX-128 news, sentences of 40+ characters: de/fr/es/it/pt 0.41-2.30. Bounds sit
# outside all of it. (The low bound was 0.3 until the injection bench showed titles translated with the
# injected sentence dropped and the canary appended at 0.32 and 0.38; at 0.4 it also withholds 2 of 1,080
# embedded-model outputs, "Nordvik Fjell 2L Rain Jacket" -> "Yağmurluk" and a 0.32 alt text, both of
# which had lost the brand and the numbers.) Chinese and Japanese use about a third and half as many
# characters as English (NTREX median 0.34 and 0.45); Korean is assumed between. HTML blocks (paragraphs,
# list items) are also judged one by one when source and output have as many: dev-set reference blocks
# of 30+ characters give 0.70-1.89, so one paragraph replaced by a word ("DONE") is found even when the
# page's total is plausible.
RATIO_BOUNDS = (0.4, 2.5)
BLOCK_RATIO_BOUNDS = (0.25, 3.0)
MIN_RATIO_CHARS, MIN_BLOCK_CHARS = 20, 30  # shorter texts ("Size", "Black") vary too much
_DENSITY = {"zh": 0.35, "ja": 0.45, "ko": 0.55}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# Language: a whole text identified as another language this confidently. Brand-heavy titles that merely
# confuse the identifier score below 0.6 (measured on 1,080 embedded-model outputs of examples/catalog.csv);
# a real paragraph in another language scores above 0.9.
MIN_LANGUAGE_CONFIDENCE = 0.8
_LANGUAGE_SAMPLE = 250
# Six words in a row from localize's own prompts: the model is reciting its instructions.
PROMPT_ECHO_WORDS = 6

# Problems that leave the cell empty: the output is not a translation of the source, or carries
# something an attacker could want published (active markup, a link, a contact, the prompt). A seller
# must not ship it; the report says why. On 1,080 embedded-model outputs of examples/catalog.csv (es,
# fr, tr) 28 are withheld, each a real failure: the prompt's worked example returned instead of the
# product (new_code 420D, length_ratio 4.1), repetition loops (length_ratio 4.7), glossary
# placeholders mangled into "<<<1>>>" by an older placeholder format (prompt_echo), titles that lost
# the brand and the numbers (length_ratio 0.32). On the dev set's 400 human references: none.
WITHHELD = ("unsafe_html", "new_html", "new_url", "new_code", "prompt_echo", "wrong_language", "length_ratio")


def _language_code(locale) -> str:
    return getattr(locale, "language", None) or str(locale).split("-")[0].lower()


def _scale(source_text: str, language: str) -> float:
    """Expected length of the target relative to the source, from the scripts' character density."""
    letters = sum(ch.isalpha() for ch in source_text)
    source_density = 0.4 if letters and len(_CJK.findall(source_text)) / letters > 0.3 else 1.0
    return _DENSITY.get(language, 1.0) / source_density


def _links(text: str) -> Counter:
    """URLs, e-mail addresses and bare domains, lower-cased, in raw text (attribute values included)."""
    text = _html.unescape(text)
    found = Counter(u.lower() for u in _urls(text))
    rest = re.sub(r"\S+@\S+|(?:https?://|www\.)\S+", " ", text)
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
    return sorted(c for c in _codes(output_text) if c.lower() not in squeezed and not _NUMERAL_COMPOUND.match(c))


def length_ratio(output_text: str, source_text: str, language: str,
                 bounds: tuple[float, float] = RATIO_BOUNDS, min_chars: int = MIN_RATIO_CHARS) -> str | None:
    """A description when the output's length is outside what a translation gives, else None."""
    src, out = len(source_text.strip()), len(output_text.strip())
    if src < min_chars:
        return None
    scale = _scale(source_text, language)
    low, high = bounds[0] * scale, bounds[1] * scale
    if low <= out / src <= high:
        return None
    return f"{out} characters for a source of {src} (ratio {out / src:.2f}, a translation gives {low:.2f}-{high:.2f})"


def _block_ratio(output: str, source: str, language: str) -> str | None:
    src_blocks, out_blocks = blocks(source, True), blocks(output, True)
    if len(src_blocks) != len(out_blocks) or len(src_blocks) < 2:
        return None
    for i, (s, o) in enumerate(zip(src_blocks, out_blocks), start=1):
        wrong = length_ratio(o, s, language, BLOCK_RATIO_BOUNDS, MIN_BLOCK_CHARS)
        if wrong:
            return f"block {i}: {wrong}"
    return None


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


def prompt_echo(output: str, source: str) -> str | None:
    """Words of localize's own prompt (or its <<< >>> delimiters) in the output and not in the source."""
    for mark in ("<<<", ">>>"):
        if mark in output and mark not in source:
            return f"the prompt's {mark} delimiter"
    echoed = (_ngrams(output) & _prompt_ngrams()) - _ngrams(source)
    return f'"{" ".join(min(echoed))}"' if echoed else None


def _attribute_text(text: str) -> str:
    """alt, title and other translated attribute values: text a shopper or a search engine reads."""
    found = inventory(text) if "<" in text else Markup()
    return " ".join(v for (_, name), vs in sorted(found.values.items()) if name in TRANSLATABLE_ATTRS for v in vs)


def wrong_language(output_text: str, language: str, source_text: str = "", identifier=None):
    """The identification when the whole output confidently reads as a third language: neither the
    target nor the source's. Judged only when the source's language is known too (20+ letters). An
    output left in the source's language is a quality problem, found by the `unchanged` check and by
    `localize eval`'s `untranslated`, and kept."""
    if identifier is None:
        from localize.eval.langid import get_identifier

        identifier = get_identifier()
    if sum(ch.isalpha() for ch in source_text) < identifier.min_letters:
        return None
    wrong = identifier.contradicts(_language_sample(output_text), language)
    if wrong is None or wrong.confidence < MIN_LANGUAGE_CONFIDENCE:
        return None
    return None if identifier.identify(_language_sample(source_text)).language == wrong.language else wrong


def _language_sample(text: str) -> str:
    """A long page's start and end: identification costs ~0.3 ms instead of ~2 ms per page."""
    if len(text) > 2 * _LANGUAGE_SAMPLE:
        return text[:_LANGUAGE_SAMPLE] + " " + text[-_LANGUAGE_SAMPLE:]
    return text


def validate_output(output: str, source: str, locale, kind: str, identifier=None) -> list[tuple[str, str]]:
    """(code, detail) problems of a model's output that a faithful translation does not have.

    `locale` is a Locale or a code ("es", "pt-BR"). Markup is judged before any
    sanitizing; run `sanitize_html` for the HTML that may be published.
    """
    if not output.strip():
        return []
    if identifier is None:  # the pipeline judges a piece, then its cell: the same text twice for most cells
        return list(_validate_cached(output, source, _language_code(locale), kind))
    return _validate(output, source, _language_code(locale), kind, identifier)


@lru_cache(maxsize=8192)  # emptied after each batch (forget_verdicts): it holds a batch's texts, no more
def _validate_cached(output: str, source: str, language: str, kind: str) -> tuple[tuple[str, str], ...]:
    return tuple(_validate(output, source, language, kind, None))


def forget_verdicts() -> None:
    _validate_cached.cache_clear()


def _validate(output: str, source: str, language: str, kind: str, identifier) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    is_html = kind == "html" or looks_like_html(source)
    marks = markup_findings(output, source)
    if marks:
        what = "not in the source: " + ", ".join(f.what for f in marks[:6])
        if not is_html:
            found.append(("new_html", what))
        elif any(f.active for f in marks):
            found.append(("unsafe_html", what))
        else:
            found.append(("html_sanitized", what + " (removed)"))
    src_text, out_text = (plain_text(source), plain_text(output)) if is_html else (source, output)
    links = new_links(output, source)
    if links:
        found.append(("new_url", "not in the source: " + ", ".join(_short(u) for u in links[:4])))
    codes = new_codes(f"{out_text} {_attribute_text(output)}", f"{src_text} {_attribute_text(source)}")
    if codes:
        found.append(("new_code", "not in the source: " + ", ".join(_short(c) for c in codes[:4])))
    echo = prompt_echo(output, source)
    if echo:
        found.append(("prompt_echo", f"the model repeated its instructions: {echo}"))
    ratio = length_ratio(out_text, src_text, language) or (_block_ratio(output, source, language) if is_html else None)
    if ratio:
        found.append(("length_ratio", ratio))
    wrong = wrong_language(out_text, language, src_text, identifier)
    if wrong is not None:
        found.append(("wrong_language", f"reads as {wrong.language} (p={wrong.confidence:.2f}), "
                                        f"{language} p={wrong.target_probability:.2f}"))
    return found


def vet(output: str, source: str, locale, kind: str, identifier=None) -> tuple[str | None, list[tuple[str, str]]]:
    """The pipeline's one call: (value to write, problems).

    The value is None (cell left empty, row kept, problems reported) when a
    WITHHELD problem is found. Otherwise HTML with new formatting markup comes
    back sanitized; everything else comes back as the model wrote it."""
    output, hidden = strip_hidden(output, source)
    issues = validate_output(output, source, locale, kind, identifier)
    if hidden:
        issues.append(("hidden_characters", "invisible tag or bidi characters removed"))
    if any(code in WITHHELD for code, _ in issues):
        return None, [(code, f"{detail}; cell left empty" if code in WITHHELD else detail) for code, detail in issues]
    if any(code == "html_sanitized" for code, _ in issues):
        output = _sanitize(output, source)
    return output, issues
