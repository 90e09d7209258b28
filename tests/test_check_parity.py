"""A run's report and `localize eval` give the same verdict per code on the same output.

A corpus of crafted answers covers every code of the registry (a new code
without a case fails `test_the_corpus_covers_every_code`). A scripted engine
returns them to a real run (`localize.pipeline.run.run`), which writes the
localized catalog and its report; `localize eval` then checks that file with
the same glossary and market. For every published cell the codes `localize
eval` decides agree. A cell a run withholds is empty in the file, so those
codes are compared where both decide them: the run's call per cell
(`vet_cell`) and eval's row check on the same (source, answer) pair.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import pytest

from localize.backends.base import Backend, Generation
from localize.checks import CODES, FILE_CODES, REGISTRY, WITHHELD, Pair, vet_cell
from localize.checks.langid import get_identifier
from localize.eval.checks import Row, check_row
from localize.eval.run import EvalOptions, evaluate
from localize.pipeline.run import RunOptions, run
from localize.text.locales import parse_locales
from localize.text.markets import load_market

GLOSSARY = """source,target,locale,kind,case_sensitive,note
Nordvik,,,keep,true,brand
beanie,gorro,es,term,false,house style
barato,,es,ban,false,claim
"""
NORDVIK_TEXT = ("This merino wool sweater is made by Nordvik in a small mill: soft on the skin, warm on cold "
                "mornings and easy to wash at thirty degrees. It keeps its shape for years of {end}")
NORDVIK_ES = ("Este jersey de lana merino lo fabrica {ph} en un pequeño taller: suave con la piel, cálido en las "
              "mañanas frías y fácil de lavar a treinta grados. Mantiene su forma durante años de uso diario")
COLUMNS = {"title": "Title", "text": "Body (HTML)", "html": "Body (HTML)"}


@dataclass(frozen=True)
class Case:
    code: str  # the code this case exists for
    kind: str  # title | text | html: the column it goes in
    source: str
    answer: str  # "{ph}": the prompt's first keep placeholder; "{unknown}": one the prompt has not


CASES = [
    Case("empty_output", "title", "Wool hiking socks, pack of three", ""),
    Case("html_structure", "html", "<p>Soft <strong>merino</strong> wool for cold days.</p>",
         "<p>Lana merino suave para días fríos.</p>"),
    Case("numbers_changed", "title", "Merino wool scarf, 180 cm long", "Bufanda de lana merino, 18 cm de largo"),
    Case("unchanged", "title", "Organic cotton tote bag with zipper", "Organic cotton tote bag with zipper"),
    Case("too_long", "title", "Waterproof trail jacket with adjustable hood and pockets",
         "Chaqueta impermeable y transpirable para montaña con capucha ajustable y bolsillos con cremallera"),
    Case("units_changed", "title", "Insulated water bottle, 750 ml", "Botella de agua aislada, 750 mililitros"),
    Case("codes_changed", "title", "Sony WH-1000XM5 wireless noise cancelling headphones",
         "Auriculares inalámbricos Sony con cancelación de ruido"),
    Case("urls_changed", "text", "Read the care guide at https://shop.example/care before washing.",
         "Lee la guía de cuidado antes de lavar."),
    Case("untranslated", "title", "Lightweight packable down vest for travel",
         "Lightweight down vest, packable, for travel"),
    Case("wrong_language", "title", "Lightweight waterproof mountain jacket with adjustable hood",
         "Veste de montagne imperméable et légère avec capuche réglable"),
    Case("keep_missing", "text", NORDVIK_TEXT.format(end="everyday wear"), NORDVIK_ES.replace("lo fabrica {ph}", "se fabrica")),
    Case("term_missing", "title", "Chunky grey beanie knitted by hand", "Sombrero gris de punto grueso tejido a mano"),
    Case("banned_term", "title", "Affordable fleece gloves", "Guantes polares de precio barato"),
    Case("unsafe_html", "html", "<p>Soft wool blanket for the sofa.</p>",
         "<p>Manta de lana suave para el sofá.</p><script>alert(1)</script>"),
    Case("new_html", "title", "Striped cotton beach towel", "Toalla de playa <b>de algodón</b> a rayas"),
    Case("html_sanitized", "html", "<p>Handmade ceramic mug, dishwasher safe.</p>",
         "<p>Taza de cerámica <b>hecha a mano</b>, apta para lavavajillas.</p>"),
    Case("new_url", "title", "Bamboo cutting board", "Tabla de cortar de bambú, visita cheap-deals.shop"),
    Case("new_code", "title", "Black knitted winter hat", "Gorro de invierno negro HACKED-7F3A"),
    Case("prompt_echo", "title", "Linen throw pillow cover", "Funda de cojín de lino <<< suave"),
    Case("length_ratio", "title", "Red scarf", "Bufanda roja " * 800),
    Case("hidden_characters", "title", "Leather card holder wallet", "Cartera tarjetero de cuero\u202e"),
    Case("example_copied", "title", "Yoga mat with carrying strap", "Mochila de senderismo: esterilla de yoga con correa"),
    Case("keep_duplicated", "text", NORDVIK_TEXT.format(end="weekend walks"),
         NORDVIK_ES + ", {ph} y {ph} lo garantizan"),
    Case("placeholder_left", "text", NORDVIK_TEXT.format(end="cold winters"),
         NORDVIK_ES + " {unknown}"),
]
KEY_WORDS = 3  # the last words of a source name its case (glossary terms sit earlier)
_PLACEHOLDER = re.compile(r"\b([A-Z]{2})1\b")


class ScriptedEngine(Backend):
    """Answers every request about a case's source (first round, repairs, retries) with its crafted answer."""

    name = "scripted"

    def generate(self, requests, on_result=None):
        out = []
        for i, request in enumerate(requests):
            # The product's turn: the last user turn with the <<< >>> block (a repair turn comes after it).
            prompt = [m["content"] for m in request.messages if m["role"] == "user" and "<<<" in m["content"]][-1]
            gen = Generation(text=self.answer(prompt), completion_tokens=1)
            if on_result:
                on_result(i, gen)
            out.append(gen)
        return out

    @staticmethod
    def answer(prompt: str) -> str:
        data = prompt.split("<<<", 1)[1]
        case = next(c for c in CASES if _words(c.source)[-KEY_WORDS:] == _words(data)[-KEY_WORDS:])
        ph = _PLACEHOLDER.search(data)
        prefix = ph.group(1) if ph else "QX"
        return case.answer.replace("{ph}", f"{prefix}1").replace("{unknown}", f"{prefix} 9")


def _words(text: str) -> list[str]:
    """The last words identify a case in a prompt: keep-terms (masked) and terms (injected) come earlier."""
    return re.findall(r"[a-z]+", re.sub(r"<[^>]*>", " ", text.split(">>>", 1)[0]).lower())


def test_the_corpus_covers_every_code():
    assert {c.code for c in CASES} == set(CODES)
    sources = [_words(c.source)[-KEY_WORDS:] for c in CASES]
    assert len(sources) == len(set(map(tuple, sources)))  # the engine tells the cases apart


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """(run report codes, eval codes, published value) per case, from one run and one evaluation."""
    tmp = tmp_path_factory.mktemp("parity")
    glossary = tmp / "house.csv"
    glossary.write_text(GLOSSARY, encoding="utf-8")
    catalog = tmp / "corpus.csv"
    with open(catalog, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Handle", "Title", "Body (HTML)"])
        for i, case in enumerate(CASES):
            writer.writerow([f"p{i}", *(case.source if COLUMNS[case.kind] == col else "" for col in ("Title",
                                                                                                   "Body (HTML)"))])
    run(RunOptions(input=catalog, locales=parse_locales("es"), market="ebay", quiet=True, glossaries=[glossary]),
        backend=ScriptedEngine())
    reported: dict[int, set[str]] = {}
    with open(tmp / "corpus.localized.report.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            reported.setdefault(int(r["row"]), set()).add(r["issue"])
    with open(tmp / "corpus.localized.csv", encoding="utf-8", newline="") as f:
        written = list(csv.DictReader(f))
    result = evaluate(EvalOptions(path=tmp / "corpus.localized.csv", market="ebay", glossaries=(glossary,)))
    evaluated = {int(r.id): {c for c, _ in r.violations} for r in result.rows}
    return {
        case.code: (reported.get(i + 1, set()), evaluated.get(i + 1, set()), written[i][f"{COLUMNS[case.kind]}_es"])
        for i, case in enumerate(CASES)
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.code)
def test_a_run_and_eval_agree_on_each_case(case, verdicts):
    reported, evaluated, value = verdicts[case.code]
    if case.code in WITHHELD or case.code == "empty_output":
        assert value == ""  # withheld, or the engine's empty answer: nothing published
        if case.code != "empty_output":
            assert case.code in reported
        _compare_functions(case)
        return
    assert value != ""
    assert case.code in reported
    # Every code eval decides gets the same verdict from the run's report and from eval of the file.
    assert reported & set(FILE_CODES) == evaluated
    if REGISTRY[case.code].removes:  # cleaned before publishing: the report says so, the file no longer shows it
        assert case.code not in evaluated


def _compare_functions(case: Case) -> None:
    """The run's call per cell and eval's row check on the same (source, answer) pair."""
    answer = ScriptedEngine.answer(f"<<<\n{case.source}\n>>>")
    max_chars = load_market("ebay").limit("title") if case.kind == "title" else None
    value, issues = vet_cell(answer, case.source, "es", case.kind, max_chars)
    run_codes = {code for code, _ in issues}
    row = Row("1", "es", "es", case.kind, case.source, answer, max_chars=max_chars)
    eval_codes = {code for code, _ in check_row(row, get_identifier())}
    assert case.code in run_codes
    # Of the codes that withhold a cell, eval decides those of file scope (wrong_language): same verdict.
    both = {code for code in WITHHELD if REGISTRY[code].scope == "file"} | {"empty_output"}
    assert run_codes & both == eval_codes & both
    assert (value is None) == (case.code in WITHHELD)
    pair = Pair(case.source, answer, case.kind, "es", max_chars, get_identifier())
    assert REGISTRY[case.code].func(pair)  # the registry's function is what decided it
