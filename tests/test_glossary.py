"""Glossaries: formats, masking of keep terms, locale-aware checks, the metric, the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from localize.errors import InputError
from localize.glossary.formats import load_glossaries, load_glossary, locale_from_name
from localize.glossary.masking import Masked, lock_terms, mask, problem_kind, unmask
from localize.glossary.matching import banned_in, keep_in, kept_ok, realized
from localize.glossary.metric import TermCheck
from localize.glossary.model import KINDS, Entry, Glossary
from localize.text.html import structure
from localize.text.locales import parse_locale

REPO = Path(__file__).resolve().parents[1]
GLOSSARIES = REPO / "glossaries"
SHARED_GLOSSARY = Path(__file__).resolve().parents[2] / "shared" / "data" / "glossary"
EXIT_INPUT = 3


def keep(source: str, cs: bool = True, locale: str | None = None) -> Entry:
    return Entry(source, "", locale, "keep", cs)


def term(source: str, target: str, locale: str | None = None, cs: bool = False, alternatives=()) -> Entry:
    return Entry(source, target, locale, "term", cs, alternatives=tuple(alternatives))


def ban(source: str, locale: str | None = None, cs: bool = False) -> Entry:
    return Entry(source, "", locale, "ban", cs)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def assert_valid(g: Glossary) -> None:
    for e in g.entries:
        assert e.kind in KINDS
        assert e.source and e.source == e.source.strip()
        assert (e.target != "") == (e.kind == "term")
        assert e.locale is None or parse_locale(e.locale).code == e.locale
        assert re.search(r":\d+$", e.origin), e.origin


# --- every shipped and shared glossary parses ---------------------------------------------


SHIPPED = sorted(p for p in GLOSSARIES.iterdir() if p.suffix.lower() in {".csv", ".tsv", ".tbx", ".xml"})


def test_shipped_glossaries_exist():
    names = {p.name for p in SHIPPED}
    assert {"nordvik-brands.keep.csv", "apparel.terms.csv", "marketplace-claims.ban.csv"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_glossary_parses(path):
    g = load_glossary(path)
    assert g.format == "native"
    assert len(g) > 0
    assert_valid(g)


def test_shipped_glossaries_merge_and_fit_the_example_catalog():
    g = load_glossaries(SHIPPED)
    assert {e.kind for e in g.entries} == set(KINDS)
    assert {loc for loc in g.locales() if loc} >= {"es", "fr", "tr", "de"}
    es = g.for_locale("es")
    title = "Nordvik Fjell 2L Rain Jacket"
    masked = mask(title, es.keep)
    assert masked.text == "QX1 Rain Jacket"  # brand and product line side by side: one placeholder
    assert masked.placeholders == {"QX1": "Nordvik Fjell 2L"}
    assert [e.target for e in es.terms_in(title)] == ["chaqueta impermeable"]
    # Room is not the Ro yoga mat line
    assert mask("Room for the Ro mat", es.keep).text == "Room for the QX1 mat"


def test_apparel_terms_cover_four_locales_each():
    g = load_glossary(GLOSSARIES / "apparel.terms.csv")
    by_source: dict[str, set] = {}
    for e in g.entries:
        by_source.setdefault(e.source, set()).add(e.locale)
    assert len(by_source) >= 40
    assert all(locs == {"es", "fr", "tr", "de"} for locs in by_source.values())


def test_readme_example_is_valid(tmp_path):
    text = (GLOSSARIES / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```csv\n(.*?)```", text, re.S).group(1)
    g = load_glossary(write(tmp_path / "example.csv", block))
    assert_valid(g)
    assert [e.kind for e in g.entries] == ["keep", "keep", "term", "term", "term", "ban", "ban"]
    assert g.for_locale("es-MX").terms_in("a rain jacket")[0].target == "chamarra impermeable"


def _shared_files() -> list:
    if not SHARED_GLOSSARY.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared/data/glossary is absent"))]
    files = sorted(p for p in SHARED_GLOSSARY.rglob("*") if p.suffix.lower() in {".csv", ".tsv", ".tbx", ".xml"})
    return files or [pytest.param(None, marks=pytest.mark.skip(reason="no glossary files in ../shared/data/glossary"))]


@pytest.mark.parametrize("path", _shared_files(), ids=lambda p: p.name if p else "absent")
def test_shared_glossary_parses(path):
    g = load_glossary(path)
    assert g.format in {"tico19", "multilingual"}
    assert len(g) > 0
    assert_valid(g)
    assert all(e.kind == "term" for e in g.entries)


def test_shared_tico19_details():
    tico = SHARED_GLOSSARY / "tico19-terminologies"
    if not tico.is_dir():
        pytest.skip("TICO-19 terminologies are absent")
    es = load_glossary(tico / "f_en-es_XX.csv")
    assert es.locales() == ["es"]  # es_XX: no region
    assert len(es) == 306  # the rows holding only "es_XX" are skipped
    de = load_glossary(tico / "g_en_de.csv")
    quarantine = [e for e in de.entries if e.source == "quarantine"]
    assert len(quarantine) == 1  # noun and verb senses become alternatives
    assert set(quarantine[0].renderings) == {"Quarantäne", "unter Quarantäne stellen"}
    aids = [e for e in load_glossary(tico / "f_en-de_DE.csv").entries if e.source == "AIDS"]
    assert aids and aids[0].case_sensitive and aids[0].locale == "de-DE"


def test_shared_shopify_taxonomy():
    path = SHARED_GLOSSARY / "shopify-taxonomy" / "values.accessory.en-fr-ja.tsv"
    if not path.is_file():
        pytest.skip("Shopify taxonomy extract is absent")
    g = load_glossary(path)
    assert g.locales() == ["fr", "ja"]
    ja = g.for_locale("ja")
    entry = next(e for e in ja.terms if e.source == "Waterproof")
    assert entry.target == "防水"
    assert ja.terms_in("A waterproof case") == [entry]
    assert realized("防水ケース", entry, "ja")  # no word boundaries in Japanese


# --- formats -----------------------------------------------------------------------


def test_native_defaults_and_columns(tmp_path):
    text = "kind,source,target,locale\nkeep,Nordvik,,\nterm,base layer,capa base,ES\nban,#1,,*\n"
    path = write(tmp_path / "g.csv", text)
    g = load_glossary(path)
    k, t, b = g.entries
    assert (k.kind, k.case_sensitive, k.locale, k.target) == ("keep", True, None, "")
    assert (t.case_sensitive, t.locale, t.origin) == (False, "es", f"{path}:3")
    assert (b.source, b.locale) == ("#1", None)


def test_native_tsv_semicolons_bom_and_utf16(tmp_path):
    rows = [["source", "target", "locale", "kind"], ["hood", "capuche", "fr", "term"]]
    for name, sep, enc in (("g.tsv", "\t", "utf-8"), ("g.csv", ";", "utf-8-sig"), ("u.csv", ",", "utf-16")):
        text = "\n".join(sep.join(r) for r in rows) + "\n"
        g = load_glossary(write(tmp_path / name, text, enc))
        assert [(e.source, e.target) for e in g.entries] == [("hood", "capuche")], name


def test_empty_glossaries_are_fine(tmp_path):
    for name, text in (("empty.csv", ""), ("blank.csv", "\n\n"), ("header.csv", "source,target,locale,kind\n")):
        g = load_glossary(write(tmp_path / name, text))
        assert len(g) == 0 and not g
        assert not g.for_locale("es")
        assert g.for_locale("es").terms_in("anything") == []
    assert len(load_glossaries([])) == 0


def test_deepl_two_columns_locale_from_file_name(tmp_path):
    text = 'rain jacket,chaqueta impermeable\n"hood, detachable",capucha desmontable\nNordvik,Nordvik\n'
    path = write(tmp_path / "brands.en-es.csv", text)
    g = load_glossary(path)
    assert g.format == "deepl"
    assert [(e.kind, e.source, e.target, e.locale) for e in g.entries] == [
        ("term", "rain jacket", "chaqueta impermeable", "es"),
        ("term", "hood, detachable", "capucha desmontable", "es"),
        ("keep", "Nordvik", "", "es"),  # DeepL's "map it to itself" idiom
    ]
    assert locale_from_name(Path("terms.en-pt-BR.tsv")) == "pt-BR"
    assert locale_from_name(Path("terms.de.csv")) == "de"
    assert locale_from_name(Path("nordvik-brands.keep.csv")) is None


def test_deepl_export_with_language_columns_and_tsv(tmp_path):
    g = load_glossary(write(tmp_path / "export.csv", "Pullover,Pulli,EN,DE\nbeanie,Mütze,EN,DE,0.9\n"))
    assert [(e.target, e.locale) for e in g.entries] == [("Pulli", "de"), ("Mütze", "de")]
    g = load_glossary(write(tmp_path / "g.tsv", "source\ttarget\nhood\tkapüşon\n"), locale="tr")
    assert [(e.source, e.target, e.locale) for e in g.entries] == [("hood", "kapüşon", "tr")]


def test_deepl_without_target_language_is_an_error(tmp_path):
    with pytest.raises(InputError, match=r"brands\.csv, row 1: cannot tell the target language"):
        load_glossary(write(tmp_path / "brands.csv", "hood,capucha\n"))


def test_multilingual_csv(tmp_path):
    text = "en,es,fr,de,pos,description\nhood,capucha,capuche,Kapuze,noun,jacket part\nbeanie,gorro,,Mütze,noun,\n"
    g = load_glossary(write(tmp_path / "terms.csv", text))
    assert g.format == "multilingual"
    assert [(e.source, e.target, e.locale) for e in g.entries] == [
        ("hood", "capucha", "es"), ("hood", "capuche", "fr"), ("hood", "Kapuze", "de"),
        ("beanie", "gorro", "es"), ("beanie", "Mütze", "de"),  # the empty fr cell gives no entry
    ]
    assert g.entries[0].note == "jacket part"


def test_multilingual_conflict_without_sense_is_an_error(tmp_path):
    path = write(tmp_path / "terms.csv", "en,es\nhood,capucha\nhood,gorro\n")
    with pytest.raises(InputError, match=r"row 3: .*'hood'.*line 2.*line 3"):
        load_glossary(path)


TBX_BASIC = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE martif SYSTEM "TBXBasiccoreStructV02.dtd">
<martif type="TBX-Basic" xml:lang="en">
  <text><body>
    <termEntry id="c1">
      <descrip type="definition">Waterproof jacket worn in rain</descrip>
      <langSet xml:lang="en"><tig><term>rain jacket</term></tig></langSet>
      <langSet xml:lang="es">
        <tig><term>chaqueta impermeable</term>
          <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote></tig>
        <tig><term>impermeable</term>
          <termNote type="administrativeStatus">admittedTerm-admn-sts</termNote></tig>
        <tig><term>chubasquero barato</term>
          <termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote></tig>
      </langSet>
      <langSet xml:lang="fr-FR"><tig><term>veste de pluie</term></tig></langSet>
    </termEntry>
  </body></text>
</martif>
"""

TBX_V3 = """<?xml version="1.0" encoding="UTF-8"?>
<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2">
  <text><body>
    <conceptEntry id="1">
      <langSec xml:lang="en"><termSec><term>base layer</term></termSec></langSec>
      <langSec xml:lang="tr"><termSec><term>içlik</term></termSec></langSec>
    </conceptEntry>
  </body></text>
</tbx>
"""


def test_tbx_basic(tmp_path):
    g = load_glossary(write(tmp_path / "g.tbx", TBX_BASIC))
    assert g.format == "tbx"
    es_term, es_ban, fr_term = g.entries
    assert (es_term.source, es_term.target) == ("rain jacket", "chaqueta impermeable")
    assert es_term.alternatives == ("impermeable",)
    assert es_term.origin.endswith(":9")
    assert (es_ban.kind, es_ban.source, es_ban.locale) == ("ban", "chubasquero barato", "es")
    assert (fr_term.target, fr_term.locale) == ("veste de pluie", "fr-FR")
    assert es_term.note == "Waterproof jacket worn in rain"


def test_tbx_v3(tmp_path):
    g = load_glossary(write(tmp_path / "g.tbx", TBX_V3))
    assert [(e.source, e.target, e.locale) for e in g.entries] == [("base layer", "içlik", "tr")]


def test_tbx_refuses_entities(tmp_path):
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE martif [\n<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;">\n]>\n'
            "<martif><text><body/></text></martif>\n")
    with pytest.raises(InputError, match=r"g\.tbx, row \d+: .*not allowed"):
        load_glossary(write(tmp_path / "g.tbx", bomb))
    with pytest.raises(InputError, match=r"row 2: not well-formed XML"):
        load_glossary(write(tmp_path / "bad.tbx", "<martif>\n<text></martif>\n"))


# --- bad input ------------------------------------------------------------------------


def test_malformed_row_names_file_and_line(tmp_path):
    path = write(tmp_path / "g.csv", "source,target,locale,kind\nhood,capucha,es,term\nbase layer,capa, base,es,term\n")
    with pytest.raises(InputError) as exc:
        load_glossary(path)
    message = str(exc.value)
    assert message.startswith(f"{path}, row 3: malformed row")
    assert "\n" not in message


def test_unterminated_quote_is_malformed(tmp_path):
    path = write(tmp_path / "g.csv", 'source,target,locale,kind\nhood,"capucha,es,term\n')
    with pytest.raises(InputError, match=r"row 2"):
        load_glossary(path)


def test_conflicting_targets_name_both_lines(tmp_path):
    text = ("source,target,locale,kind\nbase layer,capa base,es,term\nhood,capucha,es,term\n"
            "Base Layer,primera capa,es,term\n")
    path = write(tmp_path / "g.csv", text)
    with pytest.raises(InputError) as exc:
        load_glossary(path)
    message = str(exc.value)
    assert f"{path}, row 4" in message
    assert "line 2" in message and "line 4" in message
    assert "'capa base'" in message and "'primera capa'" in message


def test_same_source_for_other_locales_is_not_a_conflict(tmp_path):
    text = "source,target,locale,kind\nhood,capucha,es,term\nhood,capuche,fr,term\nhood,capucha,es,term\n"
    path = write(tmp_path / "g.csv", text)
    assert len(load_glossary(path)) == 2  # the exact duplicate is dropped


def test_keep_and_term_conflict(tmp_path):
    path = write(tmp_path / "g.csv", "source,target,locale,kind\nFjell,,,keep\nFjell,Montaña,,term\n")
    with pytest.raises(InputError, match=r"line 2 says keep it unchanged, line 3 says translate it as 'Montaña'"):
        load_glossary(path)


@pytest.mark.parametrize(
    "row, needle",
    [
        ("hood,capucha,es,translate", "row 2, column 'kind': unknown kind 'translate'; use keep, term or ban"),
        ("hood,capucha,es,", "column 'kind': the kind is empty"),
        ("hood,capucha,spanish,term", "row 2, column 'locale': unknown locale code 'spanish'"),
        ("hood,capucha,es-XY,term", "row 2, column 'locale': unknown region"),
        ("hood,,es,term", "has no target"),
        ("Nordvik,Nordwik,,keep", "keep entries are never translated"),
        ("best seller,top,,ban", "ban entries take no target"),
        (",capucha,es,term", "the source is empty"),
    ],
)
def test_bad_rows(tmp_path, row, needle):
    path = write(tmp_path / "g.csv", f"source,target,locale,kind\n{row}\n")
    with pytest.raises(InputError) as exc:
        load_glossary(path)
    assert needle in str(exc.value)
    assert str(exc.value).startswith(str(path))


def test_bad_header_and_bad_bool(tmp_path):
    with pytest.raises(InputError, match=r"row 1: unknown column 'lcoale'"):
        load_glossary(write(tmp_path / "a.csv", "source,target,lcoale,kind\n"))
    with pytest.raises(InputError, match=r"no 'kind' column"):
        load_glossary(write(tmp_path / "b.csv", "source,target,locale\nhood,capucha,es\n"))
    with pytest.raises(InputError, match=r"row 2, column 'case_sensitive': 'maybe' is not true or false"):
        load_glossary(write(tmp_path / "c.csv", "source,kind,case_sensitive\nNordvik,keep,maybe\n"))


def test_not_utf8_and_missing_file(tmp_path):
    path = tmp_path / "latin1.csv"
    text = "source,target,locale,kind\nhood,capucha,es,term\nhat,bonnet,fr,term\nnet,filé,es,term\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError, match=r"row 4: is not UTF-8"):
        load_glossary(path)
    with pytest.raises(InputError, match="no such glossary file"):
        load_glossary(tmp_path / "missing.csv")


def test_conflict_across_files_needs_override(tmp_path):
    first = write(tmp_path / "a.csv", "source,target,locale,kind\nrain jacket,chaqueta impermeable,es,term\n")
    second = write(tmp_path / "b.csv", "source,target,locale,kind\nrain jacket,chubasquero,es,term\n")
    with pytest.raises(InputError) as exc:
        load_glossaries([first, second])
    message = str(exc.value)
    assert message.startswith(f"{second}, row 2")
    assert f"{first}:2" in message and "override" in message
    third = write(tmp_path / "c.csv", "source,target,locale,kind,override\nrain jacket,chubasquero,es,term,true\n")
    g = load_glossaries([first, third])
    assert [e.target for e in g.entries] == ["chubasquero"]
    assert load_glossaries([first, first]).entries == load_glossary(first).entries  # duplicates merge


# --- the locale view --------------------------------------------------------------------------


def test_for_locale_language_match_and_specificity():
    g = Glossary([
        keep("Fjell"),
        term("Fjell", "Fjell Montaña", "es-MX"),
        term("rain jacket", "chaqueta impermeable", "es"),
        term("rain jacket", "chamarra impermeable", "es-MX"),
        term("rain jacket", "veste de pluie", "fr"),
        ban("best seller"),
        ban("garantizado", "es"),
    ])
    es = g.for_locale("es")
    assert [e.source for e in es.keep] == ["Fjell"]
    assert [e.target for e in es.terms] == ["chaqueta impermeable"]
    assert [e.source for e in es.bans] == ["best seller", "garantizado"]
    mx = g.for_locale("es_mx")
    assert mx.locale == "es-MX"
    assert mx.keep == ()
    assert sorted(e.target for e in mx.terms) == ["Fjell Montaña", "chamarra impermeable"]
    assert [e.source for e in g.for_locale("fr").bans] == ["best seller"]


def test_terms_in_rules():
    lg = Glossary([
        keep("AeroTrail X2"),
        keep("DWR"),
        term("jacket", "chaqueta", "es"),
        term("rain jacket", "chaqueta impermeable", "es"),
        term("base layer", "capa base", "es"),
        term("trail", "sendero", "es"),
        term("DWR finish", "acabado DWR", "es"),
        term("USB", "USB", "es", cs=True),
        term("merino wool", "lana merino", "es"),
    ]).for_locale("es")
    found = lambda text: [e.source for e in lg.terms_in(text)]  # noqa: E731
    assert found("Rain Jackets and a jacket") == ["rain jacket", "jacket"]  # longest wins, then the lone one
    assert found("BASE LAYERS") == ["base layer"]  # case-insensitive, English plural
    assert found("baselayer or base layered") == []  # word boundaries
    assert found("AeroTrail X2 for the trail") == ["trail"]  # not inside the kept name
    assert found("PFC-free DWR finish") == ["DWR finish"]  # a term around a kept name still counts
    assert found("usb cable") == []  # case-sensitive entry
    assert found('<p><em>merino</em> wool</p><img alt="rain jacket" src="https://x/jacket.jpg">') == [
        "merino wool", "rain jacket"]
    assert found('<a href="https://shop.example/rain-jacket">Shop</a>') == []


# --- masking ------------------------------------------------------------------------------


def test_mask_longest_and_case_and_boundaries():
    entries = [keep("Nordvik"), keep("Nordvik Outfitters"), keep("Ro"), keep("bære", cs=False)]
    text = "Nordvik Outfitters: the Nordvik Ro mat (Room-sized), BÆRE tote, Nordvik-made"
    m = mask(text, entries)
    assert m.text == "QX1: the QX2 mat (Room-sized), QX3 tote, QX4-made"
    assert m.placeholders == {"QX1": "Nordvik Outfitters", "QX2": "Nordvik Ro", "QX3": "BÆRE", "QX4": "Nordvik"}
    assert unmask(m.text, m) == (text, [])


def test_mask_html_text_and_attributes_only():
    entries = [keep("Nordvik"), keep("img", cs=False), keep("alt", cs=False), keep("strong", cs=False)]
    html = ('<p class="Nordvik">Strong <strong>Nordvik</strong> alt text <img alt="Nordvik img" '
            'src="https://cdn.example/Nordvik.jpg" title=\'Nordvik\'> '
            '<a href="https://nordvik.example/Nordvik">Nordvik</a> https://Nordvik.example/x</p>')
    m = mask(html, entries)
    assert m.text == ('<p class="Nordvik">QX1 <strong>QX2</strong> QX3 text <img alt="QX4" '
                      'src="https://cdn.example/Nordvik.jpg" title=\'QX2\'> '
                      '<a href="https://nordvik.example/Nordvik">QX2</a> https://Nordvik.example/x</p>')
    assert structure(m.text) == structure(html)
    assert unmask(m.text, m) == (html, [])


def test_mask_non_latin_scripts():
    entries = [keep("ノルドヴィク"), keep("Nordvik"), keep("Нордвик", cs=False), keep("نوردفيك")]
    text = "ノルドヴィクのジャケット、Nordvikの帽子。НОРДВИК и Нордвику? نوردفيك"
    m = mask(text, entries)
    assert m.text == "QX1のジャケット、QX2の帽子。QX3 и Нордвику? QX4"
    assert unmask(m.text, m)[0] == text


def test_mask_avoids_existing_placeholder_pattern():
    text = "Nordvik qx-1 and XQ2"
    m = mask(text, [keep("Nordvik")])
    assert m.prefix == "ZQ"
    assert m.text == "ZQ1 qx-1 and XQ2"
    assert unmask(m.text, m) == (text, [])
    problems = unmask("ZQ1 qx-1 and XQ2 ZQ2", m)[1]
    assert problems == ["unknown placeholder 'ZQ2' in the output (altered); left as is"]


def test_mask_leaves_occurrences_that_would_read_back_ambiguously():
    # "(R)" followed by a digit: "QX15" could be QX1 + "5" or QX15.
    m = mask("Nordvik(R)5 and Nordvik(R) 5", [keep("Nordvik(R)")])
    assert unmask(m.text, m) == ("Nordvik(R)5 and Nordvik(R) 5", [])
    assert "Nordvik(R)5" in m.text


def test_mask_nothing_to_do():
    assert mask("plain text", []) == Masked("plain text", {})
    assert mask("plain text", [keep("Nordvik")]).placeholders == {}
    assert mask("", [keep("Nordvik")]).text == ""


def test_unmask_reports_problems_and_never_raises():
    m = mask("Nordvik, Varde by Nordvik", [keep("Nordvik"), keep("Varde")])
    assert m.text == "QX1, QX2 by QX1"
    # spaced, hyphenated, lower-cased and Arabic-Indic digits are still recognized
    text, problems = unmask("QX 1 qx-2 de QX١", m)
    assert text == "Nordvik Varde de Nordvik"
    assert len(problems) == 3 and all("altered" in p for p in problems)
    assert unmask("QX1'in QX2'si, QX1", m) == ("Nordvik'in Varde'si, Nordvik", [])  # Turkish suffixes stay
    text, problems = unmask("QX2 QX2", m)
    assert text == "Varde Varde"
    assert any("QX1" in p and "missing" in p for p in problems)
    assert any("QX2" in p and "duplicated" in p for p in problems)
    assert [problem_kind(p) for p in unmask("QX2 QX2 qx-2 QX7", m)[1]] == ["altered", "unknown", "missing", "duplicated"]
    assert problem_kind("placeholder QX1 for 'is missing (1 of 2 in the output)' was altered to 'qx1'; restored") == "altered"
    assert unmask(None, m)[0] == ""
    assert unmask("QX99", m)[0] == "QX99"
    assert all("\n" not in p for p in unmask("", m)[1])



def test_lock_terms_placeholders_restore_as_targets():
    m = mask("Nordvik rain jacket with DWR finish. Rain jackets: see the DWR finish", [keep("Nordvik"), keep("DWR")])
    assert m.text == "QX1 rain jacket with QX2 finish. Rain jackets: see the QX2 finish"
    rain, dwr, hood = term("rain jacket", "chaqueta impermeable"), term("DWR finish", "acabado DWR"), term("hood", "capucha")
    locked, done = lock_terms(m, [rain, dwr, hood])
    assert done == [rain, dwr]  # hood is not in the text
    # a term next to a keep placeholder joins it (a small model read "QX1 QX3" as
    # "Nordvik and ..."); plurals of the source go whole; a term around a keep
    # term is found in its masked form
    assert locked.text == "QX3 with QX4. QX5: see the QX4"
    assert locked.placeholders == {"QX1": "Nordvik", "QX2": "DWR", "QX3": "Nordvik chaqueta impermeable",
                                   "QX4": "acabado DWR", "QX5": "chaqueta impermeable"}
    assert locked.silent == {"QX4", "QX5"} and locked.sentence_case == {"QX4", "QX5"}
    text, problems = unmask("QX3 con QX4. QX5: ver el QX4 de qx-5", locked)
    # capitalized where a sentence starts, as written elsewhere; a term placeholder
    # dropped or altered is not a keep problem (the term check judges the output)
    assert text == "Nordvik chaqueta impermeable con acabado DWR. Chaqueta impermeable: ver el acabado DWR de chaqueta impermeable"
    assert problems == []
    assert unmask("QX3", locked)[1] == []  # locked terms alone, missing: not reported here
    assert any("QX3" in p and "missing" in p for p in unmask("QX4 QX5", locked)[1])  # one holding Nordvik is
    assert unmask("QX4 and QX3", locked)[0] == "Acabado DWR and Nordvik chaqueta impermeable"


def test_lock_terms_in_html_changes_text_only():
    html = '<p title="Rain jacket">The rain jacket</p><a href="/rain-jacket">rain jacket</a>'
    locked, done = lock_terms(mask(html, []), [term("rain jacket", "veste de pluie")])
    assert locked.text == '<p title="QX1">The QX1</p><a href="/rain-jacket">QX1</a>'
    assert structure(locked.text) == structure(html)
    assert unmask('<p title="QX1">La QX1</p><a href="/rain-jacket">QX1</a>', locked)[0] == (
        '<p title="Veste de pluie">La veste de pluie</p><a href="/rain-jacket">veste de pluie</a>'
    )
    assert unmask("<li>Une <strong>QX1</strong></li>", locked)[0] == "<li>Une <strong>veste de pluie</strong></li>"
    assert lock_terms(mask("no term here", []), [term("hood", "capuche")]) == (Masked("no term here", {}), [])


# Property: mask -> unmask gives the original exactly, for any text and keep-list.

_ALPHABET = st.sampled_from(
    list("abcdeNordvikROo XYZ019-_.,'’/:")
    + list("éèæøåßİıIiçğş")  # accents, Nordic, German, Turkish
    + list("ЖжНордвик")  # Cyrillic
    + list("防水ジャケットのゴム帽子")  # CJK and kana
    + list("نوردفيك")  # Arabic
    + ["QX", "qx", "XQ", "1", "(R)", "\u0301", "\u00a0", "\n", "&amp;", "<", ">", '"']
)
_WORDS = st.lists(_ALPHABET, min_size=1, max_size=6).map("".join)


@st.composite
def _text_and_keep(draw):
    terms = draw(st.lists(_WORDS, min_size=1, max_size=5))
    # overlapping terms: prefixes, suffixes and extensions of other terms
    for t in list(terms):
        if len(t) > 1 and draw(st.booleans()):
            cut = draw(st.integers(1, len(t) - 1))
            terms.append(t[:cut] if draw(st.booleans()) else t[cut:])
        if draw(st.booleans()):
            terms.append(t + " " + draw(_WORDS))
    chunk = st.one_of(
        st.sampled_from(terms),
        _WORDS,
        st.just(" "),
        st.builds(lambda t: f'<img alt="{t}" src="https://x.example/{t}.jpg">', st.sampled_from(terms)),
        st.builds(lambda t: f"<p title='{t}'>", st.sampled_from(terms)),
        st.builds(lambda t: f'<a href="/{t}">{t}</a>', st.sampled_from(terms)),
        st.sampled_from(["<p>", "</p>", "<strong>", "</strong>", "<br>", "<!-- Nordvik -->", "<ul><li>", "</li></ul>"]),
    )
    text = "".join(draw(st.lists(chunk, max_size=14)))
    entries = [Entry(t, "", None, "keep", draw(st.booleans())) for t in terms]
    return text, draw(st.permutations(entries))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text_and_keep())
def test_property_mask_unmask_roundtrip(case):
    text, entries = case
    m = mask(text, entries)
    assert unmask(m.text, m) == (text, [])
    assert structure(m.text) == structure(text)  # tags, names and href/src values untouched
    if m.placeholders:
        assert m.prefix.casefold() not in text.casefold()
        assert all(original in text for original in m.placeholders.values())
        assert all(ph in m.text for ph in m.placeholders)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60), st.lists(st.text(min_size=1, max_size=8), max_size=6), st.booleans())
def test_property_roundtrip_arbitrary_text(text, sources, cs):
    assume("\x00" not in text)
    entries = [Entry(s, "", None, "keep", cs) for s in sources]
    m = mask(text, entries)
    assert unmask(m.text, m) == (text, [])


# --- matching ---------------------------------------------------------------------------------


def test_turkish_casing():
    assert realized("İSTANBUL'DA", term("Istanbul", "istanbul", "tr"), "tr")
    assert realized("istanbul", term("Istanbul", "İstanbul", "tr"), "tr")
    assert realized("ILIK su", term("lukewarm", "ılık", "tr"), "tr")
    assert not realized("ILIK su", term("marrow", "ilik", "tr"), "tr")  # dotless I is ı in Turkish
    assert realized("ILIK su", term("marrow", "ilik", "en"), "en")  # ...but i elsewhere
    assert not realized("ıstanbul", term("Istanbul", "İstanbul", "tr"), "tr")


def test_word_boundaries():
    assert not realized("Room service", term("x", "Ro"), "en")
    assert realized("the Ro mat", term("x", "Ro"), "en")
    assert not realized("capazo", term("cape", "capa"), "es")
    assert realized("ゴムボート", term("rubber", "ゴム"), "ja")
    assert realized("Nordvikのジャケット", term("x", "Nordvik", cs=True), "ja")
    assert realized("雨衣和防水", term("waterproof", "防水"), "zh")


def test_inflection_turkish():
    for form in ("ceket", "ceketi", "ceketler", "ceketlerimiz", "Ceketin"):
        assert realized(f"Bu {form} sıcak", term("jacket", "ceket", "tr"), "tr"), form
    assert realized("kitabı okudum", term("book", "kitap", "tr"), "tr")
    assert realized("Bu yağmurluğu seveceksiniz", term("rain jacket", "yağmurluk", "tr"), "tr")
    assert realized("iki yastık kılıfları", term("pillowcase", "yastık kılıfı", "tr"), "tr")
    assert realized("AeroTrail X2'nin tabanı", term("x", "X2", "tr", cs=True), "tr")
    assert not realized("cekme", term("jacket", "ceket", "tr"), "tr")


def test_inflection_german_and_spanish():
    assert realized("zwei Regenjacken", term("rain jacket", "Regenjacke", "de"), "de")
    assert realized("2 Kissenbezüge", term("pillowcase", "Kissenbezug", "de"), "de")
    assert realized("Unsere Merinowolle", term("wool", "Wolle", "de"), "de")  # compound
    assert realized("mit wasserdichten Nähten", term("waterproof", "wasserdicht", "de"), "de")
    assert realized("Chaquetas impermeables", term("rain jacket", "chaqueta impermeable", "es"), "es")
    assert realized("dos pantalones", term("trousers", "pantalón", "es"), "es")
    assert realized("una chaqueta ligera", term("light", "ligero", "es"), "es")  # gender
    assert realized("des vestes de pluie", term("rain jacket", "veste de pluie", "fr"), "fr")
    assert realized("deux taies d’oreiller", term("pillowcase", "taie d'oreiller", "fr"), "fr")
    assert not realized("una chaqueta", term("rain jacket", "chaqueta impermeable", "es"), "es")


def test_accents_are_significant():
    assert not realized("veste impermeable", term("waterproof", "imperméable", "fr"), "fr")
    assert realized("VESTE IMPERMÉABLE", term("waterproof", "imperméable", "fr"), "fr")
    assert realized("Cafe\u0301 noir", term("coffee", "café", "fr"), "fr")  # NFD vs NFC is not an accent error


def test_realized_alternatives_keep_and_html():
    entry = term("rain jacket", "chaqueta impermeable", "es", alternatives=["chubasquero"])
    assert realized("<p>Un <strong>chubasquero</strong> ligero</p>", entry, "es")
    assert realized("<p>Una <em>chaqueta</em> impermeable</p>", entry, "es")  # inline tags joined
    assert not realized('<a href="https://x.example/chubasquero">ver</a>', entry, "es")
    assert realized("⟦x⟧ by Nordvik", keep("Nordvik"), "es")
    assert not realized("", entry, "es")
    assert realized("Größe M", term("Size", "GRÖSSE", cs=False), "de")  # ß folds to ss


def test_bans_any_case_and_form():
    bans = [ban("best seller"), ban("garantizado", "es"), ban("#1"), ban("100% imperméable"), ban("FDA", cs=True)]
    assert banned_in("¡El BEST-SELLER, garantizadas!", bans, "es") == bans[:2]
    assert banned_in("Notre n°1, 100 % imperméable", bans, "fr") == [bans[3]]
    assert banned_in("Le #1 des vestes", bans, "fr") == [bans[2]]
    assert banned_in("Taille #10", bans, "fr") == []
    assert banned_in("aprobado por la fda", bans, "es") == []  # case-sensitive ban
    assert banned_in('<a href="https://shop.example/best-seller">ver</a>', bans, "es") == []
    assert banned_in("", bans, "es") == []
    g = load_glossary(GLOSSARIES / "marketplace-claims.ban.csv")
    de, tr = g.for_locale("de"), g.for_locale("tr")
    assert [b.source for b in banned_in("Unser Bestseller, 100 % wasserdicht!", de.bans, "de")] == [
        "bestseller", "100% wasserdicht"]
    found = banned_in("En Çok Satan ürün, garantilidir", tr.bans, "tr")
    assert [b.source for b in found] == ["en çok satan", "garantili"]
    assert banned_in("Veste de pluie 20 000 mm, imperméable", g.for_locale("fr").bans, "fr") == []


def test_kept_ok_counts():
    entries = [keep("Nordvik"), keep("Nordvik Outfitters"), keep("Ro")]
    source = "Nordvik Outfitters presents the Nordvik Ro mat. Nordvik!"
    assert kept_ok("Nordvik Outfitters presenta la esterilla Nordvik Ro. ¡Nordvik!", source, entries) == []
    missing = kept_ok("Nordvik Outfitters presenta la esterilla Ro.", source, entries)
    assert missing == [entries[0]]  # Nordvik: 1 of 2
    assert kept_ok("NORDVIK OUTFITTERS, Nordvik Ro, Nordvik", source, entries) == [entries[1]]  # byte-exact
    assert kept_ok("Nordvik Room, Nordvik Outfitters, Nordvik", source, entries) == [entries[2]]  # Room is not Ro
    assert kept_ok("more copies: Nordvik Nordvik Nordvik Ro Nordvik Outfitters", source, entries) == []
    assert kept_ok("anything", "no kept terms here", entries) == []
    assert keep_in(source, entries) == entries
    assert keep_in("Room by NORDVIK", entries) == []
    cs_free = [keep("nordvik", cs=False)]
    assert kept_ok("nordvik", "NORDVIK", cs_free) == cs_free  # the source's spelling is what must come back


def test_fingerprint_is_stable():
    a = Glossary([term("hood", "capucha", "es"), keep("Nordvik")])
    b = Glossary([Entry("Nordvik", "", None, "keep", True, origin="other.csv:9"), term("hood", "capucha", "es")])
    assert a.fingerprint() == b.fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", a.fingerprint())
    assert a.fingerprint() != Glossary([term("hood", "capuche", "es"), keep("Nordvik")]).fingerprint()
    assert Glossary().fingerprint() == Glossary([]).fingerprint()


# --- metric -------------------------------------------------------------------------------------


class _Row:
    def __init__(self, locale, source, output):
        self.locale, self.source, self.output = locale, source, output


def test_term_check_counts_required_and_realized_terms():
    """TermCheck is what `localize eval` sums per locale for terminology accuracy."""
    g = Glossary([term("rain jacket", "chaqueta impermeable", "es"), term("hood", "capucha", "es"),
                  term("rain jacket", "yağmurluk", "tr"), keep("Fjell")])
    check = TermCheck(g)
    rows = [
        ("es", "Fjell rain jacket with hood", "Chaqueta impermeable Fjell con capucha"),  # 2 of 2
        ("es", "Rain jackets with hood", "Chaquetas impermeables con capucha"),  # plural: 2 of 2
        ("es", "A rain jacket", "Un chubasquero"),  # 0 of 1
        ("es", "A hood", "Un gorro"),  # 0 of 1
        ("tr", "Wear the rain jacket", "Yağmurluğu giy"),  # Turkish suffix: 1 of 1
        ("fr", "A hood", "Une capuche"),  # no French terms: nothing required
    ]
    assert [check(_Row(*r)) for r in rows] == [(2, 2), (2, 2), (1, 0), (1, 0), (1, 1), (0, 0)]
    assert check(_Row("es", None, "x")) == (0, 0)
    assert check(_Row("es", "A hood", None)) == (1, 0)


# --- the command line -----------------------------------------------------------------------------


def localize_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localize", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_cli_glossary_check():
    proc = localize_cli("glossary", "check", *(str(p.relative_to(REPO)) for p in SHIPPED))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "glossaries/apparel.terms.csv: native CSV" in out
    assert re.search(r"term\s+204\s+\(de 51, es 51, fr 51, tr 51\)", out)
    assert re.search(r"keep\s+\d+\s+\(\* \d+\)", out)
    assert "'base layer' -> 'capa base'" in out
    assert "together:" in out and "fingerprint" in out


def test_cli_glossary_check_bad_file(tmp_path):
    bad = write(tmp_path / "bad.csv", "source,target,locale,kind\nhood,capucha,es,term\nhood,gorro,es,term\n")
    proc = localize_cli("glossary", "check", str(bad))
    assert proc.returncode == EXIT_INPUT, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith(f"localize: error: {bad}, row 3: conflicting entries for 'hood'")
    assert proc.stdout == ""


def test_cli_glossary_check_empty_file(tmp_path):
    proc = localize_cli("glossary", "check", str(write(tmp_path / "empty.csv", "")))
    assert proc.returncode == 0
    assert "empty, 0 entries" in proc.stdout
