"""Every option of `localize translate` and `localize eval`, the help panels they
are shown in, and the one rule about engine-specific options.

An option that means the same thing in both commands is defined once here
(the first block), so its help cannot drift; the commands' own follow. Every
option declares its flag names: a Python parameter name never becomes a flag
by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from localize.errors import UsageError

INPUT, OUTPUT, ENGINE, SERVER, EMBEDDED, GLOSSARY, STORE = (
    "Input", "Output", "Engine", "Server", "Embedded", "Glossary", "Store",
)
SCORING = "Scoring"  # localize eval only

# Settings every Typer app and group of the CLI shares.
APP_SETTINGS = dict(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode="rich")

CONFIG_META = "localize.config"  # ctx.meta key: the config file the defaults came from, if any

Market = Annotated[str, typer.Option(
    "--market", help="Length limits profile: generic, shopify, amazon, ebay (eval: for the too_long check).",
    rich_help_panel=OUTPUT)]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.", rich_help_panel=OUTPUT)]
AsJson = Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.", rich_help_panel=OUTPUT)]

Backend = Annotated[str, typer.Option(
    "--backend", help="Engine: auto (vllm if --endpoint answers, else embedded), embedded, vllm, vllm-offline.",
    rich_help_panel=ENGINE)]
Model = Annotated[Optional[str], typer.Option(
    "--model", help="embedded: a .gguf path; vllm: the served model name; vllm-offline: a hub id or path.",
    rich_help_panel=ENGINE)]

Endpoint = Annotated[Optional[str], typer.Option(
    "--endpoint", help="OpenAI-compatible server URL for --backend vllm.", show_default="http://127.0.0.1:8000/v1",
    rich_help_panel=SERVER)]
MaxInFlight = Annotated[int, typer.Option(
    "--max-in-flight", min=1, help="Requests in flight (a GPU server wants hundreds).", rich_help_panel=SERVER)]
Timeout = Annotated[float, typer.Option(
    "--timeout", min=0.1, rich_help_panel=SERVER,
    help="Seconds one request may take before it is retried (a server that accepts but never answers costs this much).")]
Retries = Annotated[int, typer.Option(
    "--retries", min=0, rich_help_panel=SERVER,
    help="Retries per request on 429, 5xx, resets and timeouts, with backoff; a segment that still fails goes to "
         "<output stem>.errors.csv.")]

Threads = Annotated[Optional[int], typer.Option(
    "--threads", min=1, help="CPU threads (default: all cores).", rich_help_panel=EMBEDDED)]
Parallel = Annotated[Optional[int], typer.Option(
    "--parallel", min=1, help="Sequences decoded together.", rich_help_panel=EMBEDDED)]

Glossaries = Annotated[Optional[list[Path]], typer.Option(
    "--glossary", "-g", rich_help_panel=GLOSSARY,
    help="Glossary file (repeatable): keep / term / ban entries, enforced by a run and checked by eval; "
         "see glossaries/README.md.")]

Cache = Annotated[Optional[Path], typer.Option(
    "--cache", help="Translation store file or folder (default: see `localize cache info`).", show_default=False,
    rich_help_panel=STORE)]

ConfigPath = Annotated[Optional[Path], typer.Option(
    "--config", show_default=False,
    help="Option defaults from this TOML file instead of ./localize.toml or \\[tool.localize] in ./pyproject.toml "
         "(read before the rest of the line, so it may stand anywhere in it).")]

# -- translate only --------------------------------------------------------------------------

Catalog = Annotated[Path, typer.Argument(
    help="Catalog file: .csv, .tsv, .parquet or .xlsx (its first sheet is localized, the others are kept).",
    show_default=False, metavar="CATALOG")]
Fields = Annotated[Optional[str], typer.Option(
    "--fields", rich_help_panel=INPUT,
    help="Columns to localize, comma-separated, optionally with a role: 'Title,Blurb=description'. "
         "Default: detected from the header.")]
Encoding = Annotated[Optional[str], typer.Option(
    "--encoding", show_default=False, rich_help_panel=INPUT,
    help="Text encoding of a CSV/TSV catalog: cp1252, latin-1, gb18030, shift_jis, ... Default: UTF-8, or "
         "detected (and said so) when the file is not UTF-8. Output is always UTF-8.")]
TargetLocales = Annotated[str, typer.Option(
    "--to", "-t", help="Target locales, comma-separated: es,fr,tr,pt-BR.", rich_help_panel=OUTPUT)]
OutputFile = Annotated[Optional[Path], typer.Option(
    "--output", "-o", rich_help_panel=OUTPUT,
    help="Output file (default: <stem>.localized.<ext> beside the input); with --layout per-locale a folder "
         "or a path containing {locale}.")]
Layout = Annotated[str, typer.Option(
    "--layout", rich_help_panel=OUTPUT,
    help="columns: add <column>_<locale> columns; per-locale: one drop-in file per locale.")]
Excel = Annotated[bool, typer.Option(
    "--excel", rich_help_panel=OUTPUT,
    help="CSV/TSV output for Excel: start it with a UTF-8 byte-order mark so accents and non-Latin text "
         "open correctly.")]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite/--no-overwrite", rich_help_panel=OUTPUT,
    help="Shopify Translate & Adapt files: also replace translations that exist.")]
BatchRows = Annotated[Optional[int], typer.Option(
    "--batch-rows", min=1, rich_help_panel=ENGINE,
    help="Rows read and submitted per batch (default 256; with --backend vllm, 4 x --max-in-flight so the "
         "server stays full).")]
Strict = Annotated[bool, typer.Option(
    "--strict/--no-strict", rich_help_panel=GLOSSARY,
    help="Exit with code 6 when glossary violations remain after repair.")]
NoCache = Annotated[bool, typer.Option(
    "--no-cache", rich_help_panel=STORE, help="Neither read nor write the translation store: generate every text.")]

# -- eval only --------------------------------------------------------------------------------

EvalPath = Annotated[Optional[Path], typer.Argument(
    help="A dev set (id,kind,en,es,...) or a localized catalog with <column>_<locale> columns.",
    show_default=False, metavar="PATH")]
HypLines = Annotated[Optional[Path], typer.Option(
    "--hyp", rich_help_panel=INPUT, help="Line file of outputs (one segment a line); needs --locale.")]
RefLines = Annotated[Optional[Path], typer.Option(
    "--ref", rich_help_panel=INPUT, help="Line file of references, aligned with --hyp.")]
SrcLines = Annotated[Optional[Path], typer.Option(
    "--src", rich_help_panel=INPUT, help="Line file of sources, aligned with --hyp.")]
HypLocale = Annotated[Optional[str], typer.Option(
    "--locale", rich_help_panel=INPUT, help="Locale of the --hyp lines: es, ja, pt-BR.")]
EvalLocales = Annotated[Optional[str], typer.Option(
    "--to", "-t", rich_help_panel=INPUT,
    help="Locales to evaluate, or with --run to localize into (default: every locale column of the file).")]
Limit = Annotated[Optional[int], typer.Option(
    "--limit", min=1, rich_help_panel=INPUT,
    help="A CI-sized subset: the first N rows of each kind of a dev set (title, html); of a catalog or line "
         "files, the first N rows.")]
Gates = Annotated[Optional[Path], typer.Option(
    "--gates", rich_help_panel=SCORING, help="Thresholds (TOML, e.g. eval/gates.toml): exit 1 when one fails.")]
Metrics = Annotated[str, typer.Option(
    "--metrics", rich_help_panel=SCORING,
    help="Corpus metrics, comma-separated. TER is slow on long (paragraph) segments; leave it out to save time.")]
MarkdownReport = Annotated[Optional[Path], typer.Option(
    "--markdown", rich_help_panel=OUTPUT, help="Also write a Markdown report here.")]
HtmlReport = Annotated[Optional[Path], typer.Option(
    "--html", rich_help_panel=OUTPUT, help="Also write a self-contained HTML report here.")]
DevSetOutput = Annotated[Optional[Path], typer.Option(
    "--output", "-o", rich_help_panel=OUTPUT,
    help="--run: keep the localized dev set here (re-score it later without a model).")]
RunFirst = Annotated[bool, typer.Option(
    "--run", rich_help_panel=ENGINE, help="Localize the dev set's source with --backend first, then score it.")]

# -- the one rule about engines ----------------------------------------------------------------

# The options only one engine reads: anything else given them is told so (auto may pick either).
ENGINE_OF_OPTION = {
    "threads": "embedded", "parallel": "embedded",
    "endpoint": "vllm", "max_in_flight": "vllm", "timeout": "vllm", "retries": "vllm",
}
ENGINE_LABEL = {"embedded": "embedded (llama.cpp on this machine)", "vllm": "vllm (an OpenAI-compatible server)"}


def reject_other_engines_options(ctx: typer.Context, backend: str) -> None:
    """`--threads` with `--backend vllm` is an error, not silently ignored.

    An option typed on the command line always counts. One from the config file
    counts only when the file also names the backend: a file may hold settings
    for both engines while the command line picks one."""
    from localize.backends import BACKENDS

    if backend not in BACKENDS:  # auto may pick either engine; an unknown name is create_backend's error
        return
    backend_from_file = _source(ctx, "backend") == "DEFAULT_MAP"
    for name, engine in ENGINE_OF_OPTION.items():
        if engine == backend or name not in ctx.params:
            continue
        source = _source(ctx, name)
        flag = "--" + name.replace("_", "-")
        if source == "COMMANDLINE":
            given = flag
        elif source == "DEFAULT_MAP" and backend_from_file:
            given = f"{name.replace('_', '-')!r} in {ctx.meta.get(CONFIG_META)}"
        else:
            continue
        raise UsageError(
            f"{given} is an option of the {ENGINE_LABEL[engine]} engine; --backend {backend} does not use it "
            f"(leave it out, or choose --backend {engine})"
        )


def _source(ctx: typer.Context, name: str) -> str | None:
    source = ctx.get_parameter_source(name)
    return source.name if source is not None else None
