"""One evaluation: load the rows, optionally localize them (`--run`), check every
row, score each locale against its references, and evaluate the gates.

Three inputs:

  dev set       a table with an `id` column, an optional `kind` column
                (title | html | text | label), a source column (`en`) and one
                reference column per locale (`es`, `fr`, ...). With `--run` the
                source is localized into the `--to` locales first.
  localized     any table with `<column>_<locale>` columns (what `localize`
  catalog       writes): each is checked against `<column>`; when `<column>` is
                itself a locale column (a localized dev set: `en_es` beside
                `es`), it is scored against the reference column too.
  line files    --hyp OUT --locale es [--ref REF] [--src SRC], aligned by line.

Scores of HTML rows use the visible text of output and reference (tags are
the tag-structure check's business); this is recorded in the settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from localize.errors import GateFailed, UsageError
from localize.eval import gates as gates_mod
from localize.checks import REGISTRY, plain_text
from localize.eval.checks import CHECKS, Row, run_checks
from localize.eval.devset import run_dev_set
from localize.eval.lines import line_rows
from localize.eval.scores import METRICS, Score, corpus_scores, scores_with_sentence_chrf
from localize.eval.tables import catalog_rows, read_table
from localize.text.locales import parse_locales
from localize.text.markets import load_market

PREPROCESS = "html rows: text only (each tag becomes a space, entities decoded, whitespace collapsed)"
PREPROCESS_LINES = "none: lines scored as given, like the sacrebleu command line"
WORST_PER_LOCALE = 10


@dataclass
class EvalOptions:
    path: Path | None = None  # dev set or localized catalog
    hyp: Path | None = None
    ref: Path | None = None
    src: Path | None = None
    locale: str | None = None  # the locale of --hyp
    run: bool = False
    to: str | None = None
    backend: str = "auto"
    model: str | None = None
    endpoint: str | None = None
    threads: int | None = None
    market: str = "generic"
    limit: int | None = None
    output: Path | None = None  # --run: where the localized dev set is kept
    gates: Path | None = None
    metrics: tuple[str, ...] = METRICS  # TER is slow on long segments: --metrics BLEU,chrF,chrF++
    quiet: bool = False
    glossaries: tuple[Path, ...] = ()  # keep/term/ban adherence and terminology accuracy; --run enforces them


@dataclass
class LocaleResult:
    locale: str
    rows: int = 0  # rows checked (non-empty source)
    scored: int = 0  # rows with a reference, scored
    scores: dict[str, dict[str, Score]] = field(default_factory=dict)  # "all" | kind -> metric -> Score
    counts: dict[str, int] = field(default_factory=dict)  # check -> rows violating it

    @property
    def rates(self) -> dict[str, float]:
        return {c: (self.counts.get(c, 0) / self.rows) for c in CHECKS} if self.rows else {}

    terms_expected: int = 0
    terms_found: int = 0

    @property
    def terminology(self) -> float | None:
        """WMT23 terminology-task style: share of required term occurrences realized."""
        return self.terms_found / self.terms_expected if self.terms_expected else None

    def measured(self, metrics) -> dict:
        scores = {m: s.score for m, s in self.scores.get("all", {}).items()}
        return {"scores": scores, "metrics": list(metrics), "rates": self.rates, "terminology": self.terminology}


@dataclass
class EvalResult:
    input: str
    mode: str  # dev-set (--run) | localized (a table with <column>_<locale>) | lines
    locales: dict[str, LocaleResult]
    rows: list[Row]
    settings: dict
    gates: list[gates_mod.GateResult] = field(default_factory=list)
    gates_file: str | None = None
    unused_gate_sections: list[str] = field(default_factory=list)
    run: dict | None = None
    output: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(g.passed is not False for g in self.gates)

    def worst_rows(self, per_locale: int = WORST_PER_LOCALE) -> list[Row]:
        out = []
        for code in self.locales:
            rows = [r for r in self.rows if r.locale == code and (r.violations or r.sentence_chrf is not None)]
            rows.sort(key=lambda r: (-len(r.violations), 101.0 if r.sentence_chrf is None else r.sentence_chrf))
            out += rows[:per_locale]
        return out

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise GateFailed(gates_mod.failure_message(self.gates, Path(self.gates_file or "")))


def evaluate(opts: EvalOptions, *, backend=None) -> EvalResult:
    """Everything `localize eval` does except printing. Usage errors come before any model work."""
    _check_options(opts)
    gates = gates_mod.load_gates(opts.gates) if opts.gates else None
    glossary = None
    if opts.glossaries:
        from localize.glossary.formats import load_glossaries

        glossary = load_glossaries(list(opts.glossaries))
    market = load_market(opts.market)
    timings: dict[str, float] = {}
    started = time.monotonic()
    run_stats = output = None
    if opts.hyp is not None:
        mode, rows = "lines", line_rows(opts.hyp, opts.locale, ref=opts.ref, src=opts.src, limit=opts.limit)
        source = opts.hyp
    else:
        source = opts.path
        table = read_table(opts.path, opts.limit)
        if opts.run:
            mode = "dev-set"
            rows, run_stats, output = run_dev_set(opts, table, market, backend)
        else:
            mode = "localized"
            rows = catalog_rows(table, opts.to, market)
    timings["load_and_localize_s"] = time.monotonic() - started

    t = time.monotonic()
    from localize.checks.langid import get_identifier

    identifier = get_identifier()
    run_checks(rows, identifier)
    terms = _glossary_checks(rows, glossary) if glossary is not None else {}
    timings["checks_s"] = time.monotonic() - t

    t = time.monotonic()
    locales = _score(rows, opts.metrics, html_text=mode != "lines")
    for code, (expected, found) in terms.items():
        if code in locales:
            locales[code].terms_expected, locales[code].terms_found = expected, found
    timings["scores_s"] = time.monotonic() - t
    settings = {
        "market": market.name,
        "preprocess": PREPROCESS if mode != "lines" else PREPROCESS_LINES,
        "language_id": identifier.signature,
        "sacrebleu": _sacrebleu_version(),
        "metrics": list(opts.metrics),
    }
    result = EvalResult(str(source), mode, locales, rows, settings, run=run_stats, output=output, timings=timings)
    if gates is not None:
        measured = {code: loc.measured(opts.metrics) for code, loc in locales.items()}
        result.gates = gates_mod.evaluate(gates, measured)
        result.gates_file = str(gates.path)
        result.unused_gate_sections = gates_mod.unused_sections(gates, measured)
    return result


def _glossary_checks(rows: list[Row], glossary) -> dict[str, tuple[int, int]]:
    """Keep/term/ban adherence per row (added to its violations) and, per locale,
    (required term occurrences, realized) for the terminology-accuracy gate."""
    from localize.glossary.metric import TermCheck

    kept_ok, banned_in = REGISTRY["keep_missing"].func, REGISTRY["banned_term"].func  # the run's matchers
    term_check = TermCheck(glossary)  # counts with REGISTRY["term_missing"].func (matching.realized)
    totals: dict[str, list[int]] = {}
    for row in rows:
        if not row.source or row.output is None:
            continue
        view = glossary.for_locale(row.locale)
        expected, found = term_check(row)
        total = totals.setdefault(row.locale, [0, 0])
        total[0] += expected
        total[1] += found
        if found < expected:
            row.violations.append(("term_missing", f"{expected - found} of {expected} mandated term(s) not used"))
        for entry in kept_ok(row.output, row.source, view.keep):
            row.violations.append(("keep_missing", f"{entry.source!r} must appear as in the source"))
        for entry in banned_in(row.output, view.bans, row.locale):
            row.violations.append(("banned_term", f"{entry.source!r} is banned in {row.locale}"))
    return {code: (e, f) for code, (e, f) in totals.items()}


def _check_options(opts: EvalOptions) -> None:
    if opts.hyp is None and opts.path is None:
        raise UsageError("nothing to evaluate: give a dev set or localized catalog, or --hyp FILE --locale CODE")
    if opts.hyp is not None:
        if opts.path is not None:
            raise UsageError("give either a file to evaluate or --hyp/--ref/--src line files, not both")
        if opts.run:
            raise UsageError("--run localizes a dev set; it does not apply to --hyp line files")
        if not opts.locale:
            raise UsageError("--hyp needs --locale: the language of the hypothesis lines (es, fr, ja, ...)")
    elif opts.ref is not None or opts.src is not None or opts.locale:
        raise UsageError("--ref, --src and --locale go with --hyp line files")
    if opts.limit is not None and opts.limit < 1:
        raise UsageError("--limit must be at least 1")
    canonical = {m.lower(): m for m in METRICS}
    unknown = [m for m in opts.metrics if m.lower() not in canonical]
    if unknown or not opts.metrics:
        raise UsageError(f"unknown metric {(unknown or [''])[0]!r}; choose from {', '.join(METRICS)}")
    opts.metrics = tuple(dict.fromkeys(canonical[m.lower()] for m in opts.metrics))
    if opts.to:
        parse_locales(opts.to)  # an unknown locale fails here, before any file is read
    if opts.output is not None:
        if not opts.run:
            raise UsageError("--output keeps the localized dev set of --run; it needs --run")
        from localize.io.catalog import catalog_format

        catalog_format(opts.output)  # an unsupported suffix fails before the model runs
        if opts.path is not None and Path(opts.output).resolve() == Path(opts.path).resolve():
            raise UsageError(f"{opts.output}: the output would overwrite the dev set; choose another -o")


# -- scoring ------------------------------------------------------------------------


def _score(rows: list[Row], metrics, html_text: bool = True) -> dict[str, LocaleResult]:
    results: dict[str, LocaleResult] = {}
    for row in rows:
        res = results.setdefault(row.locale, LocaleResult(row.locale))
        res.rows += 1
        for code in {c for c, _ in row.violations}:
            res.counts[code] = res.counts.get(code, 0) + 1
    for code, res in results.items():
        scored = [r for r in rows if r.locale == code and r.reference is not None]
        res.scored = len(scored)
        if not scored:
            continue
        language = scored[0].language
        if html_text:
            pairs = [(_plain(r, r.output), _plain(r, r.reference)) for r in scored]
        else:
            pairs = [(r.output, r.reference) for r in scored]
        res.scores["all"], sentence = scores_with_sentence_chrf(
            [h for h, _ in pairs], [f for _, f in pairs], language, metrics
        )
        for r, value in zip(scored, sentence):
            r.sentence_chrf = value
        kinds = sorted({r.kind for r in scored})
        if len(kinds) > 1:
            for kind in kinds:
                sub = [p for r, p in zip(scored, pairs) if r.kind == kind]
                res.scores[kind] = corpus_scores([h for h, _ in sub], [f for _, f in sub], language, metrics)
    return results


def _plain(row: Row, text: str) -> str:
    return plain_text(text) if row.kind == "html" else " ".join(text.split("\n"))


def _sacrebleu_version() -> str:
    import sacrebleu

    return sacrebleu.__version__
