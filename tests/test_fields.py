"""localize.catalog.fields: which columns are customer-facing text, and which
are identifiers that must never reach a model."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from localize.catalog.fields import ROLES, Field, detect_fields, needs_model, parse_field_spec
from localize.errors import UsageError

REPO = Path(__file__).resolve().parents[1]
CATALOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "catalogs"
CATALOG_FILES = sorted(CATALOGS.glob("*/*.csv")) if CATALOGS.is_dir() else []
needs_catalogs = pytest.mark.skipif(not CATALOG_FILES, reason=f"no sample catalogs under {CATALOGS}")

# Whole-word identifier names, as a seller would recognize them.
IDENTIFIER_WORDS = re.compile(r"(?i)(^|[^a-z])(handle|sku|urls?|src|price|barcode|id)([^a-z]|$)")

SHOPIFY = {
    "Title": "title", "Body (HTML)": "description", "SEO Title": "seo_title",
    "SEO Description": "seo_description", "Image Alt Text": "image_alt",
    **{f"Option{i} Name": "option_name" for i in (1, 2, 3)},
    **{f"Option{i} Value": "option_value" for i in (1, 2, 3)},
}
WOOCOMMERCE = {"Name": "title", "Short description": "short_description", "Description": "description"}
MAGENTO = {
    "name": "title", "description": "description", "short_description": "short_description",
    "meta_title": "seo_title", "meta_description": "seo_description", "meta_keywords": "keywords",
    "base_image_label": "image_alt", "small_image_label": "image_alt", "thumbnail_image_label": "image_alt",
}


def header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f))


def roles(columns: list[str]) -> dict[str, str]:
    return {f.column: f.role for f in detect_fields(columns)}


@needs_catalogs
@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_detect_fields_on_real_catalogs(path):
    columns = header(path)
    found = roles(columns)
    platform = path.parent.name
    if platform == "shopify":
        assert found == SHOPIFY
    elif platform == "woocommerce":
        assert found == WOOCOMMERCE
    else:
        assert {c: r for c, r in MAGENTO.items() if c in columns} == found
        assert {"name", "description"} <= set(found)
    # Detected fields keep the file's column order.
    assert list(found) == [c for c in columns if c in found]


@needs_catalogs
def test_no_identifier_column_is_ever_detected():
    identifiers_seen = set()
    for path in CATALOG_FILES:
        columns = header(path)
        identifiers_seen |= {c for c in columns if IDENTIFIER_WORDS.search(c)}
        bad = [f.column for f in detect_fields(columns) if IDENTIFIER_WORDS.search(f.column)]
        assert not bad, f"{path.name}: identifier columns detected as text: {bad}"
    # The files do have such columns, so the check above is not vacuous.
    assert {"Handle", "Variant SKU", "Variant Price", "Variant Barcode", "Image Src", "sku", "ID"} <= identifiers_seen


def test_detect_fields_on_example_catalog():
    columns = header(REPO / "examples" / "catalog.csv")
    assert roles(columns) == SHOPIFY


@pytest.mark.parametrize("column, role", [
    ("title", "title"), (" Title ", "title"), ("TITLE", "title"), ("description", "description"),
    ("bullet_point1", "bullet"), ("Bullet Point 2", "bullet"), ("bullet_3", "bullet"), ("Feature 4", "bullet"),
    ("item_name", "title"), ("Product Name", "title"), ("meta_description", "seo_description"),
    ("alt_text", "image_alt"), ("sku", None), ("product_id", None), ("Variant Price", None), ("color", None),
])
def test_generic_names(column, role):
    assert detect_fields([column]) == ([Field(column, role)] if role else [])


def test_parse_field_spec_roles_and_defaults():
    columns = ["Handle", "Title", "Blurb", "Name", "Body (HTML)"]
    fields = parse_field_spec("Blurb=short_description, Title , Body (HTML),Blurb,, Name=seo_title", columns)
    assert fields == [
        Field("Blurb", "short_description"), Field("Title", "title"),
        Field("Body (HTML)", "description"), Field("Name", "seo_title"),
    ]
    assert parse_field_spec("Blurb", columns) == [Field("Blurb", "description")]  # unknown name: description


def test_parse_field_spec_unknown_field_suggests():
    with pytest.raises(UsageError, match=r"unknown field 'Titel' \(did you mean 'Title'\?\)"):
        parse_field_spec("Titel", ["Handle", "Title"])


@pytest.mark.parametrize("column", ["Variant SKU", "Handle", "Variant Price", "Variant Barcode", "Image Src", "url_key"])
def test_parse_field_spec_refuses_identifiers(column):
    with pytest.raises(UsageError, match="identifier"):
        parse_field_spec(column, ["Title", column])
    with pytest.raises(UsageError, match="identifier"):
        parse_field_spec(f"{column}=title", ["Title", column])


def test_parse_field_spec_bad_role_and_empty():
    with pytest.raises(UsageError, match="unknown role 'headline'"):
        parse_field_spec("Title=headline", ["Title"])
    with pytest.raises(UsageError, match="names no column"):
        parse_field_spec(" , ", ["Title"])
    assert set(ROLES) >= {"title", "description", "option_value"}


@pytest.mark.parametrize("text", ["42", "S", "M", "XL", "XXL", "XS", "3XL", "10.5", "38/40", "", "  ", "€ 9,99",
                                  "https://cdn.example/x.jpg", "www.example.com", "-"])
def test_needs_model_false_for_language_neutral_labels(text):
    assert needs_model(text, "label") is False


@pytest.mark.parametrize("text", ["Black", "One Size", "Navy Blue", "Size", "Extra Large"])
def test_needs_model_true_for_words(text):
    assert needs_model(text, "label") is True


def test_size_codes_are_only_neutral_for_labels():
    assert needs_model("M", "title") is True  # a one-letter title is unusual but is still text
    assert needs_model("12345", "title") is False
    assert needs_model("https://x.example", "html") is False


def test_shopify_default_variant_placeholder_is_never_translated():
    # Shopify's import requires Option1 Name "Title" / Option1 Value "Default Title" verbatim.
    assert not needs_model("Default Title", "label")
    assert not needs_model("Title", "label")
    assert needs_model("Default Title", "title")  # only the option placeholder is special
