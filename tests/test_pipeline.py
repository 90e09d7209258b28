"""localize.pipeline: the run's bookkeeping (which cells reach the engine, how
often, in what order, and what happens to the answers).

These tests use a deterministic fake engine on purpose: they assert exact call
counts, deduplication, request order and failure handling, which a real LLM's
free-form text cannot pin down. The fake (localize.testing.fake_engine, built
through the engine registry as `--backend fake`) answers every request with a
fixed transformation of the source text it finds between the prompt's <<< and
>>> delimiters, records every request, and fails on demand. The real embedded
model is exercised end to end in tests/test_end_to_end.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from localize.errors import BackendUnavailable, InputError, OutputError, UsageError
from localize.pipeline.run import RunOptions, run
from localize.testing.fake_engine import FAIL, FakeEngine, serving, swap_text_nodes
from localize.text.locales import parse_locales
from localize.text.prompts import load_templates

# -- helpers -------------------------------------------------------------------

def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, strict=True))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def localize(path: Path, to: str = "es,fr", engine: FakeEngine | None = None, **kw):
    engine = engine or FakeEngine()
    with serving(engine):  # built by the engine registry, as --backend fake
        stats = run(RunOptions(input=path, locales=parse_locales(to), quiet=True, backend="fake", **kw))
    return stats, engine


SHOPIFY_HEADER = ["Handle", "Title", "Body (HTML)", "Option1 Name", "Option1 Value", "Option2 Name",
                  "Option2 Value", "Variant SKU", "Variant Price", "Variant Barcode", "Image Src"]
SHOPIFY_ROWS = [
    ["wool-sweater-7781", "Wool Sweater", "<p>Soft merino.</p>", "Color", "Black", "Size", "M",
     "SKU-WS-BLK-M-7781", "89.00", "0850064060010", "https://cdn.example/ws-7781.jpg"],
    ["wool-sweater-7781", "", "", "", "Black", "", "L", "SKU-WS-BLK-L-7781", "89.00", "0850064060027", ""],
    ["wool-sweater-7781", "", "", "", "Navy", "", "M", "SKU-WS-NVY-M-7781", "91.50", "0850064060034", ""],
    ["wool-sweater-7781", "", "", "", "Navy", "", "L", "SKU-WS-NVY-L-7781", "91.50", "0850064060041", ""],
    ["linen-shirt-5512", "Linen Shirt", "<p>Cool linen.</p>", "Color", "Black", "Size", "XL",
     "SKU-LS-BLK-XL-5512", "49.00", "0850064060058", "https://cdn.example/ls-5512.jpg"],
    ["linen-shirt-5512", "", "", "", "Black", "", "42", "SKU-LS-BLK-42-5512", "49.00", "0850064060065", ""],
    ["crew-tee-2231", "Wool Sweater", "<p>Soft merino.</p>", "Color", "Navy", "Size", "One Size",
     "SKU-CT-NVY-OS-2231", "29.00", "0850064060072", "https://cdn.example/ct-2231.jpg"],
]
SHOPIFY_FIELDS = ["Title", "Body (HTML)", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value"]


@pytest.fixture
def shopify_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "products.csv", [SHOPIFY_HEADER, *SHOPIFY_ROWS])


# -- output shape --------------------------------------------------------------

def test_columns_layout_output(shopify_csv, tmp_path):
    stats, _ = localize(shopify_csv)
    out = tmp_path / "products.localized.csv"
    assert stats.outputs == [str(out)] and stats.rows == len(SHOPIFY_ROWS)
    rows = read_csv(out)
    new = [f"{c}_{loc}" for loc in ("es", "fr") for c in SHOPIFY_FIELDS]
    assert rows[0] == SHOPIFY_HEADER + new
    assert [r[: len(SHOPIFY_HEADER)] for r in rows[1:]] == SHOPIFY_ROWS
    first = as_dicts(rows)[0]
    assert first["Title_es"] == "[es] Wool Sweater" and first["Title_fr"] == "[fr] Wool Sweater"
    assert first["Option1 Value_fr"] == "[fr] Black"
    assert first["Body (HTML)_es"] == "<p>sOFT MERINO.</p>"
    assert stats.failures == 0 and stats.flagged_rows == 0 and stats.report is None
    assert not (tmp_path / "products.localized.report.csv").exists()


def test_dedup_counts(shopify_csv):
    stats, engine = localize(shopify_csv)
    # Unique texts that need the model: 2 titles, 2 bodies, Color, Size, Black, Navy, One Size.
    assert stats.model_calls == len(engine.requests) == 9 * 2
    assert len({(s.kind, s.source, s.locale) for s in engine.requests}) == len(engine.requests)
    assert stats.segments == 20 * 2  # non-empty cells needing the model, per locale
    assert stats.reused == stats.segments - stats.model_calls
    assert stats.copied == 6 * 2  # M, L, M, L, XL, 42
    titles = [(s.source, s.locale) for s in engine.requests if s.kind == "title"]
    assert sorted(titles) == sorted((t, loc) for t in ("Wool Sweater", "Linen Shirt") for loc in ("es", "fr"))
    assert stats.completion_tokens == 3 * stats.model_calls and stats.prompt_tokens == 10 * stats.model_calls


def test_dedup_across_batches(shopify_csv, tmp_path):
    stats, engine = localize(shopify_csv, batch_rows=2)
    assert engine.calls == 4
    assert stats.model_calls == len(engine.requests) == 18
    assert stats.reused == 22 and stats.segments == 40
    # Same output as a single batch.
    single = write_csv(tmp_path / "single.csv", [SHOPIFY_HEADER, *SHOPIFY_ROWS])
    localize(single)
    assert read_csv(tmp_path / "products.localized.csv") == read_csv(tmp_path / "single.localized.csv")


def test_empty_and_language_neutral_cells(shopify_csv, tmp_path):
    _, engine = localize(shopify_csv)
    rows = as_dicts(read_csv(tmp_path / "products.localized.csv"))
    sources = {s.source for s in engine.requests}
    for row in rows:
        for col in SHOPIFY_FIELDS:
            for loc in ("es", "fr"):
                if row[col] == "":
                    assert row[f"{col}_{loc}"] == ""
    assert [r["Option2 Value_es"] for r in rows] == ["M", "L", "M", "L", "XL", "42", "[es] One Size"]
    assert {"M", "L", "XL", "42", ""}.isdisjoint(sources)


def test_numbers_and_urls_copied_without_model_call(tmp_path):
    src = write_csv(tmp_path / "feed.csv", [
        ["title", "description"],
        ["12345", "https://shop.example/p/1"],
        ["Rain Jacket", "99.90 / 120"],
    ])
    stats, engine = localize(src, to="tr")
    rows = as_dicts(read_csv(tmp_path / "feed.localized.csv"))
    assert [(r["title_tr"], r["description_tr"]) for r in rows] == [
        ("12345", "https://shop.example/p/1"), ("[tr] Rain Jacket", "99.90 / 120")]
    assert [s.source for s in engine.requests] == ["Rain Jacket"]
    assert stats.copied == 3


def test_identifier_columns_never_sent(shopify_csv):
    _, engine = localize(shopify_csv)
    identifiers = {v for row in SHOPIFY_ROWS for i, v in enumerate(row)
                   if SHOPIFY_HEADER[i] in ("Handle", "Variant SKU", "Variant Price", "Variant Barcode", "Image Src") and v}
    assert identifiers
    for seen in engine.requests:
        text = "\n".join(m["content"] for m in seen.request.messages)
        assert not [v for v in identifiers if v in text]


# -- failures and flags --------------------------------------------------------

def test_failed_segment_keeps_row_and_is_reported(tmp_path):
    src = write_csv(tmp_path / "boots.csv", [
        ["sku", "title"], ["B-1", "Good Boots"], ["B-2", f"Bad {FAIL} Boots"], ["B-3", "Warm Hat"]])
    stats, _ = localize(src)
    rows = read_csv(tmp_path / "boots.localized.csv")
    assert [r[:2] for r in rows[1:]] == [["B-1", "Good Boots"], ["B-2", f"Bad {FAIL} Boots"], ["B-3", "Warm Hat"]]
    assert [r[2:] for r in rows[1:]] == [["[es] Good Boots", "[fr] Good Boots"], ["", ""], ["[es] Warm Hat", "[fr] Warm Hat"]]
    # Failures go to the errors file, not the quality report (which flags outputs that exist).
    assert stats.failures == 2 and stats.flagged_rows == 0 and stats.report is None
    assert not (tmp_path / "boots.localized.report.csv").exists()
    errors = read_csv(tmp_path / "boots.localized.errors.csv")
    assert stats.errors == str(tmp_path / "boots.localized.errors.csv")
    assert errors == [["row", "column", "locale", "reason", "attempts", "signature"],
                      ["2", "title", "es", "fake engine failure", "1", stats.signature],
                      ["2", "title", "fr", "fake engine failure", "1", stats.signature]]
    assert stats.signature.startswith("engine:")


def test_text_too_large_for_one_request_is_reported_not_sent(tmp_path):
    from localize.pipeline.translate import MAX_PIECE_CHARS

    huge = "Specs " + "x" * MAX_PIECE_CHARS
    page = "<p>Short intro.</p>" + "<p>" + "y " * MAX_PIECE_CHARS + "</p>"  # one block, too large
    src = write_csv(tmp_path / "h.csv", [["sku", "title", "description"], ["H-1", "Hat", huge], ["H-2", "Cap", page]])
    stats, engine = localize(src, to="es")
    assert all(len(s.source) < MAX_PIECE_CHARS for s in engine.requests)
    rows = read_csv(tmp_path / "h.localized.csv")
    assert [r[:3] for r in rows[1:]] == [["H-1", "Hat", huge], ["H-2", "Cap", page]]  # rows and sources kept
    assert rows[1][3] == "[es] Hat" and rows[1][4] == "" and rows[2][4] == ""
    errors = read_csv(tmp_path / "h.localized.errors.csv")
    assert [e[:3] for e in errors[1:]] == [["1", "description", "es"], ["2", "description", "es"]]
    assert all("over the" in e[3] for e in errors[1:]) and stats.failures == 2


def test_failures_are_retried_in_later_batches(tmp_path):
    src = write_csv(tmp_path / "f.csv", [["title"], [f"Hat {FAIL}"], ["Cap"], [f"Hat {FAIL}"]])
    stats, engine = localize(src, to="es", batch_rows=2)
    assert [s.source for s in engine.requests].count(f"Hat {FAIL}") == 2  # not cached as a success
    assert stats.failures == 2


LONG_BODY = "".join(f"<p>Paragraph {i} about <strong>merino</strong> wool.</p>\n" for i in range(8))


def test_long_html_is_split_and_reassembled(tmp_path):
    src = write_csv(tmp_path / "p.csv", [["Title", "Body (HTML)"], ["Crew", LONG_BODY]])
    stats, engine = localize(src, html_piece_chars=100, market="amazon")
    html = [s for s in engine.requests if s.kind == "html"]
    # A piece cannot carry the page's limit (description 2000); the whole page is checked instead.
    assert not [s for s in html if "At most" in s.prompt]
    per_locale = [s for s in html if s.locale == "es"]
    assert len(per_locale) > 1 and all(s.source in LONG_BODY for s in per_locale)
    assert all(len(s.source) < len(LONG_BODY) for s in html)
    row = as_dicts(read_csv(tmp_path / "p.localized.csv"))[0]
    assert row["Body (HTML)"] == LONG_BODY
    assert row["Body (HTML)_es"] == row["Body (HTML)_fr"] == swap_text_nodes(LONG_BODY)
    assert stats.flagged_rows == 0


def test_broken_html_output_is_flagged(tmp_path):
    def drop_strong(kind, locale, source):
        if kind == "html":
            return swap_text_nodes(source).replace("<strong>", "").replace("</strong>", "")
        return None

    src = write_csv(tmp_path / "p.csv", [
        ["Title", "Body (HTML)"], ["Crew", "<p>Plain wool.</p>"], ["Tee", "<p>Soft <strong>merino</strong>.</p>"]])
    stats, _ = localize(src, engine=FakeEngine(first=drop_strong))
    report = read_csv(tmp_path / "p.localized.report.csv")
    assert [r[:4] for r in report[1:]] == [["2", "Body (HTML)", "es", "html_structure"],
                                           ["2", "Body (HTML)", "fr", "html_structure"]]
    assert "<strong>" in report[1][4]
    assert stats.flagged_rows == 1 and stats.failures == 0
    row = as_dicts(read_csv(tmp_path / "p.localized.csv"))[1]
    assert row["Body (HTML)_es"] == "<p>sOFT MERINO.</p>"  # kept for the seller to see


def test_market_limit_in_prompt_and_flagged(tmp_path):
    def long_title(kind, locale, source):
        return f"[{locale}] {source}" + " with many extra words" * 5 if "Runner" in source else None

    src = write_csv(tmp_path / "shoes.csv", [["Title"], ["Trail Runner"], ["Hiking Boot"]])
    engine = FakeEngine(first=long_title, obeys_limits=False)
    stats, engine = localize(src, to="es", market="ebay", engine=engine)
    assert all(s.prompt.endswith("At most 80 characters.") for s in engine.requests)
    assert len(engine.shorten_turns) == 1 and stats.repairs == 1  # one shorten round, ignored by this engine
    report = read_csv(tmp_path / "shoes.localized.report.csv")
    assert [r[:4] for r in report[1:]] == [["1", "Title", "es", "too_long"]]
    assert "market limit 80" in report[1][4]
    assert stats.flagged_rows == 1
    # The generic market has no such limit for titles below 200.
    _, generic = localize(src, to="es", output=tmp_path / "generic.csv")
    assert all("At most 200 characters." in s.prompt for s in generic.requests)


# -- per-locale layout ---------------------------------------------------------

def test_per_locale_layout(shopify_csv, tmp_path):
    stats, _ = localize(shopify_csv, to="es,pt-BR", layout="per-locale")
    assert stats.outputs == [str(tmp_path / "products.es.csv"), str(tmp_path / "products.pt-BR.csv")]
    assert not (tmp_path / "products.localized.csv").exists()
    fields = [SHOPIFY_HEADER.index(c) for c in SHOPIFY_FIELDS]
    for loc in ("es", "pt-BR"):
        rows = read_csv(tmp_path / f"products.{loc}.csv")
        assert rows[0] == SHOPIFY_HEADER and len(rows) == len(SHOPIFY_ROWS) + 1
        for got, src in zip(rows[1:], SHOPIFY_ROWS):
            assert [v for i, v in enumerate(got) if i not in fields] == [v for i, v in enumerate(src) if i not in fields]
        localized = as_dicts(rows)
        assert localized[0]["Title"] == f"[{loc}] Wool Sweater"
        assert localized[1]["Title"] == "" and localized[1]["Option2 Value"] == "L"
        assert localized[6]["Option2 Value"] == f"[{loc}] One Size"


def test_per_locale_layout_into_a_new_folder(shopify_csv, tmp_path):
    # "-o out/" arrives without its slash; a path without an extension is a folder, made if missing.
    stats, _ = localize(shopify_csv, to="es", layout="per-locale", output=tmp_path / "out" / "shop")
    assert stats.outputs == [str(tmp_path / "out" / "shop" / "products.es.csv")]
    assert read_csv(tmp_path / "out" / "shop" / "products.es.csv")[0] == SHOPIFY_HEADER


# -- errors leave nothing behind -----------------------------------------------

def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_output_equal_to_input_refused(shopify_csv, tmp_path):
    with pytest.raises(UsageError, match="overwrite the input"):
        localize(shopify_csv, output=shopify_csv)
    assert _files(tmp_path) == {"products.csv"}


def test_already_localized_input_refused(tmp_path):
    src = write_csv(tmp_path / "p.csv", [["Title", "Title_es"], ["Hat", "Sombrero"]])
    with pytest.raises(OutputError, match="Title_es"):
        localize(src, to="es")
    assert _files(tmp_path) == {"p.csv"}


def test_unknown_field_refused(shopify_csv, tmp_path):
    with pytest.raises(UsageError, match="did you mean 'Title'"):
        localize(shopify_csv, fields="Titel")
    assert _files(tmp_path) == {"products.csv"}


def test_no_text_columns(tmp_path):
    src = write_csv(tmp_path / "ids.csv", [["Handle", "Variant SKU", "Variant Price"], ["a", "b", "1.00"]])
    with pytest.raises(InputError, match="no customer-facing text columns"):
        localize(src)
    assert _files(tmp_path) == {"ids.csv"}


def test_backend_lost_mid_run_leaves_nothing(tmp_path):
    src = write_csv(tmp_path / "p.csv", [
        ["Title"], [f"Hat {FAIL}"], ["Cap"], ["Scarf"], ["Gloves"]])  # row 1 fails: a report is open
    engine = FakeEngine(raise_on_call=2)
    with pytest.raises(BackendUnavailable):
        localize(src, engine=engine, batch_rows=2)
    assert engine.calls == 2
    assert _files(tmp_path) == {"p.csv"}


# -- request order -------------------------------------------------------------

def test_all_locales_of_a_row_are_adjacent(tmp_path):
    src = write_csv(tmp_path / "p.csv", [
        ["title", "description"], ["Hat", "Warm hat."], ["Cap", "Cool cap."]])
    _, engine = localize(src, to="es,fr,tr")
    assert [(s.source, s.locale) for s in engine.requests] == [
        (text, loc) for text in ("Hat", "Warm hat.", "Cap", "Cool cap.") for loc in ("es", "fr", "tr")]


# -- Parquet -------------------------------------------------------------------

def test_parquet_in_parquet_out(tmp_path):
    src = tmp_path / "items.parquet"
    pq.write_table(pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "title": pa.array(["Hat", None, "Cap"], pa.string()),
        "weight": pa.array([0.5, 1.25, None], pa.float64()),
        "in_stock": pa.array([True, False, True]),
    }), src)
    stats, _ = localize(src, to="es")
    assert stats.outputs == [str(tmp_path / "items.localized.parquet")]
    table = pq.read_table(tmp_path / "items.localized.parquet")
    schema = table.schema
    assert schema.names == ["id", "title", "weight", "in_stock", "title_es"]
    assert schema.field("id").type == pa.int64() and schema.field("weight").type == pa.float64()
    assert schema.field("in_stock").type == pa.bool_()
    assert pa.types.is_string(schema.field("title_es").type) or pa.types.is_large_string(schema.field("title_es").type)
    assert table.column("id").to_pylist() == [1, 2, 3]
    assert table.column("weight").to_pylist() == [0.5, 1.25, None]
    assert table.column("title_es").to_pylist() == ["[es] Hat", None, "[es] Cap"]


def test_per_locale_writer_error_leaves_no_temp_file(tmp_path):
    src = write_csv(tmp_path / "p.csv", [["Title"], ["Hat"]])
    (tmp_path / "es").mkdir()
    (tmp_path / "fr").write_text("a file where the fr folder should be", encoding="utf-8")
    engine = FakeEngine()
    with pytest.raises(OutputError) as err:
        localize(src, engine=engine, layout="per-locale", output=tmp_path / "{locale}" / "out.csv")
    assert str(tmp_path / "fr") in str(err.value)
    assert _files(tmp_path / "es") == set() and _files(tmp_path) == {"p.csv", "es", "fr"}
    assert engine.requests == []


def test_example_catalog_round_trips_with_every_field(tmp_path):
    """examples/catalog.csv through the whole pipeline: tricky identifiers intact, every text localized."""
    src = Path(__file__).resolve().parents[1] / "examples" / "catalog.csv"
    out = tmp_path / "catalog.localized.csv"
    stats, engine = localize(src, "es,fr,tr", output=out)
    before, after = read_csv(src), read_csv(out)
    width = len(before[0])
    assert len(after) == len(before) and stats.rows == len(before) - 1
    assert [r[:width] for r in after] == before
    rows = as_dicts(after)
    skus = [r["Variant SKU"] for r in rows]
    assert "000123-BLK-S" in skus and "'0850064060027" in [r["Variant Barcode"] for r in rows]
    assert "1.2E+12" in [r["Google Shopping / MPN"] for r in rows]
    for r in rows:
        for column in ("Title", "Body (HTML)", "SEO Title", "Option1 Value"):
            for loc in ("es", "fr", "tr"):
                # every non-empty text has a localized value; empty stays empty
                assert bool(r[f"{column}_{loc}"]) == bool(r[column]), (column, loc)
    assert stats.failures == 0 and stats.reused > 0
    texts = "\n".join(seen.source for seen in engine.requests)
    assert "000123-BLK-S" not in texts and "cdn.nordvik.example" not in texts


def test_over_limit_output_gets_one_shorten_round(tmp_path):
    def long_title(kind, locale, source):
        return f"[{locale}] {source}" + " with many extra words" * 5 if "Runner" in source else None

    src = write_csv(tmp_path / "shoes.csv", [["Title"], ["Trail Runner"], ["Hiking Boot"]])
    stats, engine = localize(src, to="es", market="ebay", engine=FakeEngine(first=long_title))
    assert stats.repairs == 1 and stats.model_calls == 3 and stats.flagged_rows == 0
    repair = engine.shorten_turns[0].request.messages
    assert repair[-2]["role"] == "assistant" and "over the limit of 80" in repair[-1]["content"]
    out = as_dicts(read_csv(tmp_path / "shoes.localized.csv"))
    assert len(out[0]["Title_es"]) == 80 and out[1]["Title_es"] == "[es] Hiking Boot"
    assert not (tmp_path / "shoes.localized.report.csv").exists()


def test_eta_weighs_requests_by_their_size(tmp_path):
    """The ETA counts a batch's progress in expected tokens, not requests: once
    the short texts of a row are done, a long HTML page still left must keep the
    batch far from finished (counting requests said 5 of 6 here, and a real run
    on the example catalog showed "ETA 3m" for 15 minutes of work)."""
    from localize.pipeline.translate import BatchTranslator
    from localize.catalog.fields import Field
    from localize.text.markets import load_market

    page = "<p>" + " ".join(f"Sentence {i} about the wool and the fit of the jumper." for i in range(50)) + "</p>"
    row = {"Title": "Wool Sweater", "Option1 Name": "Color", "Option1 Value": "Navy",
           "Option2 Name": "Size", "Option2 Value": "Medium", "Body (HTML)": page}
    fields = [Field("Title", "title"), Field("Option1 Name", "option_name"), Field("Option1 Value", "option_value"),
              Field("Option2 Name", "option_name"), Field("Option2 Value", "option_value"),
              Field("Body (HTML)", "description")]
    seen: list[tuple[str, float]] = []

    class HtmlLast(FakeEngine):
        def generate(self, requests, on_result=None):
            order = sorted(range(len(requests)), key=lambda i: len(requests[i].messages[-1]["content"]))
            out = [None] * len(requests)

            def record(j, gen):
                on_result(j, gen)
                seen.append((kinds[j], translator.batch_done / translator.batch_requests))

            kinds = {}
            for i in order:
                kinds[i] = "html" if "<p>" in requests[i].messages[-1]["content"] else "short"
                out[i] = super().generate([requests[i]], on_result=lambda _j, gen, i=i: record(i, gen))[0]
            return out

    translator = BatchTranslator(HtmlLast(), load_templates(), load_market("generic"), parse_locales("es"))
    translator.translate([row], fields)
    assert [k for k, _ in seen] == ["short"] * 5 + ["html"]
    assert seen[4][1] < 0.5, seen  # every short text done: under half the work
    assert seen[-1][1] == 1.0
