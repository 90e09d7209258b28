"""Nothing the source did not have reaches the page: markup findings from two
parsers, the three checks on them, and the sanitizer.

The allowlist is derived from the source: its tags, its attributes per tag,
the exact values of its non-text attributes (href, src, class, style, on*),
its `<script>`/`<style>` elements verbatim, comments only if it had comments;
`javascript:` and `vbscript:` URLs never, `data:` only if the source used it.

Why sanitizing is applied only when something is found: nh3 (ammonia, on
html5ever) re-serializes everything it cleans: `&ndash;` becomes `–`,
`<br />` becomes `<br>`, unclosed tags are closed. Measured on 2,224 HTML
cells (examples/catalog.csv, ../shared/data/catalogs, the dev set's sources
and references), a clean with the source's own allowlist gives back only 215
byte for byte. Seller HTML is kept exactly as written elsewhere in localize,
so nh3 runs only when a finding says it must. Findings come from two parsers
so a parsing trick cannot hide markup from both: localize's own tokenizer
(`markup.tokenizer_findings`) and html5ever itself, through nh3: the output
cleaned with the source's allowlist must equal the output cleaned with an
allow-everything list, or html5ever saw markup that the allowlist removes
(`<!--><img onerror=...>-->` is a comment to a regex and an image to a browser).
"""

from __future__ import annotations

import string
from functools import lru_cache

import nh3

from localize.checks.markup import NEVER_SCHEMES, Finding, inventory, source_inventory, tokenizer_findings
from localize.checks.pair import Pair
from localize.text.html import TRANSLATABLE_ATTRS

# Schemes ammonia allows by default, plus those the source uses (never javascript: or vbscript:).
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


def markup_findings(output: str, source: str) -> list[Finding]:
    """Markup in `output` that `source` does not have. Empty: nothing new."""
    if "<" not in output:
        return []
    found, out = tokenizer_findings(output, source)
    if not found and _html5ever_disagrees(output, source, out.tags):
        found.append(Finding("markup a browser reads differently", True))
    return found


def _described(pair: Pair) -> tuple[str, bool] | None:
    return None if pair.source is None else _new_markup(pair.output, pair.source)


@lru_cache(maxsize=256)  # the three checks below read the same findings
def _new_markup(output: str, source: str) -> tuple[str, bool] | None:
    """(what is new, whether any of it is active) for the three markup checks."""
    marks = markup_findings(output, source)
    if not marks:
        return None
    return "not in the source: " + ", ".join(f.what for f in marks[:6]), any(f.active for f in marks)


def new_html(pair: Pair) -> str | None:
    """Markup in an output whose source is plain text: a steered model wrote it."""
    found = None if pair.html else _described(pair)
    return found[0] if found else None


def unsafe_html(pair: Pair) -> str | None:
    """New markup in HTML that can run, load, link or hide something."""
    found = _described(pair) if pair.html else None
    return found[0] if found and found[1] else None


def html_sanitized(pair: Pair) -> str | None:
    """New formatting markup in HTML (a <b>, a class=): a run removes it and keeps the rest."""
    found = _described(pair) if pair.html else None
    return found[0] + " (removed)" if found and not found[1] else None


@lru_cache(maxsize=1024)
def _allowlist(source: str) -> dict:
    """nh3 arguments that keep exactly what `source` has."""
    src = source_inventory(source)
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
    return sanitize(output, source) if markup_findings(output, source) else output


def sanitize(output: str, source: str) -> str:
    """nh3 with the source's allowlist, unconditionally (`sanitize_html` checks first)."""
    allow = _allowlist(source)
    tags = set(allow["tags"])
    if not inventory(output).raw_elements <= source_inventory(source).raw_elements:
        tags -= {"script", "style"}
    return nh3.clean(output, **{**allow, "tags": tags}, clean_content_tags={"script", "style"} - tags)
