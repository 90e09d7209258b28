"""The command groups around a run: `localize glossary check` and `localize cache info|clear`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from localize.cli.commands import store_path
from localize.cli.options import APP_SETTINGS, Cache

glossary_app = typer.Typer(
    name="glossary", help="Glossaries: brands to keep, mandated terms, banned words (see glossaries/README.md).",
    add_completion=False, **APP_SETTINGS,
)
cache_app = typer.Typer(
    name="cache",
    help="The translation store: every generated text, reused by later runs (a rerun after a crash goes on where "
         "it stopped).",
    add_completion=False, **APP_SETTINGS,
)


@glossary_app.command("check")
def glossary_check_cmd(
    files: Annotated[list[Path], typer.Argument(
        help="Glossary files: native CSV, DeepL CSV/TSV, multi-language CSV, TICO-19 CSV, TBX.", show_default=False)],
):
    """Validate glossaries and print what they hold: format, entries per kind and locale, examples."""
    from localize.glossary.summary import check_files

    typer.echo(check_files(files), nl=False)


@cache_app.command("info")
def cache_info_cmd(
    cache: Cache = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON on stdout.")] = False,
):
    """Where the store is, how many texts it holds, per model and locale."""
    from localize.store import store_info

    info = store_info(store_path(cache))
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
    cache: Cache = None,
    model: Annotated[Optional[str], typer.Option(
        "--model", help="Only the texts of this model (as `localize cache info` names it).")] = None,
    older_than: Annotated[Optional[str], typer.Option(
        "--older-than", help="Only texts written before this age: 30d, 12h, 90m.")] = None,
):
    """Delete stored texts: all of them, or one model's, or the old ones."""
    from localize.store import clear_store
    from localize.store.store import parse_age

    path = store_path(cache)
    deleted = clear_store(path, model=model, older_than=parse_age(older_than) if older_than else None)
    what = "a damaged store file" if deleted is None else f"{deleted:,} stored text(s)"
    typer.echo(f"localize: removed {what} from {path}", err=True)
