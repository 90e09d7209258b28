"""One localization run: read the catalog in batches, localize, write, report."""

from __future__ import annotations

import contextlib
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from localize.backends import Backend, create_backend
from localize.catalog.fields import Field, detect_fields, parse_field_spec
from localize.errors import (
    BackendUnavailable, GlossaryViolations, InputError, OutputError, UsageError, printable_line,
)
from localize.io.catalog import CatalogReader, CatalogWriter, catalog_format
from localize.pipeline import shopify_ta
from localize.pipeline.output_folders import make_output_folders
from localize.pipeline.progress import Progress
from localize.pipeline.report import IssueReport, RunStats
from localize.pipeline.signature import run_signature
from localize.pipeline.translate import BatchTranslator
from localize.text.locales import Locale
from localize.text.markets import load_market
from localize.text.prompts import load_templates

LAYOUTS = ("columns", "per-locale")
_SAFE_NAME_PART = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")


@dataclass
class RunOptions:
    input: Path
    locales: list[Locale]
    output: Path | None = None
    fields: str | None = None
    layout: str = "columns"
    market: str = "generic"
    backend: str = "auto"
    model: str | None = None
    endpoint: str | None = None
    max_in_flight: int = 256
    timeout: float = 300.0  # vllm: seconds per request attempt (a hung server costs this much)
    retries: int = 5  # vllm: retries per request on 429, 5xx, resets and timeouts
    parallel: int | None = None
    threads: int | None = None
    vllm_settings: dict = field(default_factory=dict)  # vllm-offline: validated vllm.LLM settings
    batch_rows: int | None = None  # None: 256, or 4 x max_in_flight for a server (see batch_size)
    html_piece_chars: int = 600
    quiet: bool = False
    overwrite: bool = False  # Translate & Adapt files: also replace existing translations
    glossaries: list[Path] = field(default_factory=list)
    strict: bool = False  # remaining glossary violations end the run with GlossaryViolations
    excel_csv: bool = False  # CSV/TSV output starts with a UTF-8 BOM, for Excel
    encoding: str | None = None  # CSV/TSV input's text encoding; None: UTF-8, or detected when it is not
    store: Path | None = None  # the translation store file; None: no store (the CLI passes its default)


def batch_size(opts: RunOptions) -> int:
    """Rows per batch. A batch is generated as a whole before the next is
    planned, so a server is under-filled while a batch's last requests drain:
    against a stub with 2 s latency at 512 in flight, 256-row batches reached
    0.71 of the raw client's request rate and 2048-row batches 0.93
    (benchmarks/client.py). A server gets batches of several times its cap."""
    if opts.batch_rows:
        return opts.batch_rows
    return max(256, 4 * opts.max_in_flight) if opts.backend == "vllm" else 256


def output_paths(opts: RunOptions) -> dict[str | None, Path]:
    """{None: path} for the columns layout, {locale: path} for per-locale files."""
    src = opts.input
    if opts.layout not in LAYOUTS:
        raise UsageError(f"unknown layout {opts.layout!r}; choose one of: {', '.join(LAYOUTS)}")
    if opts.layout == "columns":
        path = opts.output or src.with_name(f"{src.stem}.localized{src.suffix}")
        paths: dict[str | None, Path] = {None: path}
    else:
        paths = {}
        for loc in opts.locales:
            code = _file_name_part(loc.code)
            name = f"{src.stem}.{code}{src.suffix}"
            if opts.output is None:
                path = src.with_name(name)
            elif "{locale}" in str(opts.output):
                path = Path(str(opts.output).replace("{locale}", code))
            elif opts.output.is_dir() or str(opts.output).endswith(("/", "\\")) or not opts.output.suffix:
                # A path without an extension is a folder ("-o out/" reaches us as "out"): made if missing.
                path = opts.output / name
            else:
                raise UsageError("with --layout per-locale, -o must be a folder or contain {locale}")
            paths[loc.code] = path
    for path in paths.values():
        catalog_format(path)  # unknown output suffix -> clear error before any work
        if path.resolve() == src.resolve():
            raise UsageError(f"{path}: the output would overwrite the input; choose another -o")
    return paths


def _file_name_part(code: str) -> str:
    """A locale code goes into file names: it must stay a plain name part, so
    no code can point a file outside the output folder. parse_locale only makes
    such codes; this guards Locale objects built any other way."""
    if not _SAFE_NAME_PART.fullmatch(code):
        raise UsageError(f"locale code {code!r} cannot be part of a file name")
    return code


def resolve_fields(opts: RunOptions, columns: list[str], reader: CatalogReader) -> list[Field]:
    fields = parse_field_spec(opts.fields, columns) if opts.fields else detect_fields(columns)
    if not fields:
        raise InputError(
            opts.input,
            "no customer-facing text columns recognized (Shopify, WooCommerce, Magento or generic headers); "
            "name them with --fields",
        )
    schema = reader.arrow_schema
    if schema is not None:
        from localize.io.parquet_types import is_text_type

        for f in fields:
            t = schema.field(f.column).type
            if not is_text_type(t):
                raise InputError(opts.input, f"column is {t}, not text", column=f.column)
    return fields


def run(opts: RunOptions, *, backend: Backend | None = None) -> RunStats:
    """Localize opts.input. Raises LocalizeError subclasses for anything the user can fix.

    Everything opened here is undone on any error (temp outputs removed, engine
    closed) by one ExitStack; committed outputs are not touched by the undo.
    """
    started = time.monotonic()
    paths = output_paths(opts)
    # Never the input, nor a file localize did not write; the files themselves are opened later.
    report = IssueReport(_report_path(next(iter(paths.values())), opts))
    report.claim(opts.input, paths.values())
    market = load_market(opts.market)
    templates = load_templates()
    glossary = _load_glossary(opts)  # a bad glossary fails before the catalog is read
    stats = RunStats()
    with contextlib.ExitStack() as undo:
        job = _open_catalog(opts, undo)
        job.backend = _open_engine(opts, backend, undo)
        stats.backend = job.backend.description
        stats.signature = run_signature(
            engine=job.backend.name, model_id=job.backend.model_id, templates=templates, glossary=glossary,
            market=market.name,
        )
        report.sign(stats.signature)
        _open_outputs(opts, job, paths, report, undo)
        job.progress.message(_start_message(opts, job, paths, market.name, stats.backend))
        store = _open_store(opts, job.backend, templates, market, glossary, job.progress, undo)
        stats.store = str(store.store.path) if store else None
        _make_translators(opts, job, templates, market, glossary, store)
        try:
            _localize_batches(opts, job, stats)
        except BackendUnavailable as exc:  # the server went away mid-run: say how far it got
            raise BackendUnavailable(_stopped_message(exc, stats.rows, job.total_rows, store is not None)) from None
        if job.translate_adapt is not None:
            job.translate_adapt.say_what_was_left(job.progress)
        job.report.flush()  # a full disk fails the run here, before an output is committed
        stats.outputs = [str(w.commit()) for w in job.writers.values()]
        report_file = job.report.commit()
        stats.report = str(report_file) if report_file else None
        stats.errors = str(job.report.errors.path) if job.report.errors.count else None
    _count_totals(job, stats, glossary)
    stats.wall_seconds = time.monotonic() - started
    return stats


@dataclass
class _OpenRun:
    """What one run opened, in the order it is opened: the catalog, the engine,
    the outputs, the translators. The batch loop and the final counts read it."""

    reader: CatalogReader
    fields: list[Field]
    extra: list[str]  # the columns the output adds (`<column>_<locale>`)
    is_translate_adapt: bool
    total_rows: int
    backend: Backend | None = None
    report: IssueReport | None = None
    writers: dict[str | None, CatalogWriter] = field(default_factory=dict)
    progress: Progress | None = None
    translator: BatchTranslator | None = None  # every catalog but a Translate & Adapt file
    translate_adapt: shopify_ta.TranslateAdaptBatches | None = None  # one translator per locale
    rows_in_flight: int = 0  # rows of the batch being generated, for the ETA

    def translators(self) -> list[BatchTranslator]:
        if self.translate_adapt is not None:
            return list(self.translate_adapt.translators.values())
        return [self.translator] if self.translator is not None else []

    def total(self, name: str) -> int:
        return sum(getattr(t, name) for t in self.translators())


def _load_glossary(opts: RunOptions):
    if not opts.glossaries:
        return None
    from localize.glossary.formats import load_glossaries

    return load_glossaries(opts.glossaries)


def _open_catalog(opts: RunOptions, undo: contextlib.ExitStack) -> _OpenRun:
    reader = undo.enter_context(CatalogReader(opts.input, batch_rows=batch_size(opts), encoding=opts.encoding))
    for notice in reader.notices:  # a guessed encoding matters even with --quiet
        print(f"localize: {printable_line(notice)}", file=sys.stderr, flush=True)
    is_translate_adapt = shopify_ta.is_translate_adapt(reader.columns)
    if is_translate_adapt:
        shopify_ta.check_options(layout=opts.layout, fields=opts.fields)
        fields, extra = [Field(shopify_ta.TARGET, "description")], []
    else:
        fields = resolve_fields(opts, reader.columns, reader)
        extra = _added_columns(opts, fields, reader.columns)
    total_rows = reader.count_rows(strict=True)  # a malformed file fails before the engine loads
    return _OpenRun(reader, fields, extra, is_translate_adapt, total_rows)


def _open_engine(opts: RunOptions, backend: Backend | None, undo: contextlib.ExitStack) -> Backend:
    if backend is None:
        backend = create_backend(
            opts.backend, model=opts.model, endpoint=opts.endpoint, max_in_flight=opts.max_in_flight,
            parallel=opts.parallel, threads=opts.threads, timeout=opts.timeout, retries=opts.retries,
            offline_settings=opts.vllm_settings,
        )
        undo.callback(backend.close)
    backend.load()  # a bad model or a server that is down fails before any output exists
    return backend


def _open_outputs(opts: RunOptions, job: _OpenRun, paths, report: IssueReport, undo: contextlib.ExitStack) -> None:
    """The output folders, temp outputs, the report files and the progress
    display; all undone on error. Only now, once the catalog and the engine
    are checked, so that a refused run changes nothing on disk."""
    make_output_folders([p.parent for p in paths.values()], undo)
    job.report = report  # its files are created on its first row
    undo.callback(job.report.abort)  # both aborts are no-ops once committed
    generated = _generated_columns(opts, job.fields, job.extra, job.is_translate_adapt)
    for loc, path in paths.items():
        job.writers[loc] = CatalogWriter(path, like=job.reader, extra_columns=job.extra, excel_csv=opts.excel_csv,
                                         generated_columns=generated)
        undo.callback(job.writers[loc].abort)
    job.progress = Progress([loc.code for loc in opts.locales], job.total_rows, quiet=opts.quiet)
    undo.callback(job.progress.close)


def _start_message(opts: RunOptions, job: _OpenRun, paths, market_name: str, engine: str) -> str:
    what = (
        "Shopify Translate & Adapt file" if job.is_translate_adapt
        else f"fields {', '.join(f.column for f in job.fields)}"
    )
    return (
        f"localize: {printable_line(f'{opts.input} -> ' + ', '.join(str(p) for p in paths.values()))}\n"
        f"localize: {what}; locales "
        f"{', '.join(loc.code for loc in opts.locales)}; market {market_name}; engine {engine}"
    )


def _make_translators(opts: RunOptions, job: _OpenRun, templates, market, glossary, store) -> None:
    def make_translator(locales):
        return BatchTranslator(
            job.backend, templates, market, locales, html_piece_chars=opts.html_piece_chars, glossary=glossary,
            store=store,
        )

    if job.is_translate_adapt:
        job.translate_adapt = shopify_ta.TranslateAdaptBatches(
            lambda loc: make_translator([loc]), opts.locales, opts.overwrite
        )
    else:
        job.translator = make_translator(opts.locales)


def _localize_batches(opts: RunOptions, job: _OpenRun, stats: RunStats) -> None:
    progress = job.progress
    progress.token_count = lambda: job.total("completion_tokens")
    progress.rows_finished = lambda: stats.rows + job.rows_in_flight * (
        job.total("batch_done") / job.total("batch_requests") if job.total("batch_requests") else 0.0
    )
    for batch in job.reader.batches():
        job.rows_in_flight = batch.height
        if job.translate_adapt is not None:
            job.writers[None].write(job.translate_adapt.localize(batch, stats.rows, job.report, progress))
        else:
            _localize_batch(batch, stats.rows, job.fields, opts, job.translator, job.writers, job.report, progress)
        stats.rows += batch.height
        job.rows_in_flight = 0


def _count_totals(job: _OpenRun, stats: RunStats, glossary) -> None:
    for name in ("segments", "copied", "model_calls", "repairs", "reused", "cached", "failures",
                 "completion_tokens", "prompt_tokens"):
        setattr(stats, name, job.total(name))
    stats.flagged_rows = len(job.report.rows)
    if glossary is not None:
        stats.glossary = {
            code: totals.as_dict() for t in job.translators() for code, totals in t.glossary_totals.items()
        }


def enforce_strict(opts: RunOptions, stats: RunStats) -> None:
    """--strict: remaining glossary violations are an error, raised after the summary is shown."""
    if opts.strict and stats.glossary_violations:
        raise GlossaryViolations(
            f"{stats.glossary_violations} glossary violation(s) remain after repair; "
            f"the output was written and {stats.report} lists them"
        )


def _stopped_message(exc: BackendUnavailable, done: int, total: int, has_store: bool) -> str:
    go_on = (
        "rerun the same command to go on: the texts generated so far are in the translation store"
        if has_store else "rerun the same command once it answers"
    )
    return f"{exc}; stopped after {done:,} of {total:,} rows and wrote no output; {go_on}"


def _open_store(opts: RunOptions, backend, templates, market, glossary, progress: Progress, undo):
    """The translation store for this run, or None (--no-cache, or unusable: then one warning)."""
    if opts.store is None:
        return None
    from localize.store import StoreError, StoreSession, TranslationStore

    def warn(message: str) -> None:  # shown even with --quiet: a run without its store cannot resume
        message = printable_line(message)
        if opts.quiet:
            print(message, file=sys.stderr, flush=True)
        else:
            progress.message(message)

    try:
        store = TranslationStore(opts.store)
    except StoreError as exc:
        warn(f"localize: warning: {exc}; the run goes on without the translation store")
        return None
    undo.callback(store.close)
    return StoreSession(
        store, model_id=backend.model_id, templates=templates, market_name=market.name, glossary=glossary, warn=warn,
    )


def _added_columns(opts: RunOptions, fields: list[Field], columns: list[str]) -> list[str]:
    """`<column>_<locale>` for the columns layout, grouped by locale; none for per-locale files."""
    if opts.layout == "per-locale":
        return []
    extra = [f"{f.column}_{loc.code}" for loc in opts.locales for f in fields]
    clash = [c for c in extra if c in columns]
    if clash:
        raise OutputError(
            f"{opts.input}: column {clash[0]!r} already exists; the file looks localized already "
            "(use --layout per-locale, or remove those columns)"
        )
    return extra


def _generated_columns(opts: RunOptions, fields: list[Field], extra: list[str], translate_adapt: bool) -> list[str]:
    """The columns the model writes, which the writer neutralizes against formula injection.
    Not for Translate & Adapt files: the seller's existing translations share the column, so
    the cells localize fills are neutralized one by one in shopify_ta instead."""
    if translate_adapt:
        return []
    return list(extra) if opts.layout == "columns" else [f.column for f in fields]


def _report_path(output: Path, opts: RunOptions) -> Path:
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    if opts.layout == "per-locale":
        stem = f"{opts.input.stem}.localized"
    return output.with_name(f"{stem}.report.csv")


def _localize_batch(batch: pl.DataFrame, offset: int, fields, opts, translator, writers, report, progress):
    field_cols = [f.column for f in fields]
    rows = batch.select([pl.col(c).cast(pl.String) for c in field_cols]).to_dicts()
    results = translator.translate(rows, fields, on_row_done=progress.rows_done, on_request_done=progress.tick)
    new_columns: dict[str, dict[str, list]] = {loc.code: {} for loc in opts.locales}
    # Which cells the model wrote: only those may be neutralized against formula
    # injection. A cell copied as it was (a "-20" that reads the same in every
    # language) is the seller's own text and is never changed.
    written: dict[str, dict[str, list[bool]]] = {loc.code: {} for loc in opts.locales}
    for loc in opts.locales:
        for f in fields:
            values, by_model = [], []
            for r, row in enumerate(rows):
                source = row.get(f.column)
                cell = results.get((r, f.column, loc.code))
                if cell is None:  # empty source: stays empty, no model call
                    values.append(source)
                    by_model.append(False)
                    continue
                report.add_cell(offset + r + 1, f.column, loc.code, cell)
                values.append(cell.value)
                by_model.append(cell.value is not None and cell.value != source)
            new_columns[loc.code][f.column] = values
            written[loc.code][f.column] = by_model
    if None in writers:
        out = batch.with_columns(
            [pl.Series(f"{c}_{loc}", vals, dtype=pl.String) for loc, cols in new_columns.items() for c, vals in cols.items()]
        )
        writers[None].write(out, {f"{c}_{loc}": m for loc, cols in written.items() for c, m in cols.items()})
    else:
        for loc, cols in new_columns.items():
            replaced = batch.with_columns(
                [pl.Series(c, vals, dtype=batch.schema[c] if batch.schema[c] != pl.Null else pl.String) for c, vals in cols.items()]
            )
            writers[loc].write(replaced, written[loc])
