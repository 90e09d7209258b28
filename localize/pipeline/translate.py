"""Turn a batch of catalog rows into model requests and back into cells.

For each batch: every non-empty cell of every field is cut into pieces (a
whole title; an HTML page in blocks), each piece becomes one request per
locale unless an identical (kind, limit, locale, text) was already generated,
all requests of the batch go to the engine in one call (all locales of a row
next to each other, so a server caches the shared prefix), and the answers are
cleaned, checked and joined back into cells.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from localize.backends.base import Backend, Generation, GenerationRequest
from localize.catalog.fields import Field, needs_model
from localize.pipeline.constraints import Check, Constraints, GlossaryTotals, Prepared
from localize.text.cleanup import clean_output, problems
from localize.text.html import has_text, split_blocks
from localize.text.locales import Locale
from localize.text.markets import Market
from localize.text.prompts import PromptTemplate

Key = tuple[str, int | None, str, str]  # (kind, max_chars, locale, source piece)


@dataclass
class Outcome:
    text: str | None  # None: the engine failed; else the output with keep-terms restored
    error: str | None = None
    raw: str | None = None  # the model's own answer (placeholders in place), for repair turns
    restore_problems: list[str] = field(default_factory=list)
    check: Check | None = None  # the glossary verdict, when a glossary applies


@dataclass
class CellResult:
    value: str | None
    issues: list[tuple[str, str]] = field(default_factory=list)  # (code, detail)
    failed: bool = False


class TranslationMemory:
    """Texts generated in this run, so repeats ("Size", "Black") cost one call.

    Bounded LRU: a 10-million-row catalog must not grow memory without end;
    the repeats that matter (option labels, shared boilerplate) stay hot.
    """

    def __init__(self, capacity: int = 200_000):
        self.capacity = capacity
        self._data: OrderedDict[Key, Outcome] = OrderedDict()

    def get(self, key: Key) -> Outcome | None:
        hit = self._data.get(key)
        if hit is not None:
            self._data.move_to_end(key)
        return hit

    def put(self, key: Key, outcome: Outcome) -> None:
        if outcome.text is None:
            return  # failures are retried when the text comes up again
        self._data[key] = outcome
        self._data.move_to_end(key)
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)


@dataclass
class _Cell:
    row: int  # index within the batch
    field: Field
    source: str
    kind: str
    max_chars: int | None
    pieces: list[str]
    needs: list[bool]  # per piece: does it go to the model


class BatchTranslator:
    def __init__(
        self,
        backend: Backend,
        templates: dict[str, PromptTemplate],
        market: Market,
        locales: Sequence[Locale],
        *,
        html_piece_chars: int = 1200,
        memory: TranslationMemory | None = None,
        glossary=None,
    ):
        self.backend = backend
        self.templates = templates
        self.market = market
        self.locales = list(locales)
        self.html_piece_chars = html_piece_chars
        self.memory = memory or TranslationMemory()
        self.constraints = Constraints(glossary)
        self.glossary_totals: dict[str, GlossaryTotals] = {loc.code: GlossaryTotals() for loc in self.locales}
        self._prepared: dict[Key, Prepared] = {}
        # Counters the run summary reads.
        self.segments = self.copied = self.model_calls = self.reused = self.failures = self.repairs = 0
        self.completion_tokens = self.prompt_tokens = 0
        # Requests of the batch in progress: the run's ETA is smooth only if it counts these.
        self.batch_requests = self.batch_done = 0

    # -- planning -------------------------------------------------------------

    def _plan_cell(self, row: int, fld: Field, source: str) -> _Cell:
        kind = fld.kind_for(source)
        max_chars = self.market.limit(fld.role)
        if not needs_model(source, kind):
            return _Cell(row, fld, source, kind, max_chars, [source], [False])
        pieces = split_blocks(source, self.html_piece_chars) if kind == "html" else [source]
        needs = [has_text(p) if kind == "html" else True for p in pieces]
        return _Cell(row, fld, source, kind, max_chars, pieces, needs)

    def _key(self, cell: _Cell, piece: str, locale: Locale) -> Key:
        # An HTML page cut into pieces cannot give each piece the page's limit; it is checked on the whole.
        limit = cell.max_chars if len(cell.pieces) == 1 else None
        return (cell.kind, limit, locale.code, piece.strip())

    def _request(self, key: Key, locale: Locale) -> GenerationRequest:
        kind, limit, _, text = key
        template = self.templates[kind]
        prepared = self._prepared[key] = self.constraints.prepare(text, locale.code)
        # Room for the rewrite: longer than the source (German, Turkish grow ~30%), bounded.
        max_tokens = min(4096, 48 + int(len(text) * 0.75))
        messages = template.messages(
            prepared.text, locale, limit,
            terms=[(e.source, e.target) for e in prepared.terms],
            placeholders=list(prepared.masked.placeholders),
        )
        return GenerationRequest(
            messages=messages, max_tokens=max_tokens, bad_words=tuple(e.source for e in prepared.bans),
        )

    def _outcome(self, key: Key, gen: Generation) -> Outcome:
        if not gen.ok:
            return Outcome(None, gen.error or "engine error")
        prepared = self._prepared[key]
        raw = clean_output(gen.text, prepared.text, key[0])
        if not raw:
            return Outcome(None, "the model returned no text")
        text, restore_problems = self.constraints.restore(raw, prepared)
        return Outcome(text, raw=raw, restore_problems=restore_problems)

    # -- running --------------------------------------------------------------

    def translate(
        self,
        rows: Sequence[dict[str, str | None]],
        fields: Sequence[Field],
        on_row_done: Callable[[str, int], None] | None = None,
        on_request_done: Callable[[], None] | None = None,
    ) -> dict[tuple[int, str, str], CellResult]:
        """Localize `rows` (column -> value). Returns {(row, column, locale): CellResult}.

        `on_row_done(locale, n)` reports rows whose every cell in that locale is
        finished; `on_request_done()` is called after each engine request.
        """
        cells = [
            self._plan_cell(r, f, value)
            for r, row in enumerate(rows)
            for f in fields
            if (value := row.get(f.column)) not in (None, "")
        ]
        keys: list[Key] = []  # unique requests for the engine, in submission order
        key_index: dict[Key, int] = {}
        waiting: dict[tuple[int, str], int] = {}  # (row, locale) -> requests still running
        dependants: list[list[tuple[int, str]]] = []
        for cell in cells:
            for locale in self.locales:
                for piece, need in zip(cell.pieces, cell.needs):
                    if not need:
                        continue
                    key = self._key(cell, piece, locale)
                    self.segments += 1
                    if self.memory.get(key) is not None:
                        self.reused += 1
                        continue
                    if key in key_index:
                        self.reused += 1
                    else:
                        key_index[key] = len(keys)
                        keys.append(key)
                        dependants.append([])
                    slot = (cell.row, locale.code)
                    dependants[key_index[key]].append(slot)
                    waiting[slot] = waiting.get(slot, 0) + 1
                if not any(cell.needs):
                    self.copied += 1

        if on_row_done:
            for locale in self.locales:
                done = sum(1 for r in range(len(rows)) if (r, locale.code) not in waiting)
                if done:
                    on_row_done(locale.code, done)

        locale_by_code = {loc.code: loc for loc in self.locales}

        lock = threading.Lock()  # engines may report from worker threads

        def finished(i: int, gen: Generation) -> None:
            with lock:
                self.batch_done += 1
                self.completion_tokens += gen.completion_tokens
                self.prompt_tokens += gen.prompt_tokens
                for slot in dependants[i]:
                    waiting[slot] -= 1
                    if waiting[slot] == 0 and on_row_done:
                        on_row_done(slot[1], 1)
            if on_request_done:
                on_request_done()

        requests = [self._request(k, locale_by_code[k[2]]) for k in keys]
        sent = dict(zip(keys, requests))
        self.model_calls += len(requests)
        self.batch_requests, self.batch_done = len(requests), 0
        generations = self.backend.generate(requests, on_result=finished) if requests else []
        fresh = {key: self._outcome(key, gen) for key, gen in zip(keys, generations)}
        if self.constraints:
            self._repair_glossary(fresh, sent)
        self._shorten(fresh, sent, locale_by_code)
        for key, outcome in fresh.items():
            if self.constraints and outcome.text is not None:
                outcome.check = self._check(key, outcome)
            self.memory.put(key, outcome)
        self._prepared.clear()

        results: dict[tuple[int, str, str], CellResult] = {}
        for cell in cells:
            for locale in self.locales:
                results[(cell.row, cell.field.column, locale.code)] = self._assemble(cell, locale, fresh)
        return results

    def _check(self, key: Key, outcome: Outcome) -> Check:
        return self.constraints.check(
            outcome.text, key[3], self._prepared[key], key[2], outcome.restore_problems
        )

    def _repair_glossary(self, fresh: dict[Key, Outcome], sent: dict[Key, GenerationRequest]) -> None:
        """One repair round for glossary misses: the model sees its answer and the list of fixes.
        The repaired answer is kept only when it leaves fewer problems."""
        todo = []
        for key, outcome in fresh.items():
            if outcome.text is None:
                continue
            check = self._check(key, outcome)
            if check.issues and (check.fixes or outcome.restore_problems):
                fixes = check.fixes or ["Copy every placeholder exactly as written."]
                todo.append((key, outcome, check, fixes))
        if not todo:
            return
        requests = [
            GenerationRequest(
                messages=self.templates[key[0]].repair_messages(sent[key].messages, outcome.raw, fixes),
                max_tokens=sent[key].max_tokens, bad_words=sent[key].bad_words,
            )
            for key, outcome, _, fixes in todo
        ]
        self.model_calls += len(requests)
        self.repairs += len(requests)
        for (key, outcome, check, _), gen in zip(todo, self.backend.generate(requests)):
            self.completion_tokens += gen.completion_tokens
            self.prompt_tokens += gen.prompt_tokens
            repaired = self._outcome(key, gen)
            if repaired.text is not None and len(self._check(key, repaired).issues) < len(check.issues):
                fresh[key] = repaired

    def _shorten(self, fresh: dict[Key, Outcome], sent: dict[Key, GenerationRequest], locales) -> None:
        """One repair round for outputs over the market's limit: small models
        often ignore a limit on the first try but shorten when shown the count.
        A repair is kept only if it is shorter; what is still too long is flagged."""
        todo = [
            (key, outcome) for key, outcome in fresh.items()
            if outcome.text and key[1] and self.templates[key[0]].shorten and len(outcome.text.strip()) > key[1]
        ]
        if not todo:
            return
        requests = [
            GenerationRequest(
                messages=self.templates[key[0]].shorten_messages(
                    sent[key].messages, (outcome.raw or outcome.text).strip(), locales[key[2]], key[1]
                ),
                max_tokens=sent[key].max_tokens, bad_words=sent[key].bad_words,
            )
            for key, outcome in todo
        ]
        self.model_calls += len(requests)
        self.repairs += len(requests)
        for (key, outcome), gen in zip(todo, self.backend.generate(requests)):
            self.completion_tokens += gen.completion_tokens
            self.prompt_tokens += gen.prompt_tokens
            shorter = self._outcome(key, gen)
            if shorter.text and len(shorter.text.strip()) < len(outcome.text.strip()):
                fresh[key] = shorter

    def _assemble(self, cell: _Cell, locale: Locale, fresh: dict[Key, Outcome]) -> CellResult:
        out: list[str] = []
        checks: list[Check] = []
        for piece, need in zip(cell.pieces, cell.needs):
            if not need:
                out.append(piece)
                continue
            key = self._key(cell, piece, locale)
            outcome = fresh.get(key) or self.memory.get(key)
            if outcome is None or outcome.text is None:
                self.failures += 1
                reason = outcome.error if outcome else "no result"
                return CellResult(None, [("failed", reason)], failed=True)
            lead = piece[: len(piece) - len(piece.lstrip())]
            trail = piece[len(piece.rstrip()) :]
            out.append(lead + outcome.text.strip() + trail)
            if outcome.check is not None:
                checks.append(outcome.check)
        value = "".join(out)
        issues = problems(value, cell.source, cell.kind, cell.max_chars) if any(cell.needs) else []
        for check in checks:  # counted per cell: a term in 100 rows is 100 required occurrences
            self.glossary_totals[locale.code].add(check)
            issues.extend(check.issues)
        return CellResult(value, issues)
