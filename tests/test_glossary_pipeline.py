"""Glossary enforcement in a run: masking, prompts, repair round, report, --strict.

Uses the deterministic fake engine (localize.testing.fake_engine, which also
answers repair turns) because these tests pin exact requests, repair rounds and counts;
the real embedded model runs the example glossaries in test_end_to_end.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localize.errors import GlossaryViolations
from localize.pipeline.run import RunOptions, enforce_strict, run
from localize.testing.fake_engine import FakeEngine, serving
from localize.text.locales import parse_locales
from test_pipeline import as_dicts, read_csv, write_csv

GLOSSARY = """source,target,locale,kind,case_sensitive,note
Nordvik,,,keep,true,brand
AeroTrail X2,,,keep,true,product line
base layer,capa base,es,term,false,house style
best seller,,es,ban,false,unverifiable claim
"""


@pytest.fixture
def glossary(tmp_path) -> Path:
    path = tmp_path / "house.csv"
    path.write_text(GLOSSARY, encoding="utf-8")
    return path


@pytest.fixture
def catalog(tmp_path) -> Path:
    return write_csv(tmp_path / "c.csv", [
        ["Handle", "Title"],
        ["a", "Nordvik merino base layer, best seller"],
        ["b", "AeroTrail X2 trail shoe by Nordvik"],
    ])


def go(catalog, glossary, engine, **kw):
    opts = RunOptions(input=catalog, locales=parse_locales("es"), quiet=True, glossaries=[glossary], backend="fake",
                      **kw)
    with serving(engine):  # built by the engine registry, as --backend fake
        return opts, run(opts)


def test_keep_terms_are_masked_and_restored(catalog, glossary):
    engine = FakeEngine()
    _, stats = go(catalog, glossary, engine)
    sent = "\n".join(r.source for r in engine.requests)
    assert "Nordvik" not in sent and "AeroTrail X2" not in sent  # the model never sees them
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[1]["Title_es"].count("Nordvik") == 1 and "AeroTrail X2" in out[1]["Title_es"]
    assert stats.glossary["es"]["keep_missing"] == 0 and stats.glossary["es"]["keep_required"] >= 3


def _ignores_injected_terms(kind, locale, source):
    """A model that writes the term its own way although the target was shown in place."""
    return f"[{locale}] {source.replace('capa base', 'base layer')}"


def test_terms_injected_named_in_prompt_and_repaired(catalog, glossary):
    """First answer: the term translated the model's own way and a banned claim.
    Repair 1 translates the title again with the term locked as a placeholder
    (restored as the target); repair 2 asks, in the conversation, to drop the ban."""
    engine = FakeEngine(first=_ignores_injected_terms)
    _, stats = go(catalog, glossary, engine)
    first = [r for r in engine.requests if "capa base" in r.source]
    assert len(first) == 1 and "base layer" not in first[0].source  # the target is written in place of the source
    assert '"base layer" -> "capa base"' in first[0].prompt
    locked = [r for r in engine.requests if "merino" in r.source and r is not first[0]]
    assert len(locked) == 1 and re.search(r"merino QX\d, best seller", locked[0].source)
    assert "capa base" not in locked[0].prompt and "Copy QX1, QX2 exactly" in locked[0].prompt
    assert len(engine.repair_turns) == 1 and 'Do not use "best seller"' in engine.repair_turns[0].prompt
    assert "Translate" not in engine.repair_turns[0].prompt  # the term had its round
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[0]["Title_es"] == "[es] Nordvik merino capa base,"
    g = stats.glossary["es"]
    assert g["terminology_accuracy"] == 1.0 and g["bans_found"] == 0 and g["keep_missing"] == 0
    assert stats.repairs == 2 and stats.glossary_violations == 0
    assert first[0].request.bad_words == ("best seller",)  # handed to engines that can block it


def test_locked_term_is_capitalized_where_a_title_starts(tmp_path, glossary):
    catalog = write_csv(tmp_path / "c.csv", [["Handle", "Title"], ["a", "Base layer by Nordvik"]])
    engine = FakeEngine(first=lambda kind, locale, source: source.replace("capa base", "base layer"))
    _, stats = go(catalog, glossary, engine)
    assert [r.source for r in engine.requests] == ["capa base by QX1", "QX2 by QX1"]
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[0]["Title_es"] == "Capa base by Nordvik"
    assert stats.glossary["es"]["terminology_accuracy"] == 1.0


def _stubborn(kind, locale, source):
    """A model that writes "base layer" whatever it is shown: the injected target
    or the placeholder locking it (QX2 in the first row, after Nordvik's QX1)."""
    if "merino" in source:
        source = source.replace("capa base", "base layer").replace("QX2", "base layer")
    return f"[{locale}] {source}"


def test_unrepaired_violations_are_reported_and_strict_fails(catalog, glossary):
    engine = FakeEngine(first=_stubborn, obeys_repairs=False)
    opts, stats = go(catalog, glossary, engine, strict=True)
    report = read_csv(catalog.with_name("c.localized.report.csv"))
    issues = {(r[0], r[3]) for r in report[1:]}
    assert ("1", "term_missing") in issues and ("1", "banned_term") in issues
    assert stats.glossary["es"]["terminology_accuracy"] == 0.0
    assert catalog.with_name("c.localized.csv").exists()  # output written anyway
    with pytest.raises(GlossaryViolations) as err:
        enforce_strict(opts, stats)
    assert err.value.exit_code == 6


def test_dropped_placeholder_is_repaired(catalog, glossary):
    def drop_placeholders(kind, locale, source):
        return re.sub(r"\S*\d\S*", "", source).strip() or "x"  # loses every placeholder token

    engine = FakeEngine(first=drop_placeholders)
    _, stats = go(catalog, glossary, engine)
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert "AeroTrail X2" in out[1]["Title_es"] and "Nordvik" in out[1]["Title_es"]
    assert stats.glossary["es"]["keep_missing"] == 0


def test_keep_terms_come_back_in_titles_even_when_repairs_fail(catalog, glossary):
    """A model that drops every placeholder and ignores repair turns: leading
    keep terms go back in front at once, a mid-text one after the failed repair."""
    def drop_placeholders(kind, locale, source):
        return re.sub(r"\S*\d\S*", "", source).strip() or "x"

    engine = FakeEngine(first=drop_placeholders, obeys_repairs=False)
    _, stats = go(catalog, glossary, engine)
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    title = out[1]["Title_es"]
    assert title.startswith("Nordvik AeroTrail X2 ") and title.count("Nordvik") == 1
    assert stats.glossary["es"]["keep_missing"] == 0
    assert len(engine.repair_turns) >= 1  # the model got its chance first


TWO_TERMS = """source,target,locale,kind,case_sensitive,note
Nordvik,,,keep,true,brand
base layer,capa base,es,term,false,
wool,lana,es,term,false,
"""


def _two_term_catalog(tmp_path, title):
    g = tmp_path / "two.csv"
    g.write_text(TWO_TERMS, encoding="utf-8")
    return write_csv(tmp_path / "c.csv", [["Handle", "Title"], ["a", title]]), g


def test_a_second_lock_round_locks_every_term_when_the_first_drops_one(tmp_path):
    """The embedded model, given "QX1 keten QX2" with one term locked, answered
    "QX1 - QX2": the locked term came back, the other was lost. The second
    round locks every term of the piece."""
    catalog, g = _two_term_catalog(tmp_path, "Nordvik wool base layer")

    def answer(kind, locale, source):
        if source == "QX1 lana capa base":
            return "[es] QX1 lana base layer"  # first answer: one term its own way
        if "lana" in source:
            return "[es] QX1 QX2"  # one term locked: the other dropped
        return f"[es] {source}"

    engine = FakeEngine(first=answer)
    _, stats = go(catalog, g, engine)
    assert [r.source for r in engine.requests] == ["QX1 lana capa base", "QX1 lana QX2", "QX2"]
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[0]["Title_es"] == "[es] Nordvik lana capa base"
    assert stats.glossary["es"]["terminology_accuracy"] == 1.0 and stats.repairs == 2


def test_a_repair_that_costs_a_number_is_not_kept(tmp_path):
    catalog, g = _two_term_catalog(tmp_path, "Nordvik base layer 200")

    def answer(kind, locale, source):
        if source.endswith("capa base 200"):
            return "[es] QX1 base layer 200"  # the term missed, the number kept
        return "[es] " + source.replace(" 200", "")  # every locked answer drops the number

    engine = FakeEngine(first=answer, obeys_repairs=False)
    _, stats = go(catalog, g, engine)
    # The first answer and the lock round; one term, so no second lock round (it would be the same request).
    assert [r.source for r in engine.requests] == ["QX1 capa base 200", "QX2 200"]
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[0]["Title_es"] == "[es] Nordvik base layer 200"
    report = read_csv(catalog.with_name("c.localized.report.csv"))
    assert [r[3] for r in report[1:]] == ["term_missing"]  # flagged, not traded for a lost number


def example_copier(*, always=False, copy="{answer} 420D nylon", retry="{answer}") -> FakeEngine:
    """Copies the prompt's worked example ("420D nylon", a code the product
    lacks) whenever the example is in the chat, as the 1.5B model did for a
    yoga mat's page; `always` copies it anyway."""
    def answer(asked):
        with_example = any(m["role"] == "assistant" for m in asked.request.messages)
        return (copy if with_example or always else retry).format(answer=engine.default_answer(asked).text)

    engine = FakeEngine(answer=answer)
    return engine


def chat_lengths(engine: FakeEngine) -> list[int]:
    return [len(asked.request.messages) for asked in engine.asked]


def test_an_answer_that_would_be_withheld_is_retried_without_the_worked_example(catalog, glossary):
    engine = example_copier()
    _, stats = go(catalog, glossary, engine)
    # First answers: system, the example's turn pair, the text; the banned claim's repair turn (+2);
    # then the retries of both withheld answers: system and text only.
    assert chat_lengths(engine) == [4, 4, 6, 2, 2]
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[1]["Title_es"] == "[es] AeroTrail X2 trail shoe by Nordvik"
    report = read_csv(catalog.with_name("c.localized.report.csv"))
    assert not any(r[3] == "new_code" for r in report[1:])
    assert stats.repairs >= 2


def test_a_withheld_cell_counts_as_unmet_in_the_run_and_in_eval(tmp_path, glossary):
    """The run's glossary numbers are the written catalog's: a cell left empty
    keeps none of its brands and realizes none of its terms, as `localize
    eval` reads the same file."""
    from localize.eval.run import EvalOptions, evaluate

    catalog = write_csv(tmp_path / "c.csv", [
        ["Handle", "Title"],
        ["a", "Nordvik merino base layer"],
        ["b", "AeroTrail X2 trail shoe by Nordvik base layer"],
    ])
    engine = example_copier(always=True)
    _, stats = go(catalog, glossary, engine)
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert [r["Title_es"] for r in out] == ["", ""]
    g = stats.glossary["es"]
    assert (g["terms_required"], g["terms_realized"]) == (2, 0)
    assert (g["keep_required"], g["keep_missing"]) == (3, 3)
    result = evaluate(EvalOptions(path=catalog.with_name("c.localized.csv"), glossaries=(glossary,), quiet=True,
                                  metrics=("chrF",)))
    es = result.locales["es"]
    assert (es.terms_expected, es.terms_found) == (2, 0)
    keep_rows = [v for r in result.rows for v in r.violations if v[0] == "keep_missing"]
    assert len(keep_rows) == 3


def test_an_answer_that_copied_the_worked_example_is_asked_again_and_flagged_if_it_still_does(tmp_path, glossary):
    """The 1.5B model opened a yoga mat's Spanish text with the example's
    "Mochila de senderismo" (a hiking backpack). Not unsafe, so published,
    but asked again without the example, and flagged when that copies too."""
    catalog = write_csv(tmp_path / "c.csv", [["Handle", "Title"], ["a", "Ro 4 mm Yoga Mat"]])
    engine = example_copier(copy="Mochila de senderismo {answer}")
    go(catalog, glossary, engine)
    assert chat_lengths(engine) == [4, 2]
    assert as_dicts(read_csv(catalog.with_name("c.localized.csv")))[0]["Title_es"] == "[es] Ro 4 mm Yoga Mat"

    for stubborn in (
        example_copier(copy="Mochila de senderismo {answer}", always=True),  # copies again
        example_copier(copy="Mochila de senderismo {answer}", retry="[es] Ro Yoga Mat"),  # loses "4 mm"
    ):
        go(catalog, glossary, stubborn)
        out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
        assert out[0]["Title_es"] == "Mochila de senderismo [es] Ro 4 mm Yoga Mat"  # the first answer, kept
        report = read_csv(catalog.with_name("c.localized.report.csv"))
        assert [(r[3], r[4]) for r in report[1:]] == [
            ("example_copied", "words of the prompt's worked example, not of this product: mochila, senderismo")]


def test_a_repair_that_copies_the_worked_example_is_not_kept(catalog, glossary):
    """A lock round fixed the term but opened with the example's "Mochila"
    (the 1.5B model wrote "Mochila ligera QX1 ..." for a trail shoe): the
    first answer, with its term flagged, beats a text about a backpack."""
    def answer(kind, locale, source):
        if re.search(r"merino QX\d", source):  # the lock round: term locked in, example copied out
            return f"Mochila [{locale}] {source}"
        return _ignores_injected_terms(kind, locale, source)

    engine = FakeEngine(first=answer, obeys_repairs=False)
    go(catalog, glossary, engine)
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[0]["Title_es"] == "[es] Nordvik merino base layer, best seller"
    report = read_csv(catalog.with_name("c.localized.report.csv"))
    assert ("1", "term_missing") in {(r[0], r[3]) for r in report[1:]}
    assert not any(r[3] == "example_copied" for r in report[1:])
    assert any("merino QX" in r.source for r in engine.requests)  # the lock round was tried


def test_a_shorter_answer_that_would_be_withheld_is_not_kept(tmp_path, glossary):
    """The shorten round keeps a shorter answer only if it can be published."""
    catalog = write_csv(tmp_path / "c.csv", [["Handle", "SEO Title"], ["a", "Merino " + "wool " * 20 + "crew"]])

    engine = FakeEngine(answer=lambda asked: "Lana 420D" if asked.turn == "shorten" else None)
    go(catalog, glossary, engine)
    assert len(engine.requests) == 1  # kept from the start, the withheld answer needed no second try
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[0]["SEO Title_es"].startswith("[es] Merino wool")  # the long answer, flagged too_long
    report = read_csv(catalog.with_name("c.localized.report.csv"))
    # The fake engine answers in English: a run reports that (untranslated) as `localize eval` does.
    assert [r[3] for r in report[1:] if r[3] != "untranslated"] == ["too_long"]
