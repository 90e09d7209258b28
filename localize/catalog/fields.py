"""Which columns hold customer-facing text, and what role each plays.

Detection is by exact header name from the platforms' own export formats
(case-insensitive for the generic names). A role decides the prompt kind and
the market's length limit. Identifier-like columns (handles, SKUs, URLs,
prices, barcodes) are never sent to a model, even when asked for by name.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from localize.errors import UsageError
from localize.text.html import looks_like_html

ROLES = (
    "title", "description", "short_description", "seo_title", "seo_description",
    "image_alt", "bullet", "option_name", "option_value", "keywords",
)

# Prompt kind for each role; descriptions switch to "html" when the cell holds markup.
ROLE_KIND = {
    "title": "title", "seo_title": "title",
    "description": "text", "short_description": "text", "seo_description": "text",
    "image_alt": "text", "bullet": "text", "keywords": "text",
    "option_name": "label", "option_value": "label",
}
HTML_ROLES = {"description", "short_description", "bullet"}

PLATFORM_FIELDS = {
    "shopify": {
        "Title": "title", "Body (HTML)": "description", "SEO Title": "seo_title",
        "SEO Description": "seo_description", "Image Alt Text": "image_alt",
        **{f"Option{i} Name": "option_name" for i in (1, 2, 3)},
        **{f"Option{i} Value": "option_value" for i in (1, 2, 3)},
    },
    "woocommerce": {"Name": "title", "Short description": "short_description", "Description": "description"},
    "magento": {
        "name": "title", "description": "description", "short_description": "short_description",
        "meta_title": "seo_title", "meta_description": "seo_description", "meta_keywords": "keywords",
        "base_image_label": "image_alt", "small_image_label": "image_alt", "thumbnail_image_label": "image_alt",
    },
}
# Generic feeds (Amazon flat files, Google Merchant, home-made sheets): matched case-insensitively.
GENERIC_FIELDS = {
    "title": "title", "product_title": "title", "product name": "title", "product_name": "title",
    "item_name": "title", "name": "title",
    "description": "description", "product_description": "description", "body_html": "description",
    "long_description": "description", "short_description": "short_description",
    "meta_title": "seo_title", "seo_title": "seo_title", "meta_description": "seo_description",
    "seo_description": "seo_description", "image_alt": "image_alt", "alt_text": "image_alt",
}
_GENERIC_PATTERNS = [
    (re.compile(r"^bullet[ _-]?point[ _-]?\d*$", re.I), "bullet"),
    (re.compile(r"^bullet[ _-]?\d+$", re.I), "bullet"),
    (re.compile(r"^feature[ _-]?\d+$", re.I), "bullet"),
]

# Columns that identify, link or price things: translating them breaks imports.
IDENTIFIER = re.compile(
    r"(^|[^a-z])(handle|sku|id|ids|url|urls|uri|src|link|href|slug|price|cost|barcode|gtin|ean|upc|isbn|"
    r"mpn|asin|qty|quantity|inventory|grams|weight|tax|url_key)([^a-z]|$)",
    re.I,
)


@dataclass(frozen=True)
class Field:
    column: str
    role: str

    def kind_for(self, text: str) -> str:
        if self.role in HTML_ROLES and looks_like_html(text):
            return "html"
        return ROLE_KIND[self.role]


def detect_fields(columns: list[str]) -> list[Field]:
    """Known customer-facing columns, in the file's column order."""
    found = []
    for col in columns:
        role = _known_role(col)
        if role and not IDENTIFIER.search(col):
            found.append(Field(col, role))
    return found


def _known_role(column: str) -> str | None:
    for table in PLATFORM_FIELDS.values():
        if column in table:
            return table[column]
    key = column.strip().lower()
    if key in GENERIC_FIELDS:
        return GENERIC_FIELDS[key]
    for pattern, role in _GENERIC_PATTERNS:
        if pattern.match(key):
            return role
    return None


def parse_field_spec(spec: str, columns: list[str]) -> list[Field]:
    """`--fields "Title,Body (HTML)"` or with roles: `--fields "Blurb=description,Name=title"`."""
    fields: list[Field] = []
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        column, _, role = item.partition("=")
        column, role = column.strip(), role.strip()
        if column not in columns:
            hint = difflib.get_close_matches(column, columns, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UsageError(f"unknown field {column!r}{extra}; the file's columns are: {', '.join(columns)}")
        if IDENTIFIER.search(column):
            raise UsageError(
                f"field {column!r} looks like an identifier, URL, price or barcode; "
                "localize never sends those to a model"
            )
        role = role or _known_role(column) or "description"
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r} for field {column!r}; roles: {', '.join(ROLES)}")
        if any(f.column == column for f in fields):
            continue
        fields.append(Field(column, role))
    if not fields:
        raise UsageError("--fields names no column")
    return fields


_NO_LETTERS = re.compile(r"^[^\w]*[\d\W_]*$")
_URL = re.compile(r"^(https?://|www\.|mailto:)\S+$", re.I)
_ONE_SIZE = r"(?:\d?X{0,4}[SML]|XX?L|\d+(?:[.,]\d+)?)"
_SIZE_CODE = re.compile(rf"^{_ONE_SIZE}(?:\s?[/-]\s?{_ONE_SIZE})*$")  # M, XL, 42, L/XL, 38-40


# Shopify's placeholder option of a product without variants: the import expects it verbatim.
SHOPIFY_PLACEHOLDERS = {"Default Title", "Title"}


def needs_model(text: str, kind: str) -> bool:
    """False for cells that must read the same in every language: numbers, URLs, size codes."""
    stripped = text.strip()
    if kind == "label" and stripped in SHOPIFY_PLACEHOLDERS:
        return False
    if not stripped or not any(ch.isalpha() for ch in stripped):
        return False
    if _URL.match(stripped):
        return False
    if kind == "label" and _SIZE_CODE.match(stripped):
        return False
    return True
