"""One batch's segments while they are generated and repaired: the request
each was sent, what it was built from, its current answer, and the helpers
the repair rounds share to build requests and judge answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from localize.backends.base import Generation, GenerationRequest
from localize.glossary.masking import reinsert_at_edges
from localize.pipeline.constraints import Check, Constraints, Prepared
from localize.pipeline.translate import verdicts
from localize.pipeline.translate.outcome import Outcome
from localize.store import SegmentKey
from localize.text.cleanup import clean_output
from localize.text.locales import Locale
from localize.text.prompts import PromptTemplate

# The most an answer may take: ~3,000 tokens in and as many out fit an 8k context.
MAX_ANSWER_TOKENS = 4096


@dataclass
class BatchWork:
    templates: dict[str, PromptTemplate]
    constraints: Constraints
    locales: dict[str, Locale]  # by code
    answers: dict[SegmentKey, Outcome] = field(default_factory=dict)  # each segment's current answer
    sent: dict[SegmentKey, GenerationRequest] = field(default_factory=dict)  # the request behind it
    prepared: dict[SegmentKey, Prepared] = field(default_factory=dict)  # what that request was built from
    locked_terms: dict[SegmentKey, set] = field(default_factory=dict)  # term sets the lock rounds tried

    def prepare(self, key: SegmentKey) -> Prepared:
        """The segment's glossary preparation (masked keep terms, injected terms), made once."""
        if key not in self.prepared:
            self.prepared[key] = self.constraints.prepare(key.text, key.locale)
        return self.prepared[key]

    def request(self, key: SegmentKey, prepared: Prepared | None = None, *, example: bool = True) -> GenerationRequest:
        """The first-turn request for a segment, from `prepared` (a lock) or its own preparation."""
        prepared = prepared or self.prepare(key)
        # Room for the rewrite: longer than the source (German, Turkish grow ~30%), bounded.
        max_tokens = min(MAX_ANSWER_TOKENS, 48 + int(len(key.text) * 0.75))
        messages = self.templates[key.kind].messages(
            verdicts.as_data(prepared.text), self.locales[key.locale], key.limit,
            terms=[(e.source, e.target) for e in prepared.prompt_terms],
            placeholders=list(prepared.masked.placeholders), example=example,
        )
        return GenerationRequest(
            messages=messages, max_tokens=max_tokens, bad_words=tuple(e.source for e in prepared.bans),
        )

    def outcome(self, key: SegmentKey, gen: Generation, prepared: Prepared | None = None) -> Outcome:
        """An engine's answer, cleaned, with keep terms restored."""
        if not gen.ok:
            return Outcome(None, gen.error or "engine error", attempts=gen.attempts)
        prepared = prepared or self.prepared[key]
        raw = clean_output(gen.text, prepared.text, key.kind)
        if not raw:
            return Outcome(None, "the model returned no text", finish_reason=gen.finish_reason)
        if key.kind != "html" and prepared.masked.placeholders:
            raw = reinsert_at_edges(raw, prepared.masked)
        text, restore_problems = self.constraints.restore(raw, prepared)
        return Outcome(text, raw=raw, restore_problems=restore_problems, finish_reason=gen.finish_reason)

    def check(self, key: SegmentKey, outcome: Outcome, prepared: Prepared | None = None) -> Check:
        """The glossary verdict on an answer."""
        return self.constraints.check(
            outcome.text, key.text, prepared or self.prepared[key], key.locale, outcome.restore_problems
        )

    def misses(self, key: SegmentKey, outcome: Outcome, prepared: Prepared | None = None) -> int:
        return len(self.check(key, outcome, prepared).issues) if self.constraints else 0

    def problems(self, key: SegmentKey, text: str, glossary_misses: int) -> int:
        """Glossary misses plus lost numbers and tags: what a repair must lower
        (length is the shorten round's to judge)."""
        return glossary_misses + verdicts.lost(text, key.text, key.kind)

    def withheld(self, key: SegmentKey, text: str | None) -> list[str]:
        """The safety problems (text/safety.py) that would leave this piece's cell empty."""
        return verdicts.withheld(text, key.text, key.locale, key.kind)

    def off_source(self, key: SegmentKey, text: str) -> bool:
        return verdicts.off_source(text, key.text, key.locale, key.kind)

    def keep(self, key: SegmentKey, answer: Outcome, request: GenerationRequest | None = None,
             prepared: Prepared | None = None) -> None:
        """Take a repaired answer; with its request (and preparation), later
        rounds follow up on this attempt instead of the first."""
        self.answers[key] = answer
        if request is not None:
            self.sent[key] = request
        if prepared is not None:
            self.prepared[key] = prepared
