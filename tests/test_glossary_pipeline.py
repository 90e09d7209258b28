"""Glossary enforcement in a run: masking, prompts, repair round, report, --strict.

Uses a deterministic fake engine (tests/test_pipeline.py's, extended to answer
repair turns) because these tests pin exact requests, repair rounds and counts;
the real embedded model runs the example glossaries in test_end_to_end.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localize.backends.base import Generation
from localize.errors import GlossaryViolations
from localize.pipeline.run import RunOptions, enforce_strict, run
from localize.text.locales import parse_locales
from test_pipeline import FakeEngine, as_dicts, read_csv, write_csv

GLOSSARY = """source,target,locale,kind,case_sensitive,note
Nordvik,,,keep,true,brand
AeroTrail X2,,,keep,true,product line
base layer,capa base,es,term,false,house style
best seller,,es,ban,false,unverifiable claim
"""


class RepairingEngine(FakeEngine):
    """First answers like FakeEngine (optionally breaking the rules), then obeys repair turns."""

    def __init__(self, *, first=None, obeys_repairs=True):
        super().__init__(override=first)
        self.obeys_repairs = obeys_repairs
        self.repair_turns = []

    def generate(self, requests, on_result=None):
        regular = [r for r in requests if not r.messages[-1]["content"].startswith("Revise your answer:")]
        if len(regular) == len(requests):
            return super().generate(requests, on_result)
        out = []
        for i, req in enumerate(requests):
            self.repair_turns.append(req)
            answer = req.messages[-2]["content"]
            if self.obeys_repairs:
                ask = req.messages[-1]["content"]
                for src, tgt in re.findall(r'Translate "([^"]+)" as "([^"]+)"', ask):
                    answer = re.sub(re.escape(src), tgt, answer, flags=re.I)
                for banned in re.findall(r'Do not use "([^"]+)"', ask):
                    answer = re.sub(re.escape(banned), "", answer, flags=re.I).strip()
                for token in re.findall(r"Copy (\S+) exactly", ask):
                    answer = answer if token in answer else f"{answer} {token}"
            gen = Generation(text=answer, completion_tokens=2)
            if on_result:
                on_result(i, gen)
            out.append(gen)
        return out


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
    opts = RunOptions(input=catalog, locales=parse_locales("es"), quiet=True, glossaries=[glossary], **kw)
    return opts, run(opts, backend=engine)


def test_keep_terms_are_masked_and_restored(catalog, glossary):
    engine = RepairingEngine()
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
    engine = RepairingEngine(first=_ignores_injected_terms)
    _, stats = go(catalog, glossary, engine)
    first = [r for r in engine.requests if "capa base" in r.source]
    assert len(first) == 1 and "base layer" not in first[0].source  # the target is written in place of the source
    assert '"base layer" -> "capa base"' in first[0].prompt
    locked = [r for r in engine.requests if "merino" in r.source and r is not first[0]]
    assert len(locked) == 1 and re.search(r"merino QX\d, best seller", locked[0].source)
    assert "capa base" not in locked[0].prompt and "Copy QX1, QX2 exactly" in locked[0].prompt
    assert len(engine.repair_turns) == 1 and 'Do not use "best seller"' in engine.repair_turns[0].messages[-1]["content"]
    assert "Translate" not in engine.repair_turns[0].messages[-1]["content"]  # the term had its round
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert out[0]["Title_es"] == "[es] Nordvik merino capa base,"
    g = stats.glossary["es"]
    assert g["terminology_accuracy"] == 1.0 and g["bans_found"] == 0 and g["keep_missing"] == 0
    assert stats.repairs == 2 and stats.glossary_violations == 0
    assert first[0].request.bad_words == ("best seller",)  # handed to engines that can block it


def test_locked_term_is_capitalized_where_a_title_starts(tmp_path, glossary):
    catalog = write_csv(tmp_path / "c.csv", [["Handle", "Title"], ["a", "Base layer by Nordvik"]])
    engine = RepairingEngine(first=lambda kind, locale, source: source.replace("capa base", "base layer"))
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
    engine = RepairingEngine(first=_stubborn, obeys_repairs=False)
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

    engine = RepairingEngine(first=drop_placeholders)
    _, stats = go(catalog, glossary, engine)
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    assert "AeroTrail X2" in out[1]["Title_es"] and "Nordvik" in out[1]["Title_es"]
    assert stats.glossary["es"]["keep_missing"] == 0


def test_keep_terms_come_back_in_titles_even_when_repairs_fail(catalog, glossary):
    """A model that drops every placeholder and ignores repair turns: leading
    keep terms go back in front at once, a mid-text one after the failed repair."""
    def drop_placeholders(kind, locale, source):
        return re.sub(r"\S*\d\S*", "", source).strip() or "x"

    engine = RepairingEngine(first=drop_placeholders, obeys_repairs=False)
    _, stats = go(catalog, glossary, engine)
    out = as_dicts(read_csv(catalog.with_name("c.localized.csv")))
    title = out[1]["Title_es"]
    assert title.startswith("Nordvik AeroTrail X2 ") and title.count("Nordvik") == 1
    assert stats.glossary["es"]["keep_missing"] == 0
    assert len(engine.repair_turns) >= 1  # the model got its chance first
