"""benchmarks/plain_ab.py (localize vs a plain one-line prompt, same engine) runs
end to end. The engine here is the shared fake engine, so the scores prove the
wiring (both systems scored on the same held-out lines), not quality; the
numbers in the closing notes come from the embedded model."""

from __future__ import annotations

import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO))
from benchmarks import plain_ab  # noqa: E402


def test_plain_and_localize_are_scored_on_the_same_held_out_lines(fake_engine, tmp_path, monkeypatch, capsys):
    src, ref = tmp_path / "src.en", tmp_path / "ref.fr"
    src.write_text("seen line\nA shelf for clean towels , with a hook .\nSoft , rounded corners .\n")
    ref.write_text("ligne vue\nUne étagère pour serviettes propres , avec un crochet .\nCoins arrondis .\n")
    monkeypatch.setattr(sys, "argv", ["plain_ab", "--src", str(src), "--ref", str(ref), "--locale", "fr",
                                      "--skip", "1", "--count", "2", "--backend", "fake"])
    plain_ab.main()
    result = json.loads(capsys.readouterr().out)
    assert result["segments"] == 2 and set(result["chrF"]) == {"plain", "localize"}
    assert all(0 <= score <= 100 for score in result["chrF"].values())
    systems = [a.request.messages[0]["content"] for a in fake_engine.asked]
    plain = "Translate the user's text from English to French. Reply with the translation only."
    assert systems.count(plain) == 2  # the held-out lines, detokenized, and not the skipped one
    sent = [a.request.messages[-1]["content"] for a in fake_engine.asked if a.request.messages[0]["content"] == plain]
    assert sent == ["A shelf for clean towels, with a hook.", "Soft, rounded corners."]
    assert len(systems) > 2  # localize's own prompts went to the same engine
