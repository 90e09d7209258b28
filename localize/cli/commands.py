"""`localize translate`, `localize eval` and `localize markets`.

Each command turns its options into the library's options object and calls
the library; nothing here catches errors (localize.cli.app maps them to exit
codes). Heavy modules are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from localize.cli import options as o
from localize.cli.options import (
    ENGINE, GLOSSARY, INPUT, OUTPUT, SCORING, STORE, AsJson, Backend, Cache, Endpoint, Glossaries, Market,
    MaxInFlight, Model, Parallel, Quiet, Retries, Threads, Timeout,
)

def translate_cmd(
    ctx: typer.Context,
    catalog: Annotated[Path, typer.Argument(
        help="Catalog file: .csv, .tsv, .parquet or .xlsx (its first sheet is localized, the others are kept).",
        show_default=False, metavar="CATALOG")],
    *,  # keyword-only: the options may then be listed in panel order, defaults or not
    fields: Annotated[Optional[str], typer.Option(
        "--fields", rich_help_panel=INPUT,
        help="Columns to localize, comma-separated, optionally with a role: 'Title,Blurb=description'. "
             "Default: detected from the header.")] = None,
    encoding: Annotated[Optional[str], typer.Option(
        "--encoding", show_default=False, rich_help_panel=INPUT,
        help="Text encoding of a CSV/TSV catalog: cp1252, latin-1, gb18030, shift_jis, ... Default: UTF-8, or "
             "detected (and said so) when the file is not UTF-8. Output is always UTF-8.")] = None,
    to: Annotated[str, typer.Option(
        "--to", "-t", help="Target locales, comma-separated: es,fr,tr,pt-BR.", rich_help_panel=OUTPUT)],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", rich_help_panel=OUTPUT,
        help="Output file (default: <stem>.localized.<ext> beside the input); with --layout per-locale a folder "
             "or a path containing {locale}.")] = None,
    layout: Annotated[str, typer.Option(
        "--layout", rich_help_panel=OUTPUT,
        help="columns: add <column>_<locale> columns; per-locale: one drop-in file per locale.")] = "columns",
    market: Market = "generic",
    excel: Annotated[bool, typer.Option(
        "--excel", rich_help_panel=OUTPUT,
        help="CSV/TSV output for Excel: start it with a UTF-8 byte-order mark so accents and non-Latin text "
             "open correctly.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite/--no-overwrite", rich_help_panel=OUTPUT,
        help="Shopify Translate & Adapt files: also replace translations that exist.")] = False,
    quiet: Quiet = False,
    as_json: AsJson = False,
    backend: Backend = "auto",
    model: Model = None,
    batch_rows: Annotated[Optional[int], typer.Option(
        "--batch-rows", min=1, rich_help_panel=ENGINE,
        help="Rows read and submitted per batch (default 256; with --backend vllm, 4 x --max-in-flight so the "
             "server stays full).")] = None,
    endpoint: Endpoint = None,
    max_in_flight: MaxInFlight = 256,
    timeout: Timeout = 300.0,
    retries: Retries = 5,
    threads: Threads = None,
    parallel: Parallel = None,
    glossary: Glossaries = None,
    strict: Annotated[bool, typer.Option(
        "--strict/--no-strict", rich_help_panel=GLOSSARY,
        help="Exit with code 6 when glossary violations remain after repair.")] = False,
    cache: Cache = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", rich_help_panel=STORE,
        help="Neither read nor write the translation store: generate every text.")] = False,
):
    """Localize a catalog (the main form: [bold]localize CATALOG --to es,fr,tr[/bold]).

    Option defaults may come from [bold]./localize.toml[/bold], [bold]\\[tool.localize][/bold] in
    ./pyproject.toml or [bold]--config PATH[/bold]; the command line wins (see examples/localize.toml).
    """
    from localize.pipeline.run import RunOptions, enforce_strict, run
    from localize.pipeline.summary import print_summary
    from localize.text.locales import parse_locales

    o.reject_other_engines_options(ctx, backend)
    opts = RunOptions(
        input=catalog, locales=parse_locales(to), output=output, fields=fields, layout=layout,
        market=market, backend=backend, model=model, endpoint=endpoint, max_in_flight=max_in_flight,
        timeout=timeout, retries=retries,
        parallel=parallel, threads=threads, batch_rows=batch_rows, quiet=quiet, overwrite=overwrite,
        excel_csv=excel, encoding=encoding, glossaries=list(glossary or []), strict=strict,
        store=None if no_cache else store_path(cache),
    )
    stats = run(opts)
    if not quiet:
        print_summary(stats)
    if as_json:
        typer.echo(json.dumps(stats.as_dict(), ensure_ascii=False, indent=2))
    enforce_strict(opts, stats)


def eval_cmd(
    ctx: typer.Context,
    path: Annotated[Optional[Path], typer.Argument(
        help="A dev set (id,kind,en,es,...) or a localized catalog with <column>_<locale> columns.",
        show_default=False, metavar="PATH")] = None,
    *,
    hyp: Annotated[Optional[Path], typer.Option(
        "--hyp", rich_help_panel=INPUT, help="Line file of outputs (one segment a line); needs --locale.")] = None,
    ref: Annotated[Optional[Path], typer.Option(
        "--ref", rich_help_panel=INPUT, help="Line file of references, aligned with --hyp.")] = None,
    src: Annotated[Optional[Path], typer.Option(
        "--src", rich_help_panel=INPUT, help="Line file of sources, aligned with --hyp.")] = None,
    locale: Annotated[Optional[str], typer.Option(
        "--locale", rich_help_panel=INPUT, help="Locale of the --hyp lines: es, ja, pt-BR.")] = None,
    to: Annotated[Optional[str], typer.Option(
        "--to", "-t", rich_help_panel=INPUT,
        help="Locales to evaluate, or with --run to localize into (default: every locale column of the file).")
    ] = None,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", min=1, rich_help_panel=INPUT,
        help="A CI-sized subset: the first N rows of each kind of a dev set (title, html); of a catalog or line "
             "files, the first N rows.")] = None,
    gates: Annotated[Optional[Path], typer.Option(
        "--gates", rich_help_panel=SCORING, help="Thresholds (TOML, e.g. eval/gates.toml): exit 1 when one fails.")
    ] = None,
    metrics: Annotated[str, typer.Option(
        "--metrics", rich_help_panel=SCORING,
        help="Corpus metrics, comma-separated. TER is slow on long (paragraph) segments; leave it out to save time.")
    ] = "BLEU,chrF,chrF++,TER",
    as_json: AsJson = False,
    markdown: Annotated[Optional[Path], typer.Option(
        "--markdown", rich_help_panel=OUTPUT, help="Also write a Markdown report here.")] = None,
    html: Annotated[Optional[Path], typer.Option(
        "--html", rich_help_panel=OUTPUT, help="Also write a self-contained HTML report here.")] = None,
    market: Market = "generic",
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", rich_help_panel=OUTPUT,
        help="--run: keep the localized dev set here (re-score it later without a model).")] = None,
    quiet: Quiet = False,
    run_: Annotated[bool, typer.Option(
        "--run", rich_help_panel=ENGINE, help="Localize the dev set's source with --backend first, then score it.")
    ] = False,
    backend: Backend = "auto",
    model: Model = None,
    endpoint: Endpoint = None,
    threads: Threads = None,
    glossary: Glossaries = None,
):
    """Score translation quality and gate on it: sacrebleu scores with signatures, reference-free checks.

    Option defaults may come from the [bold]\\[eval][/bold] section of the config file
    (see examples/localize.toml).
    """
    from localize.eval import report
    from localize.eval.run import EvalOptions, evaluate

    o.reject_other_engines_options(ctx, backend)
    opts = EvalOptions(
        path=path, hyp=hyp, ref=ref, src=src, locale=locale, run=run_, to=to, backend=backend, model=model,
        endpoint=endpoint, threads=threads, market=market, limit=limit, output=output, gates=gates, quiet=quiet,
        metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()), glossaries=tuple(glossary or ()),
    )
    result = evaluate(opts)
    typer.echo(report.to_json(result) if as_json else report.to_text(result), nl=False)
    for target, render in ((markdown, report.to_markdown), (html, report.to_html)):
        if target is not None:
            report.write_report(target, render(result))
    result.raise_if_failed()


def markets_cmd():
    """List the marketplace profiles and their length limits."""
    from localize.text.markets import available_markets, load_market

    for name in available_markets():
        m = load_market(name)
        limits = ", ".join(f"{k} {v}" for k, v in sorted(m.limits.items()))
        typer.echo(f"{name:10} {m.description}: {limits}")


def store_path(cache: Path | None) -> Path:
    from localize.store import resolve_path

    return resolve_path(cache)
