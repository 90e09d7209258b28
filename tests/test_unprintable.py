"""What a model writes that no listing may hold (control characters, escape
sequences, noncharacters, lone surrogates) never reaches a cell, and the
translation store never keeps a text that some output cannot write, nor an
API key."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from localize.backends.redaction import MASK
from localize.store import StoreSession, Stored, TranslationStore
from localize.store.store import Record
from localize.text.cleanup import clean_output
from localize.text.unprintable import remove_unprintable, writable

# Every code point, surrogates included, with the troublemakers made likely.
ANY_CHAR = st.characters(codec=None, categories=None) | st.sampled_from(
    ["\x00", "\x07", "\x1b", "\x1b[31m", "\x9b", "\ufffe", "\uffff", "\U0010ffff", "\ud800", "\t", "\n", "\r"])
MODEL_TEXT = st.lists(ANY_CHAR, max_size=40).map("".join)
SOURCE = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]) | st.sampled_from(["\t", "\n"]),
                 min_size=1, max_size=30)
KINDS = st.sampled_from(["title", "label", "text", "html"])
NEVER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\x1b]")


@settings(max_examples=500, deadline=None)
@given(text=MODEL_TEXT, source=SOURCE, kind=KINDS)
def test_cleaned_answer_holds_only_what_a_listing_may(text, source, kind):
    out = clean_output(text, source, kind)
    assert writable(out) and not NEVER.search(out), ascii(out)
    assert all((ord(c) & 0xFFFF) < 0xFFFE for c in out)  # no noncharacter of any plane
    out.encode("utf-8")
    core = out.strip()
    # A title or label stays on one line unless its source had several; a description
    # may gain a paragraph break, never a CR or a tab its source lacked.
    for brk in ("\t", "\n", "\r") if kind in ("title", "label") else ("\t", "\r"):
        if brk in core:
            assert brk in source, (ascii(out), ascii(source))


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=40))
def test_an_ordinary_answer_is_left_alone(text):
    assert remove_unprintable(text) == text


def test_escape_sequences_go_whole():
    assert clean_output("\x1b[1;31mBufanda\x1b[0m roja\x07", "Red scarf", "title") == "Bufanda roja"
    assert clean_output("Bufanda\x00 roja\uffff", "Red scarf", "title") == "Bufanda roja"
    assert clean_output("\x1b]0;pwned\x07Bufanda roja", "Red scarf", "title") == "Bufanda roja"
    # Tabs stay where the source had them and become spaces where it had none; a title
    # keeps its first line (the rest is a small model's commentary), a description may
    # gain a paragraph break.
    assert clean_output("Lana\tsuave\nTacto", "Soft wool", "title") == "Lana suave"
    assert clean_output("Lana\tsuave\nTacto", "Soft wool", "text") == "Lana suave\nTacto"
    assert clean_output("Lana\tsuave\nTacto", "Soft\twool\nFeel", "text") == "Lana\tsuave\nTacto"


def session(tmp_path) -> StoreSession:
    return StoreSession(TranslationStore(tmp_path / "store.sqlite"), model_id="m", templates={}, market_name="x")


KEY = ("title", None, "es", "Red scarf")


def test_store_never_keeps_nor_serves_an_unwritable_text(tmp_path):
    store = session(tmp_path)
    store.save([(KEY, Stored("Bufanda\uffff roja"))])
    assert store.lookup([KEY]) == {} and store.store.info().entries == 0
    # A store an older localize filled with U+FFFF: the text is generated again,
    # and the new one takes its place (every rerun would otherwise fail the same way).
    store.store.put_many([Record(store.digest(KEY), Stored("Bufanda\uffff roja"), "m", "es", "title")])
    assert store.lookup([KEY]) == {}
    store.save([(KEY, Stored("Bufanda roja"))])
    assert store.lookup([KEY]) == {KEY: Stored("Bufanda roja", "Bufanda roja")}


def test_store_never_keeps_an_api_key(tmp_path, monkeypatch):
    secret = "sk-SENTINEL-store-9d1e7c"
    monkeypatch.setenv("LOCALIZE_API_KEY", secret)
    store = session(tmp_path)
    store.save([(KEY, Stored(f"Bufanda roja {secret}", raw=f"raw {secret}"))])
    [stored] = store.lookup([KEY]).values()
    assert stored == Stored(f"Bufanda roja {MASK}", f"raw {MASK}")
    for path in tmp_path.iterdir():  # the database and its WAL
        assert secret.encode() not in path.read_bytes(), path
