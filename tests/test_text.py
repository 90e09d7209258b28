"""localize.text: locale codes, HTML structure and splitting, output cleanup,
prompt templates and marketplace limits."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localize.errors import LocalizeError, UsageError
from localize.text import html as H
from localize.checks import problems
from localize.text.cleanup import clean_output
from localize.text.locales import parse_locale, parse_locales
from localize.text.markets import MARKETS_DIR, available_markets, load_market
from localize.text.prompts import KINDS, _load, copied_example, load_telltales, load_templates, prompts_dir

REPO = Path(__file__).resolve().parents[1]


# -- locales -------------------------------------------------------------------

@pytest.mark.parametrize("raw, code, name", [
    ("es", "es", "Spanish"),
    ("pt_br", "pt-BR", "Portuguese (Brazil)"),
    ("PT-br", "pt-BR", "Portuguese (Brazil)"),
    ("zh-hant", "zh-Hant", "Chinese (Traditional)"),
    ("zh_HANT_tw", "zh-Hant-TW", "Chinese (Traditional, Taiwan)"),
    ("es-419", "es-419", "Spanish (Latin America)"),
    (" tr ", "tr", "Turkish"),
])
def test_parse_locale_normalizes(raw, code, name):
    loc = parse_locale(raw)
    assert (loc.code, loc.name, str(loc)) == (code, name, code)
    assert loc.language == code.split("-")[0]


@pytest.mark.parametrize("raw, suggestion", [("spanish", "es"), ("German", "de"), ("frr", "fr")])
def test_unknown_locale_suggests(raw, suggestion):
    with pytest.raises(UsageError, match=f"did you mean '{suggestion}'"):
        parse_locale(raw)


@pytest.mark.parametrize("raw", ["xx", "es-XQ", "zh-Abcd", "e", "es--MX"])
def test_invalid_locale_raises(raw):
    with pytest.raises(UsageError):
        parse_locale(raw)


def test_parse_locales_dedups_keeps_order():
    assert [loc.code for loc in parse_locales("tr, es,fr es  pt_br,pt-BR")] == ["tr", "es", "fr", "pt-BR"]


@pytest.mark.parametrize("raw", ["", " , ,"])
def test_parse_locales_empty(raw):
    with pytest.raises(UsageError, match="no target locale"):
        parse_locales(raw)


# -- html ----------------------------------------------------------------------

PAGE = '<p>Warm <strong>merino</strong> layer.</p><ul><li>Soft</li></ul><a href="https://x.example/care">care</a>'


def test_structure_ignores_text():
    assert H.structure_diff(PAGE, PAGE.replace("Warm", "Cálida").replace("care<", "cuidado<")) is None
    assert [s[1] for s in H.structure(PAGE) if s[0] == "start"] == ["p", "strong", "ul", "li", "a"]


@pytest.mark.parametrize("output, fragment", [
    (PAGE.replace("<strong>", "<em>").replace("</strong>", "</em>"), "expected <strong>, got <em>"),
    (PAGE.replace("<ul><li>Soft</li></ul>", "Soft"), "expected <ul>"),
    (PAGE.replace('care</a>', "care</a>"[:-4]), "missing, first </a>"),
    (PAGE + "<br>", "extra tag(s), first <br>"),
    (PAGE.replace("x.example/care", "x.example/cuidado"), 'href="https://x.example/care"'),
])
def test_structure_diff_reports_changes(output, fragment):
    diff = H.structure_diff(PAGE, output)
    assert diff is not None and fragment in diff


def test_translated_attribute_text_is_not_a_difference():
    src = '<img src="a.jpg" alt="Black crew, front"><a href="/x" title="Care guide">x</a>'
    out = '<img src="a.jpg" alt="Camiseta negra, frente"><a href="/x" title="Guía de cuidado">x</a>'
    assert H.structure_diff(src, out) is None
    # ...but the non-text attribute values still count, and so does dropping the alt.
    assert H.structure_diff(src, out.replace("a.jpg", "b.jpg")) is not None
    assert H.structure_diff(src, out.replace(' alt="Camiseta negra, frente"', "")) is not None


_html_piece = st.one_of(
    st.sampled_from([
        "<p>", "</p>", "<div class='x'>", "</div>", "<ul>", "</ul>", "<li>", "</li>", "<br>", "<br/>",
        "<img src=\"a.jpg\" alt=\"dog\">", "<strong>", "</strong>", "<a href=\"/x\">", "</a>",
        "<!-- note -->", "<!-- unclosed", "<!DOCTYPE html>", "<p", "<", ">", "</", "<>", "< p>",
        "&amp;", "&nbsp;", "\n", "\r\n", "  ", "\t", "</div></div>", "<hr />",
    ]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15),
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(_html_piece, max_size=40), max_chars=st.integers(1, 80))
def test_split_blocks_joins_back_exactly(parts, max_chars):
    text = "".join(parts)
    pieces = H.split_blocks(text, max_chars)
    assert "".join(pieces) == text
    assert all(pieces) or pieces == [""]


@settings(max_examples=200, deadline=None)
@given(blocks=st.lists(st.sampled_from([
    "<p>One <b>two</b> three.</p>", "<ul><li>a</li><li>b <i>c</i></li></ul>", "\n",
    "<div><p>nested <span>deep</span></p></div>", "<br>", "plain text ",
]), min_size=1, max_size=20), max_chars=st.integers(1, 60))
def test_split_blocks_cuts_only_between_blocks(blocks, max_chars):
    text = "".join(blocks)
    pieces = H.split_blocks(text, max_chars)
    assert "".join(pieces) == text
    for piece in pieces:
        sigs = H.structure(piece)
        # A long block container is opened and closed by text-free pieces of its own ...
        if len(sigs) == 1 and sigs[0][1] in H.BLOCK_CONTAINERS and piece.strip().startswith("<"):
            assert not H.has_text(piece)
            continue
        depth = 0  # ... and every other piece of well-formed input is balanced
        for sig in sigs:
            if sig[0] == "start" and sig[1] not in H.VOID:
                depth += 1
            elif sig[0] == "end":
                depth -= 1
            assert depth >= 0
        assert depth == 0


def test_split_blocks_never_cuts_inside_a_paragraph_or_list_item():
    item = "<li>" + "word " * 40 + "<b>bold</b></li>"
    page = "<p>" + "text " * 60 + "</p><ul>" + item * 3 + "</ul>"
    pieces = H.split_blocks(page, 100)
    assert "".join(pieces) == page
    assert pieces[0] == "<p>" + "text " * 60 + "</p>"
    assert pieces[1] == "<ul>" and pieces[-1] == "</ul>"
    assert pieces[2:-1] == [item] * 3


def test_split_blocks_short_input_unsplit_and_long_split():
    assert H.split_blocks(PAGE, len(PAGE)) == [PAGE]
    long = "<p>" + "word " * 30 + "</p>\n"
    pieces = H.split_blocks(long * 4, 100)
    assert len(pieces) == 4 and "".join(pieces) == long * 4
    assert all(p.count("<p>") == 1 and p.strip().endswith("</p>") for p in pieces)


def test_visible_text_and_looks_like_html():
    assert H.visible_text("<p>Fish &amp; chips</p>\n<ul><li> hot </li></ul><!-- x -->") == "Fish & chips hot"
    assert H.looks_like_html("Soft <strong>merino</strong>")
    assert H.looks_like_html("<P CLASS='a'>x</P>")
    assert not H.looks_like_html("Size < 5 and > 2")
    assert not H.looks_like_html("<<< not html >>>")
    assert H.has_text("<p>a</p>") and not H.has_text("<p>42 &amp; 7</p>")


# -- cleanup -------------------------------------------------------------------

@pytest.mark.parametrize("raw, source, kind, expected", [
    ("```html\n<p>Hola</p>\n```", "<p>Hi</p>", "html", "<p>Hola</p>"),
    ("```\nHola mundo\n```", "Hello world", "text", "Hola mundo"),
    ('"Mochila ligera"', "Light backpack", "title", "Mochila ligera"),
    ("“Mochila”", "Backpack", "title", "Mochila"),
    ("«Sac à dos»", "Backpack", "title", "Sac à dos"),
    ("<<<\nMochila\n>>>", "Backpack", "title", "Mochila"),
    ("Bote insulado de 750 ml <<<", "Insulated Bottle 750 ml", "title", "Bote insulado de 750 ml"),
    (">>> Bote <<<", "Bottle", "title", "Bote"),
    ("Mochila <<< ligera", "Light backpack", "title", "Mochila <<< ligera"),  # inside: the safety check's
    ("Flecha >>>", "Arrow >>>", "title", "Flecha >>>"),  # the source has it: kept
    ("Mochila ligera\nNota: traducido al español.", "Light backpack", "title", "Mochila ligera"),
    ("\n\nRenk\nExplanation", "Color", "label", "Renk"),
    ("Línea uno\nLínea dos", "Line one\nLine two", "title", "Línea uno\nLínea dos"),
    ("Texto\nmás", "Text", "text", "Texto\nmás"),
    ("Hola", "  Hello\n", "text", "  Hola\n"),
    ('"Hola"', '"Hello"', "title", '"Hola"'),  # the source had the quotes: kept
    ("```x```", "use ```x```", "text", "```x```"),
    ("   ", "Hello", "text", ""),
])
def test_clean_output(raw, source, kind, expected):
    assert clean_output(raw, source, kind) == expected


def test_problems():
    assert problems("", "Hello", "text", None) == [("empty_output", "the model returned no text")]
    assert [c for c, _ in problems("<p>Hola", "<p>Hi</p>", "html", None)] == ["html_structure"]
    assert [c for c, _ in problems("x" * 81, "Hello", "title", 80)] == ["too_long"]
    assert problems("x" * 80, "Hello", "title", 80) == []
    # Limits count visible characters of HTML, not tags.
    body = "<p>" + "a" * 50 + "</p>"
    assert problems(body, "<p>b</p>", "html", 52) == []
    assert [c for c, _ in problems("<p>" + "a" * 53 + "</p>", "<p>b</p>", "html", 52)] == ["too_long"]
    src = "Superfine merino base layer"
    assert [c for c, _ in problems(src, src, "text", None)] == ["unchanged"]
    assert problems("Color", "Color", "label", None) == []  # short words may read the same


# -- prompts -------------------------------------------------------------------

ES, FR, TR, DE = (parse_locale(c) for c in ("es", "fr", "tr", "de"))
TEMPLATE_FILES = sorted(p for p in (REPO / "prompts").glob("*.toml") if p.name != "examples.telltales.toml")


def test_every_prompt_file_in_repo_is_loaded():
    assert prompts_dir() == REPO / "prompts"
    templates = load_templates()
    assert set(templates) == set(KINDS)
    assert TEMPLATE_FILES, "no prompt templates in the repo"
    assert {f"{t.id}.toml" for t in templates.values()} == {p.name for p in TEMPLATE_FILES}


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_prompt_template_is_valid(path):
    tpl = _load(path)
    assert path.name == f"{tpl.id}.toml" and tpl.kind in KINDS
    assert tpl.system and "<<<" in tpl.user and "{source}" in tpl.user and "{language}" in tpl.user
    assert {"es", "fr", "tr", "de"} <= set(tpl.examples)
    assert tpl.example_source
    for lang, example in tpl.examples.items():
        parse_locale(lang)
        assert example.strip()
        assert example != tpl.example_source or tpl.kind == "label", lang  # es "Color" is Spanish too
        if tpl.kind == "html":
            assert H.structure_diff(tpl.example_source, example) is None, lang
    msgs = tpl.messages("Warm {x} {{ }} }", ES, max_chars=70)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert "Warm {x} {{ }} }" in msgs[-1]["content"]
    if "{limit}" in tpl.user:
        assert "70" in msgs[-1]["content"]


def test_messages_can_leave_the_worked_example_out():
    tpl = load_templates()["title"]
    assert [m["role"] for m in tpl.messages("Wool Sweater", ES, example=False)] == ["system", "user"]
    assert tpl.messages("Wool Sweater", ES, example=False)[-1] == tpl.messages("Wool Sweater", ES)[-1]


def test_telltales_of_the_worked_example():
    """prompts/examples.telltales.toml: every rewrite it names is in some
    template's example, and the words of the examples are found where the
    product does not explain them."""
    listed = tomllib.loads((REPO / "prompts" / "examples.telltales.toml").read_text(encoding="utf-8"))["telltale"]
    assert len(load_telltales()) == len(listed) >= 3
    examples = " ".join(ex for t in load_templates().values() for ex in t.examples.values()).casefold()
    for entry in listed:
        assert entry["rewrites"], entry
        assert all(re.search(r"(?<!\w)" + re.escape(w.casefold()), examples) for w in entry["rewrites"]), entry
    assert copied_example("Mochila de senderismo antideslizante de 4 mm", "Non-slip 4 mm yoga mat") == [
        "mochila", "senderismo"]
    assert copied_example("Mochila de senderismo Alpinex 45L", "Alpinex 45L hiking backpack") == []
    assert copied_example("Esterilla de yoga de 4 mm, nailon 420D", "4 mm yoga mat") == ["420d"]
    assert copied_example("MOCHILA İstanbul mochilas", "Bag") == ["mochila"]  # once, whatever the case
    assert copied_example("Sırt çantası", "Daypack") == []
    assert copied_example("Zapatilla de trail", "Trail shoe") == []
    for tpl in load_templates().values():  # the examples explain themselves
        for ex in tpl.examples.values():
            assert copied_example(ex, tpl.example_source) == [], ex


def test_messages_order_and_prefix_caching():
    tpl = load_templates()["title"]
    a = tpl.messages("Wool Sweater", ES)
    b = tpl.messages("Linen Shirt", TR)
    assert [m["role"] for m in a] == ["system", "user", "assistant", "user"]
    assert a[0] == b[0] and a[0]["content"] == tpl.system
    assert a[2]["content"] == tpl.examples["es"] and b[2]["content"] == tpl.examples["tr"]
    assert tpl.example_source in a[1]["content"]
    last = a[-1]["content"]
    assert last.index("Wool Sweater") < last.index("Spanish (es)")
    assert last.rstrip().endswith("Rewrite this product title in Spanish (es).")


def test_messages_without_example_language():
    tpl = load_templates()["text"]
    msgs = tpl.messages("Soft wool", parse_locale("ja"))
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "Japanese (ja)" in msgs[-1]["content"]
    # A regional locale falls back to the language's example.
    assert len(tpl.messages("Soft wool", parse_locale("es-MX"))) == 4


@pytest.mark.parametrize("text", ["{x}", "{{", "}}", "{source}", "{language} {0} {limit}", "a } b { c"])
def test_braces_in_product_text_pass_through(text):
    for tpl in load_templates().values():
        content = tpl.messages(text, FR)[-1]["content"]
        assert f"<<<\n{text}\n>>>" in content


def test_limit_sentence_only_with_max_chars():
    tpl = load_templates()["title"]
    assert "At most 80 characters." in tpl.messages("Wool Sweater", ES, max_chars=80)[-1]["content"]
    for msgs in (tpl.messages("Wool Sweater", ES), tpl.messages("Wool Sweater", ES, max_chars=None)):
        assert "At most" not in msgs[-1]["content"]
    # Example turns never carry the row's limit.
    assert "At most" not in tpl.messages("Wool Sweater", ES, max_chars=80)[1]["content"]


def _write_templates(folder: Path, **overrides: str) -> None:
    for path in TEMPLATE_FILES:
        (folder / path.name).write_text(overrides.get(path.name, path.read_text(encoding="utf-8")), encoding="utf-8")


@pytest.mark.parametrize("content", [
    'kind = "title"\nversion = 1\nsystem = "unterminated\n',  # not TOML
    'kind = "title"\nversion = 1\n',  # missing system/user
    'kind = "title"\nversion = "one"\nsystem = "s"\nuser = "u"\n',  # bad version
])
def test_malformed_template_names_the_file(tmp_path, content):
    _write_templates(tmp_path, **{"title.v1.toml": content})
    with pytest.raises(LocalizeError, match=r"title\.v1\.toml"):
        load_templates(tmp_path)


def test_template_kind_must_match_file_name_and_all_kinds_present(tmp_path):
    text = (REPO / "prompts" / "label.v1.toml").read_text(encoding="utf-8")
    _write_templates(tmp_path, **{"label.v1.toml": text.replace('kind = "label"', 'kind = "text"')})
    with pytest.raises(LocalizeError, match=r"label\.v1\.toml"):
        load_templates(tmp_path)
    (tmp_path / "label.v1.toml").unlink()
    with pytest.raises(LocalizeError, match="no prompt template for label"):
        load_templates(tmp_path)


def test_newest_template_version_wins(tmp_path):
    _write_templates(tmp_path)
    text = (REPO / "prompts" / "title.v1.toml").read_text(encoding="utf-8")
    (tmp_path / "title.v2.toml").write_text(
        text.replace("version = 1", "version = 2").replace("You are", "You, v2, are"), encoding="utf-8")
    tpl = load_templates(tmp_path)["title"]
    assert tpl.id == "title.v2" and "v2" in tpl.system


# -- markets -------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(MARKETS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_market_file_loads(path):
    market = load_market(path.stem)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert market.name == path.stem == data["name"] and market.description
    assert market.limits and all(v > 0 for v in market.limits.values())
    from localize.catalog.fields import ROLES
    assert set(market.limits) <= set(ROLES)


def test_documented_market_limits():
    assert set(available_markets()) >= {"amazon", "ebay", "generic", "shopify"}
    assert load_market("amazon").limit("title") == 200
    assert load_market("ebay").limit("title") == 80
    assert load_market("shopify").limit("seo_title") == 70
    assert load_market("shopify").limit("seo_description") == 320
    assert load_market("ebay").limit("description") is None


def test_unknown_market_suggests():
    with pytest.raises(UsageError, match="did you mean 'shopify'"):
        load_market("shopfy")


@pytest.mark.parametrize(
    "source, output, flagged",
    [
        ("1 Ounce (Pack of 1)", "Unidad (Paquete de 1)", True),  # a real small-model slip
        ("1 Ounce (Pack of 1)", "1 onza (paquete de 1)", False),
        ("Tent 20,000 mm, 1.5 kg", "Tienda 20.000 mm, 1,5 kg", False),  # locale punctuation is fine
        ("<p>250 lumens</p>", "<p>lúmenes</p>", True),
        ('<p><a href="/p/42">Guide</a></p>', '<p><a href="/p/42">Guía</a></p>', False),
    ],
)
def test_numbers_must_survive(source, output, flagged):
    kind = "html" if source.startswith("<") else "title"
    codes = [code for code, _ in problems(output, source, kind, None)]
    assert ("numbers_changed" in codes) is flagged


def test_visible_text_separates_cells_but_not_inline_tags():
    assert H.visible_text("<tr><td>USB-C</td><td>65 W</td></tr>") == "USB-C 65 W"
    assert H.visible_text("<p>water<strong>proof</strong></p><p>Next</p>") == "waterproof Next"
