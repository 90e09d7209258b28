"""The checks layer (localize/checks): the registry, and the rules it holds once."""

from __future__ import annotations

import pytest

from localize.checks import CODES, FILE_CODES, REGISTRY, WITHHELD, Pair, describe, is_html, vet
from localize.checks.langid import get_identifier
from localize.checks.language import language_verdict
from localize.eval.checks import CHECKS, DESCRIPTIONS


def test_every_code_is_defined_once_with_a_description_and_a_function():
    assert len(CODES) == len(set(CODES)) == len(REGISTRY)
    for code, check in REGISTRY.items():
        assert check.code == code and callable(check.func)
        assert check.description and "\n" not in check.description
        assert check.scope in ("file", "glossary", "answer", "placeholder")
    assert WITHHELD == tuple(c for c in CODES if REGISTRY[c].withholds)
    assert {"unsafe_html", "new_html", "new_url", "new_code", "prompt_echo", "wrong_language",
            "length_ratio"} == set(WITHHELD)
    assert describe("new_url").endswith("(cell withheld)") and describe("too_long") == "over the market's length limit"


def test_eval_reports_the_registry_codes_it_can_decide_on_a_file():
    assert CHECKS == FILE_CODES
    assert DESCRIPTIONS == {c: REGISTRY[c].description for c in CHECKS}
    assert not set(CHECKS) & {"keep_duplicated", "placeholder_left", "new_url"}


@pytest.mark.parametrize("answer", ["Bufanda roja " * 800, "x" * 1_000_000])
def test_a_huge_answer_to_a_short_source_is_withheld(answer):
    """Issue 20, defect 10: under 20 characters the ratio was not judged, so any length was published."""
    value, issues = vet(answer, "Red scarf", "es", "title")
    assert value is None
    assert [code for code, _ in issues] == ["length_ratio"]
    assert "a translation of a text this short stays under 160" in issues[0][1]


def test_a_short_source_keeps_room_for_a_padded_title():
    for answer in ("Bufanda roja", "Bufanda roja de lana merino, suave y cálida, ideal para el invierno"):
        assert vet(answer, "Red scarf", "es", "title") == (answer, [])
    value, issues = vet("Bufanda roja " * 14, "Red scarf", "es", "title")  # 182 characters
    assert value is None and issues[0][0] == "length_ratio"


def test_is_html_is_one_rule_markup_in_the_source_or_the_html_kind():
    assert is_html("html", "plain words")
    assert is_html("title", "H<sub>2</sub>O bottle") and is_html("text", "<p>Soft</p>")
    assert not is_html("title", "Socks <3 pack") and not is_html("label", "a < b")
    assert Pair("H<sub>2</sub>O 500 ml", "H2O 500 ml", "title", "es").html


def test_untranslated_and_wrong_language_come_from_one_verdict():
    identifier = get_identifier()
    source = "Lightweight waterproof hiking jacket with adjustable hood"
    english = Pair(source, "Lightweight waterproof jacket for hiking, adjustable hood", "title", "es",
                   identifier=identifier)
    french = Pair(source, "Veste de randonnée imperméable et légère avec capuche réglable", "title", "es",
                  identifier=identifier)
    assert set(language_verdict(english)) == {"untranslated"}
    assert set(language_verdict(french)) == {"wrong_language"}
    # A run withholds the third language and keeps (and reports) the source's.
    assert vet(french.output, source, "es", "title")[0] is None
    assert vet(english.output, source, "es", "title")[0] == english.output
    # Too short a source: neither is judged (the answer could be in the source's language).
    assert language_verdict(Pair("Rain jacket", "Veste de pluie imperméable pour la randonnée", "title", "es",
                                 identifier=identifier)) == {}
