"""The command line. Thin: parse, build options, call the library, map errors.

`localize CATALOG --to es,fr,tr` is the main form: a first argument that is
not a subcommand name runs `translate`. Errors become one line on stderr and an
exit code, here (`main`) and nowhere else.

    app.py       the Typer app, the main-form routing, the config file hook, main()
    commands.py  translate, eval, markets
    tools.py     glossary check, cache info|clear
    options.py   options shared by translate and eval, help panels, engine-only options
    config.py    localize.toml / [tool.localize] / --config PATH -> option defaults
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated, Optional

import typer
from typer._click import exceptions as click_exceptions  # typer vendors click; no direct dependency
from typer.core import TyperGroup

from localize import __version__
from localize.cli import commands, tools
from localize.cli.config import default_map, find_config, without_config_argument
from localize.cli.options import APP_SETTINGS, CONFIG_META, ConfigPath
from localize.errors import LocalizeError, printable_line

EXIT_OK, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 70, 130


class MainFormGroup(TyperGroup):
    """Routes `localize catalog.csv ...` to the `translate` command, and fills
    option defaults from the config file (localize.cli.config) before parsing."""

    default_command = "translate"

    def make_context(self, info_name, args, parent=None, **extra):
        config = None
        if parent is None and extra.get("default_map") is None:
            config = find_config(args)
            args = without_config_argument(args)
            if config is not None:
                extra["default_map"] = default_map(config, self.commands)
        ctx = super().make_context(info_name, args, parent=parent, **extra)
        if config is not None:
            ctx.meta[CONFIG_META] = config.path  # shared with the subcommands' contexts, for their messages
        return ctx

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
        "Main form:  [bold]localize catalog.csv --to es,fr,tr[/bold]  (same as `localize translate ...`)"
    ),
    add_completion=True,
    **APP_SETTINGS,
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
    config: ConfigPath = None,  # read by MainFormGroup before parsing; declared for --help and completion
):
    pass


app.command("translate")(commands.translate_cmd)
app.command("markets")(commands.markets_cmd)
app.command("eval")(commands.eval_cmd)
app.add_typer(tools.glossary_app, name="glossary")
app.add_typer(tools.cache_app, name="cache")


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
