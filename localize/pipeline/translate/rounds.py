"""Repair rounds: what happens to a batch's answers after the first try.

Each round is one small class with the same two methods: `select` says which
segments it takes (and builds each one's request), `accept` says whether a
new answer replaces the current one. BatchTranslator runs them in the order
of ROUNDS, each over the whole batch, so one round's requests go to the engine
together. A round that `follows_up` makes later rounds work from the request
of an answer it accepted (a locked term, a prompt without the worked example).

Adding a policy is one class here, one entry in ROUNDS and one test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from localize.backends.base import GenerationRequest
from localize.glossary.masking import reinsert_at_edges
from localize.pipeline.constraints import Check, Prepared
from localize.pipeline.translate.outcome import Outcome
from localize.pipeline.translate.work import MAX_ANSWER_TOKENS, BatchWork
from localize.store import SegmentKey


@dataclass
class Attempt:
    """One segment a round takes."""

    key: SegmentKey
    request: GenerationRequest | None = None  # None: the round answers without the model
    prepared: Prepared | None = None  # what the request was built from, when not the segment's own
    before: Check | None = None  # the glossary verdict on the answer it would replace


class Round:
    name = "round"
    glossary_only = False  # runs only when a glossary applies
    calls_model = True
    follows_up = False  # an accepted answer's request is what later rounds build on

    def select(self, work: BatchWork) -> list[Attempt]:
        raise NotImplementedError

    def accept(self, work: BatchWork, attempt: Attempt, answer: Outcome) -> bool:
        """Whether `answer` (never a failed one) replaces the segment's current answer."""
        raise NotImplementedError

    def answer(self, work: BatchWork, attempt: Attempt) -> Outcome:
        """A round that makes no model call makes its answer here."""
        raise NotImplementedError


class MoreRoom(Round):
    """An answer cut at max_tokens (finish_reason "length": a page that grew
    more than the request allowed for) is asked again once with twice the
    room, up to MAX_ANSWER_TOKENS. Runs first: every later round would work
    from a text that stops mid-sentence."""

    name = "more_room"
    follows_up = True

    def select(self, work: BatchWork) -> list[Attempt]:
        return [
            Attempt(key, replace(work.sent[key], max_tokens=min(2 * work.sent[key].max_tokens, MAX_ANSWER_TOKENS)))
            for key, outcome in work.answers.items()
            if outcome.text is not None and outcome.finish_reason == "length"
            and work.sent[key].max_tokens < MAX_ANSWER_TOKENS
        ]

    def accept(self, work: BatchWork, attempt: Attempt, answer: Outcome) -> bool:
        # A whole answer wins; one cut again is taken only if it got further.
        return answer.finish_reason != "length" or len(answer.text) > len(work.answers[attempt.key].text)


class GlossaryRepair(Round):
    """What the glossary repair rounds share: a repaired answer is kept only
    when it leaves fewer problems, glossary and other (numbers, tags) together,
    and no more glossary problems, and is not withheld or copied where the
    first was not."""

    glossary_only = True

    def accept(self, work: BatchWork, attempt: Attempt, answer: Outcome) -> bool:
        key, current = attempt.key, work.answers[attempt.key]
        misses, before = len(work.check(key, answer, attempt.prepared).issues), len(attempt.before.issues)
        no_better = work.problems(key, answer.text, misses) >= work.problems(key, current.text, before)
        if misses > before or no_better:
            return False  # a term gained must not cost a number, a tag or another term
        # A glossary miss is flagged and published; a withheld cell is empty.
        return not (work.off_source(key, answer.text) and not work.off_source(key, current.text))


class LockTerms(GlossaryRepair):
    """A missed mandated term: the piece is translated again with that term
    locked (constraints.py says why). With `every_term`, a piece still missing
    a term after that (the model dropped a word it had right: "QX1 keten QX2"
    came back "QX1 - QX2") once more with every term of the piece locked."""

    follows_up = True  # later rounds (fixes, shorten, last resort) work from the locked attempt

    def __init__(self, *, every_term: bool = False):
        self.every_term = every_term
        self.name = "lock_all_terms" if every_term else "lock_term"

    def select(self, work: BatchWork) -> list[Attempt]:
        tried = work.locked_terms  # the term sets already locked, per segment
        attempts = []
        for key, outcome in work.answers.items():
            if outcome.text is None or (self.every_term and key not in tried):
                continue
            check = work.check(key, outcome)
            if not check.missing_terms:
                continue
            locked = work.constraints.lock(key.text, key.locale, check.missing_terms, lock_all=self.every_term)
            if locked.locked and set(locked.locked) != tried.get(key):
                tried[key] = set(locked.locked)
                attempts.append(Attempt(key, work.request(key, locked), locked, check))
        return attempts


class FixGlossary(GlossaryRepair):
    """What is still wrong after the lock rounds (a kept term lost, a banned
    word, a term that could not be locked): the model sees its answer and
    the list of fixes, in a follow-up turn."""

    name = "fix_glossary"

    def select(self, work: BatchWork) -> list[Attempt]:
        attempts = []
        for key, outcome in work.answers.items():
            if outcome.text is None:
                continue
            check = work.check(key, outcome)
            fixes = check.fixes if key in work.locked_terms else check.all_fixes  # locked terms had their round
            if check.issues and (fixes or outcome.restore_problems):
                sent = work.sent[key]
                messages = work.templates[key.kind].repair_messages(
                    sent.messages, outcome.raw, fixes or ["Copy every placeholder exactly as written."])
                request = GenerationRequest(messages=messages, max_tokens=sent.max_tokens, bad_words=sent.bad_words)
                attempts.append(Attempt(key, request, None, check))
        return attempts


class Shorten(Round):
    """Outputs over the market's limit: small models often ignore a limit on
    the first try but shorten when shown the count. A repair is kept only if
    it is shorter and can be published; what is still too long is flagged."""

    name = "shorten"

    def select(self, work: BatchWork) -> list[Attempt]:
        attempts = []
        for key, outcome in work.answers.items():
            template = work.templates[key.kind]
            if not (outcome.text and key.limit and template.shorten and len(outcome.text.strip()) > key.limit):
                continue
            sent = work.sent[key]
            messages = template.shorten_messages(
                sent.messages, (outcome.raw or outcome.text).strip(), work.locales[key.locale], key.limit)
            attempts.append(Attempt(key, GenerationRequest(
                messages=messages, max_tokens=sent.max_tokens, bad_words=sent.bad_words)))
        return attempts

    def accept(self, work: BatchWork, attempt: Attempt, answer: Outcome) -> bool:
        current = work.answers[attempt.key]
        return bool(answer.text) and len(answer.text.strip()) < len(current.text.strip()) \
            and not work.withheld(attempt.key, answer.text)


class RetryWithoutExample(Round):
    """One fresh try, without the worked example, for an answer that copied
    from it or that the safety checks would withhold. On the example catalog
    these were a small model's slips, not attacks: the example's "Mochila de
    senderismo" opening a yoga mat's text, its "420D nylon" in a page, a stray
    "<<<". A different prompt gets a different greedy answer; it is kept when
    clean and, unless the first would be withheld, no worse (a garbled text
    that lost "4 mm" and three terms is no fix for a yoga mat's "Mochila de
    senderismo ... 4 mm"). It is vetted like any answer (the cell is vetted
    again when assembled), so a steered model gains nothing from a second
    chance but a second withheld answer."""

    name = "retry_without_example"
    follows_up = True

    def select(self, work: BatchWork) -> list[Attempt]:
        attempts = []
        for key, outcome in work.answers.items():
            if outcome.text is None or not work.off_source(key, outcome.text):
                continue
            prepared = work.prepare(key)
            attempts.append(Attempt(key, work.request(key, prepared, example=False), prepared))
        return attempts

    def accept(self, work: BatchWork, attempt: Attempt, answer: Outcome) -> bool:
        key, current = attempt.key, work.answers[attempt.key]
        if work.off_source(key, answer.text):
            return False
        worse = (work.problems(key, answer.text, work.misses(key, answer, attempt.prepared))
                 > work.problems(key, current.text, work.misses(key, current)))
        # A copied example is flagged and published; a worse text would be too.
        return not worse or bool(work.withheld(key, current.text))


class LastResortKeep(Round):
    """A title, label or one-line text (image alt text) that still lacks a
    kept term after the repair rounds gets it in front (brand-first, as
    marketplaces ask of titles): the seller's brand and product line are
    never silently lost. Longer texts are only flagged: a name glued in front
    of a paragraph reads worse. No model call."""

    name = "last_resort_keep"
    glossary_only = True
    calls_model = False

    def select(self, work: BatchWork) -> list[Attempt]:
        return [Attempt(key) for key, outcome in work.answers.items()
                if _short(key) and outcome.text is not None and outcome.restore_problems]

    def answer(self, work: BatchWork, attempt: Attempt) -> Outcome:
        current, prepared = work.answers[attempt.key], work.prepared[attempt.key]
        raw = reinsert_at_edges(current.raw or "", prepared.masked, last_resort=True)
        text, problems = work.constraints.restore(raw, prepared)
        return Outcome(text, raw=raw, restore_problems=problems, finish_reason=current.finish_reason)

    def accept(self, work: BatchWork, attempt: Attempt, answer: Outcome) -> bool:
        return len(answer.restore_problems) < len(work.answers[attempt.key].restore_problems)


def _short(key: SegmentKey) -> bool:
    return key.kind in ("title", "label") or (key.kind == "text" and len(key.text) <= 160 and "\n" not in key.text)


# The order rounds run in. The glossary rounds come before shortening (a
# repaired answer may be longer), the retry without the example after every
# model repair (any of them may copy it), the model-free keep last.
ROUNDS: tuple[Round, ...] = (
    MoreRoom(),
    LockTerms(),
    LockTerms(every_term=True),
    FixGlossary(),
    Shorten(),
    RetryWithoutExample(),
    LastResortKeep(),
)
