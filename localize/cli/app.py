"""The command line. Thin: parse, build options, call the library, map errors.

`localize CATALOG --to es,fr,tr` is the main form: a first argument that is
not a subcommand name runs `translate`. Errors become one line on stderr and an
exit code, here and nowhere else.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer._click import exceptions as click_exceptions  # typer vendors click; no direct dependency
from typer.core import TyperGroup

from localize import __version__
from localize.errors import LocalizeError, printable_line

EXIT_OK, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 70, 130


class MainFormGroup(TyperGroup):
    """Routes `localize catalog.csv ...` to the `translate` command."""

    default_command = "translate"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, "CATALOG --to LOCALES [OPTIONS]")
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix="       ")


app = typer.Typer(
    cls=MainFormGroup,
    name="localize",
    help=(
        "Rewrite an e-commerce catalog's customer-facing texts as native listings for other locales.\n\n"
        "Main form:  localize catalog.csv --to es,fr,tr  (same as `localize translate ...`)"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool):
    if value:
        typer.echo(f"localize {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
):
    pass


@app.command("translate")
def translate_cmd(
    catalog: Annotated[Path, typer.Argument(help="Catalog file: .csv, .tsv, .parquet or .xlsx (its first sheet is localized, the others are kept).", show_default=False)],
    to: Annotated[str, typer.Option("--to", "-t", help="Target locales, comma-separated: es,fr,tr,pt-BR.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output file (default: <stem>.localized.<ext> beside the input); with --layout per-locale a folder or a path containing {locale}.")] = None,
    fields: Annotated[Optional[str], typer.Option(help="Columns to localize, comma-separated, optionally with a role: 'Title,Blurb=description'. Default: detected from the header.")] = None,
    layout: Annotated[str, typer.Option(help="columns: add <column>_<locale> columns; per-locale: one drop-in file per locale.")] = "columns",
    market: Annotated[str, typer.Option(help="Length limits profile: generic, shopify, amazon, ebay.")] = "generic",
    backend: Annotated[str, typer.Option(help="Engine: auto (vllm if --endpoint answers, else embedded), embedded, vllm, vllm-offline.")] = "auto",
    model: Annotated[Optional[str], typer.Option(help="embedded: a .gguf path; vllm: the served model name; vllm-offline: a hub id or path.")] = None,
    endpoint: Annotated[Optional[str], typer.Option(help="OpenAI-compatible server URL for --backend vllm.", show_default="http://127.0.0.1:8000/v1")] = None,
    max_in_flight: Annotated[int, typer.Option(min=1, help="vllm: requests in flight (a GPU server wants hundreds).")] = 256,
    timeout: Annotated[float, typer.Option(min=0.1, help="vllm: seconds one request may take before it is retried (a server that accepts but never answers costs this much).")] = 300.0,
    retries: Annotated[int, typer.Option(min=0, help="vllm: retries per request on 429, 5xx, resets and timeouts, with backoff; a segment that still fails goes to <output stem>.errors.csv.")] = 5,
    parallel: Annotated[Optional[int], typer.Option(min=1, help="embedded: sequences decoded together.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="embedded: CPU threads (default: all cores).")] = None,
    batch_rows: Annotated[Optional[int], typer.Option(min=1, help="Rows read and submitted per batch (default 256; with --backend vllm, 4 x --max-in-flight so the server stays full).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Shopify Translate & Adapt files: also replace translations that exist.")] = False,
    excel: Annotated[bool, typer.Option("--excel", help="CSV/TSV output for Excel: start it with a UTF-8 byte-order mark so accents and non-Latin text open correctly.")] = False,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Text encoding of a CSV/TSV catalog: cp1252, latin-1, gb18030, shift_jis, ... Default: UTF-8, or detected (and said so) when the file is not UTF-8. Output is always UTF-8.", show_default=False)] = None,
    glossary: Annotated[Optional[list[Path]], typer.Option("--glossary", "-g", help="Glossary file (repeatable): keep / term / ban entries; see glossaries/README.md.")] = None,
    strict: Annotated[bool, typer.Option(help="Exit with code 6 when glossary violations remain after repair.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON on stdout.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the translation store: generate every text.")] = False,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="Translation store file (or folder) to use instead of the default; see `localize cache info`.", show_default=False)] = None,
):
    """Localize a catalog (the main form: `localize CATALOG --to es,fr,tr`)."""
    from localize.pipeline.run import RunOptions, enforce_strict, run
    from localize.pipeline.summary import print_summary
    from localize.text.locales import parse_locales

    opts = RunOptions(
        input=catalog, locales=parse_locales(to), output=output, fields=fields, layout=layout,
        market=market, backend=backend, model=model, endpoint=endpoint, max_in_flight=max_in_flight,
        timeout=timeout, retries=retries,
        parallel=parallel, threads=threads, batch_rows=batch_rows, quiet=quiet, overwrite=overwrite,
        excel_csv=excel, encoding=encoding, glossaries=list(glossary or []), strict=strict,
        store=None if no_cache else _store_path(cache),
    )
    stats = run(opts)
    if not quiet:
        print_summary(stats)
    if as_json:
        typer.echo(json.dumps(stats.as_dict(), ensure_ascii=False, indent=2))
    enforce_strict(opts, stats)


@app.command("markets")
def markets_cmd():
    """List the marketplace profiles and their length limits."""
    from localize.text.markets import available_markets, load_market

    for name in available_markets():
        m = load_market(name)
        limits = ", ".join(f"{k} {v}" for k, v in sorted(m.limits.items()))
        typer.echo(f"{name:10} {m.description}: {limits}")


@app.command("eval")
def eval_cmd(
    path: Annotated[Optional[Path], typer.Argument(help="A dev set (id,kind,en,es,...) or a localized catalog with <column>_<locale> columns.", show_default=False)] = None,
    run_: Annotated[bool, typer.Option("--run", help="Localize the dev set's source with --backend first, then score it.")] = False,
    hyp: Annotated[Optional[Path], typer.Option("--hyp", help="Line file of outputs (one segment a line); needs --locale.")] = None,
    ref: Annotated[Optional[Path], typer.Option("--ref", help="Line file of references, aligned with --hyp.")] = None,
    src: Annotated[Optional[Path], typer.Option("--src", help="Line file of sources, aligned with --hyp.")] = None,
    locale: Annotated[Optional[str], typer.Option("--locale", help="Locale of the --hyp lines: es, ja, pt-BR.")] = None,
    to: Annotated[Optional[str], typer.Option("--to", "-t", help="Locales to evaluate (default: every locale column of the file).")] = None,
    gates: Annotated[Optional[Path], typer.Option("--gates", help="Thresholds (TOML, e.g. eval/gates.toml): exit 1 when one fails.")] = None,
    metrics: Annotated[str, typer.Option("--metrics", help="Corpus metrics, comma-separated. TER is slow on long (paragraph) segments; leave it out to save time.")] = "BLEU,chrF,chrF++,TER",
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Also write a Markdown report here.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained HTML report here.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="A CI-sized subset: the first N rows of each kind of a dev set (title, html); of a catalog or line files, the first N rows.")] = None,
    market: Annotated[str, typer.Option(help="Length limits profile for the too_long check.")] = "generic",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="--run: keep the localized dev set here (re-score it later without a model).")] = None,
    backend: Annotated[str, typer.Option(help="--run engine: auto, embedded, vllm, vllm-offline.")] = "auto",
    model: Annotated[Optional[str], typer.Option(help="--run: a .gguf path, a served model name, or a hub id.")] = None,
    endpoint: Annotated[Optional[str], typer.Option(help="--run: OpenAI-compatible server URL for --backend vllm.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="--run, embedded: CPU threads.")] = None,
    glossary: Annotated[Optional[list[Path]], typer.Option("--glossary", "-g", help="Glossary files: keep/term/ban adherence and terminology accuracy (and enforced by --run).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
):
    """Score translation quality and gate on it: sacrebleu scores with signatures, reference-free checks."""
    from localize.eval import report
    from localize.eval.run import EvalOptions, evaluate

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


def _command_group(name: str, help: str) -> typer.Typer:
    """A `localize <name> ...` group, with the main app's settings (plain help, no completion, no rich tracebacks)."""
    group = typer.Typer(name=name, help=help, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False, rich_markup_mode=None)
    app.add_typer(group, name=name)
    return group


glossary_app = _command_group(
    "glossary", "Glossaries: brands to keep, mandated terms, banned words (see glossaries/README.md).")


@glossary_app.command("check")
def glossary_check_cmd(
    files: Annotated[list[Path], typer.Argument(help="Glossary files: native CSV, DeepL CSV/TSV, multi-language CSV, TICO-19 CSV, TBX.", show_default=False)],
):
    """Validate glossaries and print what they hold: format, entries per kind and locale, examples."""
    from localize.glossary.summary import check_files

    typer.echo(check_files(files), nl=False)


cache_app = _command_group(
    "cache",
    "The translation store: every generated text, reused by later runs (a rerun after a crash goes on where it stopped).",
)

_CACHE_OPTION = typer.Option("--cache", help="Store file or folder (default: see `localize cache info`).", show_default=False)


def _store_path(cache: Path | None) -> Path:
    from localize.store import resolve_path

    return resolve_path(cache)


@cache_app.command("info")
def cache_info_cmd(
    cache: Annotated[Optional[Path], _CACHE_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON on stdout.")] = False,
):
    """Where the store is, how many texts it holds, per model and locale."""
    from localize.store import store_info

    info = store_info(_store_path(cache))
    if as_json:
        typer.echo(json.dumps(info.as_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"path     {info.path}")
    if not info.exists:
        typer.echo("entries  0 (no store yet: the first run creates it)")
        return
    typer.echo(f"entries  {info.entries:,}")
    typer.echo(f"size     {info.bytes / 1e6:,.1f} MB")
    if info.oldest is not None:
        import datetime as dt

        day = lambda t: dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")  # noqa: E731
        typer.echo(f"written  {day(info.oldest)} .. {day(info.newest)}")
    for model, locale, n in info.by_model_locale:
        typer.echo(f"  {n:>10,}  {locale:<8} {model}")


@cache_app.command("clear")
def cache_clear_cmd(
    cache: Annotated[Optional[Path], _CACHE_OPTION] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Only the texts of this model (as `localize cache info` names it).")] = None,
    older_than: Annotated[Optional[str], typer.Option("--older-than", help="Only texts written before this age: 30d, 12h, 90m.")] = None,
):
    """Delete stored texts: all of them, or one model's, or the old ones."""
    from localize.store import clear_store
    from localize.store.store import parse_age

    path = _store_path(cache)
    deleted = clear_store(path, model=model, older_than=parse_age(older_than) if older_than else None)
    what = "a damaged store file" if deleted is None else f"{deleted:,} stored text(s)"
    typer.echo(f"localize: removed {what} from {path}", err=True)


def _terminate(signum, frame):
    # SIGTERM (a CI timeout, `kill`, a closing container) unwinds like Ctrl-C, so
    # temp outputs are removed and no half-written file is left behind.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every error ends here as one line and an exit code."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = app(args=argv, prog_name="localize", standalone_mode=False)
        # Typer turns Ctrl-C (and our SIGTERM) into Exit(130) and, outside
        # standalone mode, *returns* that code instead of raising it.
        if code == EXIT_INTERRUPTED:
            raise KeyboardInterrupt
        if isinstance(code, int) and code:
            sys.exit(code)
    except (KeyboardInterrupt, typer.Abort):
        _fail("interrupted; no output was written", EXIT_INTERRUPTED)
    except LocalizeError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except click_exceptions.ClickException as exc:  # bad option or argument
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: still one line unless asked for the traceback
        if os.environ.get("LOCALIZE_DEBUG"):
            import traceback

            sys.stderr.write(_without_secrets(traceback.format_exc()))
            sys.exit(EXIT_INTERNAL)
        _fail(f"internal error: {type(exc).__name__}: {exc} (set LOCALIZE_DEBUG=1 for details)", EXIT_INTERNAL)
    sys.exit(EXIT_OK)


def _fail(message: str, code: int) -> None:
    print(f"localize: error: {printable_line(_without_secrets(message))}", file=sys.stderr)
    sys.exit(code)


def _without_secrets(text: str) -> str:
    """API keys come only from the environment; whatever an error message
    carries (a server's echo, a bug's repr), they are never printed."""
    from localize.backends.openai_server import redact_api_keys

    return redact_api_keys(text)
