"""A scriptable fake engine for tests of everything around the model.

Tests of the pipeline pin exact requests, call counts, repair rounds and
output bytes, which a real model's free text cannot. This engine reads each
request back (which turn it is, the prompt kind, the locale, the product text
between <<< and >>>, the answer a follow-up turn is about), records it, and
answers with a function of it:

- a first turn: `[<locale>] <source>`, or for HTML the source with the case of
  its text swapped and its markup kept (so it is never identical to its
  source); a source containing FAIL fails like an engine error;
- a shorten turn: the previous answer cut to the limit (`obeys_limits`), or as it was;
- a glossary repair turn: the previous answer with the fixes asked for applied
  (`obeys_repairs`), or as it was.

`first(kind, locale, source)` replaces first-turn answers and `answer(asked)`
any answer; either returns a text, a Generation (a failure, a finish_reason)
or None for the default. `raise_on_call=n` makes the n-th batch raise
BackendUnavailable, as when a server goes away.

Tests build it through the real engine registry: `serving(engine)` registers
it as `--backend fake` (localize.backends.register_backend) for a block.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, Union

from localize.backends import register_backend, unregister_backend
from localize.backends.base import Backend, Generation, GenerationRequest, OnResult
from localize.errors import BackendUnavailable
from localize.text import html
from localize.text.prompts import load_templates

FAIL = "FAILME"  # a source with this in it fails, as an engine error
NAME = "fake"  # its name in the engine registry

_SOURCE = re.compile(r"<<<\n(.*)\n>>>", re.S)
_LOCALE = re.compile(r"\(([a-z]{2,3}(?:-[A-Za-z0-9]+)*)\)")
_LIMIT = re.compile(r"over the limit of (\d+)")
_REPAIR = "Revise your answer:"

Answer = Union[str, Generation, None]


@dataclass
class Asked:
    """One request as the fake engine reads it."""

    request: GenerationRequest
    turn: str  # "translate" (a first turn), "shorten" or "repair"
    kind: str | None  # the prompt kind (title, label, text, html), from the system message
    locale: str | None = None  # a first turn's target locale
    source: str | None = None  # a first turn's product text, as sent (defused, masked)
    previous: str | None = None  # a follow-up turn: the answer it is about
    limit: int | None = None  # a shorten turn: the limit asked for

    @property
    def prompt(self) -> str:
        return self.request.messages[-1]["content"]


def swap_text_nodes(text: str) -> str:
    """The fake's HTML 'translation': swap the case of text, keep markup as is."""
    return "".join(piece if markup else piece.swapcase() for markup, piece in html.tokens(text))


class FakeEngine(Backend):
    name = NAME

    def __init__(
        self,
        *,
        first: Callable[[str, str, str], str | None] | None = None,
        answer: Callable[[Asked], Answer] | None = None,
        obeys_limits: bool = True,
        obeys_repairs: bool = True,
        raise_on_call: int | None = None,
        model_id: str = "fake",
    ):
        self.first = first
        self.answer = answer
        self.obeys_limits = obeys_limits
        self.obeys_repairs = obeys_repairs
        self.raise_on_call = raise_on_call
        self._model_id = model_id
        self.calls = 0  # generate() calls: one per batch and per repair round
        self.asked: list[Asked] = []  # every request, in the order answered
        self._kinds = {t.system: kind for kind, t in load_templates().items()}
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def requests(self) -> list[Asked]:
        """The first turns (one per segment sent), in order."""
        return [a for a in self.asked if a.turn == "translate"]

    @property
    def shorten_turns(self) -> list[Asked]:
        return [a for a in self.asked if a.turn == "shorten"]

    @property
    def repair_turns(self) -> list[Asked]:
        return [a for a in self.asked if a.turn == "repair"]

    def generate(self, requests: Sequence[GenerationRequest], on_result: OnResult | None = None) -> list[Generation]:
        with self._lock:
            self.calls += 1
            if self.calls == self.raise_on_call:
                raise BackendUnavailable("fake engine went away")
        out = []
        for i, request in enumerate(requests):
            asked = self.read(request)
            with self._lock:
                self.asked.append(asked)
            gen = self._generation(self.answer(asked) if self.answer else None) or self.default_answer(asked)
            if on_result:
                on_result(i, gen)
            out.append(gen)
        return out

    def read(self, request: GenerationRequest) -> Asked:
        kind = self._kinds.get(request.messages[0]["content"])
        last = request.messages[-1]["content"]
        previous = request.messages[-2]["content"] if len(request.messages) > 1 else None
        if last.startswith(_REPAIR):
            return Asked(request, "repair", kind, previous=previous)
        limit = _LIMIT.search(last)
        if limit:  # the market-limit repair round: the previous answer is the turn before
            return Asked(request, "shorten", kind, previous=previous, limit=int(limit.group(1)))
        found = _SOURCE.search(last)
        if found is None:  # not localize's prompt (a plain one-line prompt, for A/B baselines): the text is the turn
            return Asked(request, "translate", kind, None, last)
        locale = _LOCALE.findall(last.rsplit("\n>>>", 1)[1])[-1]
        return Asked(request, "translate", kind, locale, found.group(1))

    def default_answer(self, asked: Asked) -> Generation:
        """What this engine answers unless `answer` says otherwise."""
        if asked.turn == "shorten":
            return Generation(asked.previous[: asked.limit] if self.obeys_limits else asked.previous)
        if asked.turn == "repair":
            return Generation(_repaired(asked) if self.obeys_repairs else asked.previous, completion_tokens=2)
        if FAIL in asked.source:
            return Generation(text=None, error="fake engine failure")
        text = self.first(asked.kind, asked.locale, asked.source) if self.first else None
        if text is None:
            text = swap_text_nodes(asked.source) if asked.kind == "html" else f"[{asked.locale}] {asked.source}"
        return Generation(text=text, completion_tokens=3, prompt_tokens=10, finish_reason="stop")

    @staticmethod
    def _generation(answer: Answer) -> Generation | None:
        if answer is None or isinstance(answer, Generation):
            return answer
        return Generation(text=answer, completion_tokens=3, prompt_tokens=10, finish_reason="stop")


def _repaired(asked: Asked) -> str:
    """The previous answer with the repair turn's fixes applied, as an obedient model would."""
    answer, ask = asked.previous, asked.prompt
    for src, tgt in re.findall(r'Translate "([^"]+)" as "([^"]+)"', ask):
        answer = re.sub(re.escape(src), tgt, answer, flags=re.I)
    for banned in re.findall(r'Do not use "([^"]+)"', ask):
        answer = re.sub(re.escape(banned), "", answer, flags=re.I).strip()
    for token in re.findall(r"Copy (\S+) exactly", ask):
        answer = answer if token in answer else f"{answer} {token}"
    return answer


@contextlib.contextmanager
def serving(engine: Backend, name: str = NAME) -> Iterator[Backend]:
    """`engine` is what `--backend <name>` builds (through the real registry) inside the block."""
    register_backend(name, lambda model=None: engine)
    try:
        yield engine
    finally:
        unregister_backend(name)
