"""`localize translate`, `localize eval` and `localize markets`.

Each command turns its options into the library's options object and calls
the library; nothing here catches errors (localize.cli.app maps them to exit
codes). Heavy modules are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from localize.cli import options as o


def translate_cmd(
    ctx: typer.Context,
    catalog: o.Catalog,
    *,  # keyword-only: the options are listed in panel order, defaults or not
    fields: o.Fields = None,
    encoding: o.Encoding = None,
    to: o.TargetLocales,
    output: o.OutputFile = None,
    layout: o.Layout = "columns",
    market: o.Market = "generic",
    excel: o.Excel = False,
    overwrite: o.Overwrite = False,
    quiet: o.Quiet = False,
    as_json: o.AsJson = False,
    backend: o.Backend = "auto",
    model: o.Model = None,
    batch_rows: o.BatchRows = None,
    endpoint: o.Endpoint = None,
    max_in_flight: o.MaxInFlight = 256,
    timeout: o.Timeout = 300.0,
    retries: o.Retries = 5,
    threads: o.Threads = None,
    parallel: o.Parallel = None,
    glossary: o.Glossaries = None,
    strict: o.Strict = False,
    cache: o.Cache = None,
    no_cache: o.NoCache = False,
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
    path: o.EvalPath = None,
    *,
    hyp: o.HypLines = None,
    ref: o.RefLines = None,
    src: o.SrcLines = None,
    locale: o.HypLocale = None,
    to: o.EvalLocales = None,
    limit: o.Limit = None,
    gates: o.Gates = None,
    metrics: o.Metrics = "BLEU,chrF,chrF++,TER",
    as_json: o.AsJson = False,
    markdown: o.MarkdownReport = None,
    html: o.HtmlReport = None,
    market: o.Market = "generic",
    output: o.DevSetOutput = None,
    quiet: o.Quiet = False,
    run_: o.RunFirst = False,
    backend: o.Backend = "auto",
    model: o.Model = None,
    endpoint: o.Endpoint = None,
    threads: o.Threads = None,
    glossary: o.Glossaries = None,
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
