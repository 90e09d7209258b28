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

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from localize.checks import REGISTRY, is_html, plain_text
from localize.errors import GateFailed, InputError, UsageError
from localize.eval import gates as gates_mod
from localize.eval.checks import CHECKS, Row, run_checks
from localize.eval.scores import METRICS, Score, corpus_scores, scores_with_sentence_chrf
from localize.text.html import looks_like_html
from localize.text.locales import Locale, parse_locale, parse_locales
from localize.text.markets import load_market
from localize.text.prompts import KINDS
KIND_ROLE = {"title": "title", "html": "description", "text": "description", "label": "option_value"}
ID_COLUMN, KIND_COLUMN = "id", "kind"  # `id` is the row id, never Indonesian: name that column id-ID
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
    parallel: int | None = None
    market: str = "generic"
    limit: int | None = None
    output: Path | None = None  # --run: where the localized dev set is kept
    gates: Path | None = None
    metrics: tuple[str, ...] = METRICS  # TER is slow on long segments: --metrics BLEU,chrF,chrF++
    quiet: bool = False
    language_id: bool = True
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
        mode, rows = "lines", _line_rows(opts)
        source = opts.hyp
    else:
        source = opts.path
        table = _read_table(opts.path, opts.limit)
        if opts.run:
            mode = "dev-set"
            rows, run_stats, output = _run_dev_set(opts, table, market, backend)
        else:
            mode = "localized"
            rows = _catalog_rows(opts, table, market)
    timings["load_and_localize_s"] = time.monotonic() - started

    t = time.monotonic()
    identifier = None
    if opts.language_id:
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
        "language_id": identifier.signature if identifier else None,
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


# -- line files ----------------------------------------------------------------


def _read_lines(path: Path, what: str) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} file not found") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: {what} file is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what} file: {exc.strerror or exc}") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        raise UsageError(f"{path}: {what} file is empty")
    return lines


def _line_rows(opts: EvalOptions) -> list[Row]:
    loc = parse_locale(opts.locale)
    hyps = _read_lines(opts.hyp, "hypothesis")
    refs = _read_lines(opts.ref, "reference") if opts.ref else None
    srcs = _read_lines(opts.src, "source") if opts.src else None
    for other, what, path in ((refs, "reference", opts.ref), (srcs, "source", opts.src)):
        if other is not None and len(other) != len(hyps):
            raise UsageError(
                f"{opts.hyp} has {len(hyps)} lines but the {what} file {path} has {len(other)}; "
                "they must be aligned line by line"
            )
    n = min(len(hyps), opts.limit or len(hyps))
    rows = []
    for i in range(n):
        src = srcs[i] if srcs else None
        kind = "html" if is_html("text", src or hyps[i]) else "text"
        rows.append(Row(str(i + 1), loc.code, loc.language, kind, src, hyps[i], refs[i] if refs else None))
    return rows


# -- tables (dev sets and localized catalogs) -------------------------------------


@dataclass
class _Table:
    path: Path
    columns: list[str]
    records: list[dict[str, str | None]]


def _read_table(path: Path, limit: int | None) -> _Table:
    from localize.io.catalog import CatalogReader

    records: list[dict] = []
    with CatalogReader(path, batch_rows=4096) as reader:
        columns = reader.columns
        by_kind = KIND_COLUMN in columns
        for batch in reader.batches():
            records += batch.to_dicts()
            if limit and not by_kind and len(records) >= limit:
                break
    if limit and by_kind:  # a dev set: the first N rows of each kind, so a CI subset still has HTML
        seen: dict[str, int] = {}
        kept = []
        for r in records:
            kind = str(r.get(KIND_COLUMN) or "")
            seen[kind] = seen.get(kind, 0) + 1
            if seen[kind] <= limit:
                kept.append(r)
        records = kept
    elif limit:
        records = records[:limit]
    if not records:
        raise UsageError(f"{path}: has no data rows")
    return _Table(Path(path), columns, records)


def _locale_columns(columns: list[str]) -> dict[str, Locale]:
    """Columns named exactly by a locale code (`es`, `pt-BR`), except the row id."""
    out = {}
    for col in columns:
        if col == ID_COLUMN:
            continue
        try:
            loc = parse_locale(col)
        except UsageError:
            continue
        if loc.code == col or loc.code.lower() == col.lower():
            out[col] = loc
    return out


def _hypothesis_columns(columns: list[str]) -> list[tuple[str, str, Locale]]:
    """(hypothesis column, source column, locale) for every `<column>_<locale>`."""
    found = []
    for col in columns:
        base, sep, code = col.rpartition("_")
        if not sep or base not in columns:
            continue
        try:
            loc = parse_locale(code)
        except UsageError:
            continue
        found.append((col, base, loc))
    return found


def _row_kind(record: dict, table: _Table, source_col: str, text: str) -> str:
    if KIND_COLUMN in table.columns and record.get(KIND_COLUMN):
        kind = str(record[KIND_COLUMN]).strip().lower()
        if kind not in KINDS:
            raise InputError(table.path, f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}", column=KIND_COLUMN)
        return kind
    known = _known_field(source_col)
    if known is not None:
        return known.kind_for(text)
    return "html" if looks_like_html(text) else "text"


@lru_cache(maxsize=256)
def _known_field(column: str):
    """The catalog field (with its role) when `column` is a recognized platform header."""
    from localize.catalog.fields import detect_fields

    found = detect_fields([column])
    return found[0] if found else None


def _row_id(record: dict, index: int) -> str:
    value = record.get(ID_COLUMN)
    return str(value) if value not in (None, "") else str(index + 1)


def _selected(locales: list[Locale], to: str | None) -> list[Locale]:
    """--to's locales (they need no reference column: unscored, still checked), else every reference locale."""
    return parse_locales(to) if to else locales


def _catalog_rows(opts: EvalOptions, table: _Table, market) -> list[Row]:
    hyp_cols = _hypothesis_columns(table.columns)
    if not hyp_cols:
        hint = " (a dev set: pass --run to localize it first)" if _locale_columns(table.columns) else ""
        raise UsageError(f"{table.path}: no localized <column>_<locale> columns to evaluate{hint}")
    if opts.to:
        wanted = {loc.code for loc in parse_locales(opts.to)}
        missing = wanted - {loc.code for _, _, loc in hyp_cols}
        if missing:
            raise UsageError(f"{table.path}: no localized columns for {', '.join(sorted(missing))}")
        hyp_cols = [h for h in hyp_cols if h[2].code in wanted]
    locale_cols = _locale_columns(table.columns)
    rows = []
    for hyp_col, src_col, loc in hyp_cols:
        ref_col = loc.code if src_col in locale_cols and loc.code in table.columns else None
        for i, record in enumerate(table.records):
            row = _make_row(record, i, table, src_col, record.get(hyp_col), ref_col, loc, market)
            if row is not None:
                rows.append(row)
    return rows


def _make_row(record, index, table, src_col, output, ref_col, loc: Locale, market) -> Row | None:
    source = record.get(src_col)
    if source in (None, "") or not str(source).strip():
        return None  # nothing to localize, nothing to check
    source = str(source)
    kind = _row_kind(record, table, src_col, source)
    known = _known_field(src_col)
    role = known.role if known is not None else KIND_ROLE[kind]
    reference = record.get(ref_col) if ref_col else None
    return Row(
        _row_id(record, index), loc.code, loc.language, kind, source, "" if output is None else str(output),
        reference=None if reference in (None, "") else str(reference), role=role, max_chars=market.limit(role),
    )


# -- --run -------------------------------------------------------------------------


def _run_dev_set(opts: EvalOptions, table: _Table, market, backend) -> tuple[list[Row], dict, str | None]:
    """Localize the dev set's source column with the pipeline, then build rows against the references."""
    import polars as pl

    from localize.pipeline.run import RunOptions, run

    locale_cols = _locale_columns(table.columns)
    if not locale_cols:
        raise UsageError(f"{table.path}: not a dev set: no source and reference columns named by locale (en, es, ...)")
    src_col = "en" if "en" in locale_cols else next(iter(locale_cols))
    refs = [loc for col, loc in locale_cols.items() if col != src_col]
    targets = _selected(refs, opts.to)
    if not targets:
        raise UsageError(f"{table.path}: no locale to localize into; name one with --to")
    kinds = [_row_kind(r, table, src_col, str(r.get(src_col) or "")) for r in table.records]
    work_cols = {"title": "title", "label": "label", "html": "description", "text": "description"}
    with tempfile.TemporaryDirectory(prefix="localize-eval-") as tmp:
        work = Path(tmp) / "devset.csv"
        frame = pl.DataFrame(
            {
                col: [str(r.get(src_col) or "") if work_cols[k] == col else "" for r, k in zip(table.records, kinds)]
                for col in ("title", "description", "label")
            }
        )
        frame.write_csv(work)
        localized = Path(tmp) / "devset.localized.parquet"
        stats = run(
            RunOptions(
                input=work, locales=targets, output=localized, market=opts.market, backend=opts.backend,
                model=opts.model, endpoint=opts.endpoint, threads=opts.threads, parallel=opts.parallel,
                fields="title=title,description=description,label=option_value", quiet=opts.quiet,
                glossaries=list(opts.glossaries),
            ),
            backend=backend,
        )
        out = pl.read_parquet(localized)
    hyps = {
        loc.code: [out[f"{work_cols[k]}_{loc.code}"][i] for i, k in enumerate(kinds)] for loc in targets
    }
    rows = []
    for loc in targets:
        ref_col = loc.code if loc.code in table.columns else None
        for i, record in enumerate(table.records):
            row = _make_row(record, i, table, src_col, hyps[loc.code][i], ref_col, loc, market)
            if row is not None:
                rows.append(row)
    written = _write_localized(opts.output, table, src_col, targets, hyps) if opts.output else None
    return rows, stats.as_dict(), written


def _write_localized(path: Path, table: _Table, src_col: str, targets: list[Locale], hyps: dict) -> str:
    """The dev set with `<source>_<locale>` columns: `localize eval PATH` re-scores it without a model."""
    import polars as pl

    from localize.io.catalog import CatalogReader, CatalogWriter

    extra = [f"{src_col}_{loc.code}" for loc in targets]
    with contextlib.ExitStack() as stack:
        like = stack.enter_context(CatalogReader(table.path))
        data = {c: [None if r.get(c) is None else str(r.get(c)) for r in table.records] for c in table.columns}
        data.update({f"{src_col}_{loc.code}": hyps[loc.code] for loc in targets})
        frame = pl.DataFrame(data, schema={c: pl.String for c in [*table.columns, *extra]})
        with CatalogWriter(path, like=like, extra_columns=extra, generated_columns=extra) as writer:
            writer.write(frame)
    return str(path)


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
