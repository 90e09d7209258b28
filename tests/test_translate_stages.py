"""The translator's stages as parts: the named segment key, the repair rounds'
shape, the cut-answer round, and the shared fake engine in the real registry.

Run through `localize` with the shared fake engine (localize.testing.fake_engine)
built by the engine registry as `--backend fake`, because these tests pin
exact requests and their max_tokens, which a real model cannot.
"""

from __future__ import annotations

import pytest

from localize.backends import create_backend, register_backend, unregister_backend
from localize.backends.base import Generation
from localize.errors import UsageError
from localize.pipeline.run import RunOptions, run
from localize.pipeline.translate import MAX_ANSWER_TOKENS, ROUNDS, SegmentKey
from localize.pipeline.translate.rounds import MoreRoom
from localize.store import StoreSession
from localize.testing.fake_engine import FakeEngine, serving
from localize.text.locales import parse_locales
from localize.text.prompts import load_templates
from test_pipeline import as_dicts, read_csv, write_csv


def localize(path, to="es", **kw):
    return run(RunOptions(input=path, locales=parse_locales(to), quiet=True, backend="fake", **kw))


def wordy(tokens_per_char: int):
    """An engine whose answers take `tokens_per_char` tokens a character: cut at
    max_tokens (finish_reason "length") where the request allows fewer."""
    def answer(asked):
        if asked.turn != "translate":
            return None
        full, room = f"[{asked.locale}] {asked.source}", asked.request.max_tokens
        if len(full) * tokens_per_char <= room:
            return None
        return Generation(full[: room // tokens_per_char], completion_tokens=room, finish_reason="length")
    return answer


TITLE = "Merino wool crew neck sweater with ribbed cuffs"  # 83 tokens of room; its answer needs 104 at 2 a character


# -- the cut-answer round ------------------------------------------------------------------------


def test_an_answer_cut_at_max_tokens_is_asked_again_with_twice_the_room(tmp_path, fake_engine):
    src = write_csv(tmp_path / "p.csv", [["Title"], [TITLE], ["Hat"]])
    fake_engine.answer = wordy(2)
    stats = localize(src)
    rooms = [(a.source, a.request.max_tokens) for a in fake_engine.requests]
    assert rooms == [(TITLE, 83), ("Hat", 50), (TITLE, 166)]
    assert stats.repairs == 1 and stats.model_calls == 3
    out = as_dicts(read_csv(tmp_path / "p.localized.csv"))
    assert [r["Title_es"] for r in out] == [f"[es] {TITLE}", "[es] Hat"]


def test_an_answer_cut_again_is_asked_once_and_the_longer_one_kept(tmp_path, fake_engine):
    src = write_csv(tmp_path / "p.csv", [["Title"], [TITLE]])
    fake_engine.answer = wordy(4)  # needs 208: cut at 83 and again at 166
    stats = localize(src)
    assert [a.request.max_tokens for a in fake_engine.requests] == [83, 166]  # one retry, not a loop
    assert stats.repairs == 1
    out = as_dicts(read_csv(tmp_path / "p.localized.csv"))
    assert out[0]["Title_es"] == f"[es] {TITLE}"[: 166 // 4]


def test_no_more_room_than_the_cap(tmp_path, fake_engine):
    """A request already at MAX_ANSWER_TOKENS (a 5,500-character text) is not asked for more."""
    page = ("The wool is soft and warm. " * 204).strip()  # 5,507 characters of plain text
    src = write_csv(tmp_path / "p.csv", [["Title", "Description"], ["Hat", page]])
    fake_engine.answer = wordy(10)
    localize(src)
    asked = [(a.kind, a.request.max_tokens, len(a.request.messages)) for a in fake_engine.requests]
    assert [room for kind, room, _ in asked if kind == "title"] == [50, 100]  # the title's room was doubled
    # The text's only second request is the retry without the worked example (its cut answer
    # would be withheld for its length), at the same room: two messages, not four.
    assert [(room, n) for kind, room, n in asked if kind == "text"] == [(MAX_ANSWER_TOKENS, 4), (MAX_ANSWER_TOKENS, 2)]


def test_without_the_round_a_cut_answer_is_kept_as_it_came(tmp_path, fake_engine, monkeypatch):
    """The round is what makes the difference: left out of ROUNDS, one request and a cut text."""
    from localize.pipeline.translate import translator

    monkeypatch.setattr(translator, "ROUNDS", tuple(r for r in ROUNDS if not isinstance(r, MoreRoom)))
    src = write_csv(tmp_path / "p.csv", [["Title"], [TITLE]])
    fake_engine.answer = wordy(2)
    stats = localize(src)
    assert len(fake_engine.requests) == 1 and stats.repairs == 0
    assert as_dicts(read_csv(tmp_path / "p.localized.csv"))[0]["Title_es"] == f"[es] {TITLE}"[: 83 // 2]


# -- rounds keep their order and shape -----------------------------------------------------------


def test_rounds_run_in_the_documented_order():
    assert [r.name for r in ROUNDS] == ["more_room", "lock_term", "lock_all_terms", "fix_glossary", "shorten",
                                        "retry_without_example", "last_resort_keep"]
    assert [r.name for r in ROUNDS if not r.calls_model] == ["last_resort_keep"]
    assert {r.name for r in ROUNDS if r.glossary_only} == {"lock_term", "lock_all_terms", "fix_glossary",
                                                           "last_resort_keep"}


# -- the segment key -----------------------------------------------------------------------------


def test_a_segment_key_is_stored_under_the_same_digest_as_the_plain_tuple():
    """Texts stored before the key had names stay valid: same digest for the same four values."""
    session = StoreSession(None, model_id="m", templates=load_templates(), market_name="generic")
    key = SegmentKey(kind="title", limit=200, locale="es", text="Merino sweater")
    assert key == ("title", 200, "es", "Merino sweater")
    assert session.digest(key) == session.digest(("title", 200, "es", "Merino sweater"))


# -- the engine registry -------------------------------------------------------------------------


def test_a_registered_engine_is_what_create_backend_builds(fake_engine):
    assert create_backend("fake") is fake_engine
    with pytest.raises(UsageError, match="did you mean 'fake'"):
        create_backend("fakr")


def test_registration_is_scoped_and_built_ins_stay():
    engine = FakeEngine()
    with serving(engine, name="scoped"):
        assert create_backend("scoped", model="ignored") is engine
    with pytest.raises(UsageError, match="unknown backend 'scoped'"):
        create_backend("scoped")
    with pytest.raises(ValueError, match="built-in"):
        register_backend("embedded", FakeEngine)
    unregister_backend("vllm")  # a built-in is never removed
    with pytest.raises(UsageError, match="choose one of: auto, embedded, vllm, vllm-offline$"):
        create_backend("nope")


def test_the_fake_engine_reports_each_answer_and_raises_on_demand(fake_engine):
    from localize.backends.base import GenerationRequest
    from localize.errors import BackendUnavailable
    from localize.testing.fake_engine import FAIL

    request = GenerationRequest(messages=load_templates()["title"].messages(f"Hat {FAIL}", parse_locales("es")[0]))
    reported = []
    gens = fake_engine.generate([request], on_result=lambda i, g: reported.append((i, g)))
    assert gens[0].text is None and reported == [(0, gens[0])]
    assert (fake_engine.requests[0].source, fake_engine.requests[0].kind) == (f"Hat {FAIL}", "title")
    fake_engine.raise_on_call = 2
    with pytest.raises(BackendUnavailable):
        fake_engine.generate([request])
