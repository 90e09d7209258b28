"""Option defaults from a config file, so a project runs as `localize catalog.csv`.

Found in this order, the first one wins:

  --config PATH                     anywhere on the command line
  ./localize.toml
  [tool.localize] in ./pyproject.toml

    to = ["es", "fr"]                # any option of `localize translate`, by its long name
    backend = "vllm"
    endpoint = "http://gpu-box:8000/v1"
    glossary = ["glossaries/brand.csv"]   # paths are relative to the config file
    [eval]                           # options of `localize eval`
    gates = "eval/gates.toml"

The command line wins over the file. `to`, `market`, `backend`, `model`,
`endpoint`, `threads` and `glossary` also serve `localize eval` unless [eval]
sets them; `cache` also serves `localize cache info|clear`.

A key the file does not know, or a value of the wrong type, is a usage error
naming the file, the line and the closest valid key, as eval/gates.toml's
errors do: a typo must never turn a setting off silently. The result is a
click `default_map`, which is how click fills defaults from anywhere else.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from localize.errors import UsageError

FILENAME = "localize.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "localize")
CONFIG_FLAG = "--config"
EVAL_SECTION = "eval"
SHARED_WITH_EVAL = ("to", "market", "backend", "model", "endpoint", "threads", "glossary")
COMMA_LISTS = ("to", "fields", "metrics")  # options that take "a,b,c": a TOML list is accepted too
CACHE_COMMANDS = ("info", "clear")
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


@dataclass
class ConfigFile:
    path: Path
    text: str
    table: dict  # the localize settings: the whole file, or pyproject's [tool.localize]
    where: tuple[str, ...]  # the table's TOML path: () or ("tool", "localize")

    def line_of(self, *key: str) -> int | None:
        """The line that sets `key` (a key path below the table), found in the text:
        tomllib keeps no line numbers. None when the key is written some other way."""
        full = (*self.where, *key)
        table: tuple[str, ...] = ()
        for number, line in enumerate(self.text.splitlines(), 1):
            header = _HEADER.match(line)
            if header:
                table = tuple(part.strip().strip("\"'") for part in header.group(1).split("."))
                if table == full:  # the key is a table of its own: [eval], [evl]
                    return number
                continue
            found = _KEY.match(line)
            if found and table == full[:-1] and next(g for g in found.groups() if g) == full[-1]:
                return number
        return None

    def where_text(self, *section: str) -> str:
        path = (*self.where, *section)
        return f" in [{'.'.join(path)}]" if path else ""


def find_config(args: list[str], cwd: Path | None = None) -> ConfigFile | None:
    """The config file for this command line, or None."""
    cwd = cwd or Path.cwd()
    explicit = config_argument(args)
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UsageError(f"{path}: config file not found")
        return _read(path, ())
    if (cwd / FILENAME).is_file():
        return _read(cwd / FILENAME, ())
    pyproject = cwd / PYPROJECT
    # Only a pyproject that mentions the table is parsed: a broken one of another tool is not ours to report.
    if pyproject.is_file() and "[tool.localize" in pyproject.read_text(encoding="utf-8", errors="replace"):
        return _read(pyproject, PYPROJECT_TABLE)
    return None


def config_argument(args: list[str]) -> str | None:
    """The value of `--config PATH` / `--config=PATH`, wherever it stands."""
    for i, arg in enumerate(args):
        if arg == CONFIG_FLAG and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(CONFIG_FLAG + "="):
            return arg.split("=", 1)[1]
    return None


def without_config_argument(args: list[str]) -> list[str]:
    out, skip = [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg == CONFIG_FLAG and i + 1 < len(args):
            skip = True
        elif not arg.startswith(CONFIG_FLAG + "="):
            out.append(arg)
    return out


def _read(path: Path, where: tuple[str, ...]) -> ConfigFile:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    table = data
    for part in where:
        table = table.get(part, {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [{'.'.join(where)}] must be a table")
    return ConfigFile(path, text, table, where)


def default_map(config: ConfigFile, commands: dict) -> dict:
    """Click's default_map for the group whose subcommands are `commands` (name -> click command)."""
    top = {k: v for k, v in config.table.items() if k != EVAL_SECTION}
    translate = _defaults(config, commands["translate"], top, (), "translate", sections=(EVAL_SECTION,))
    section = config.table.get(EVAL_SECTION, {})
    if not isinstance(section, dict):
        raise UsageError(f"{_at(config, EVAL_SECTION)}: {EVAL_SECTION!r} must be a table of `localize eval` options")
    eval_own = _defaults(config, commands["eval"], section, (EVAL_SECTION,), "eval")
    eval_params = {p.name for p in commands["eval"].params}
    shared = {name: translate[name] for name in _param_names(commands["translate"], SHARED_WITH_EVAL)
              if name in translate and name in eval_params}
    found = {"translate": translate, "eval": {**shared, **eval_own}}
    if "cache" in translate:
        found["cache"] = {command: {"cache": translate["cache"]} for command in CACHE_COMMANDS}
    return found


def _defaults(config: ConfigFile, command, table: dict, section: tuple[str, ...], name: str, sections=()) -> dict:
    """{parameter name: value} for one command's table; `sections` are the tables it may also hold."""
    options = _options_by_key(command)
    out = {}
    for key, value in table.items():
        option = options.get(key.replace("_", "-"))
        if option is None:
            hint = difflib.get_close_matches(key.replace("_", "-"), [*options, *sections], n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UsageError(
                f"{_at(config, *section, key)}: unknown key {key!r}{config.where_text(*section)}{extra}; "
                f"the keys are the long options of `localize {name} --help`"
            )
        out[option.name] = _value(config, (*section, key), option, value)
    return out


def _options_by_key(command) -> dict:
    """Long option name without its dashes -> the click option (never --config or --help)."""
    found = {}
    for param in command.params:
        if param.param_type_name != "option":
            continue
        long = next((o for o in param.opts if o.startswith("--")), None)
        if long and long not in (CONFIG_FLAG, "--help"):
            found[long[2:]] = param
    return found


def _param_names(command, keys) -> list[str]:
    options = _options_by_key(command)
    return [options[k].name for k in keys if k in options]


def _value(config: ConfigFile, key: tuple[str, ...], option, value):
    """The TOML value checked against the option's type, then by the option itself
    (its range), as it would be from the command line."""
    import typer  # BadParameter carries the option's own message ("greater than or equal to 1")

    if key[-1] in COMMA_LISTS and isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)
    items = value if option.multiple and isinstance(value, list) else [value]
    expected = _expected_type(option)
    for item in items:
        if not _is_a(item, expected):
            many = " (or a list of them)" if option.multiple else ""
            raise UsageError(f"{_at(config, *key)}: {key[-1]!r} must be {expected}{many}, got {item!r}")
    if expected == "a path":  # relative to the file, not to wherever localize is run from
        items = [str((config.path.parent / Path(item).expanduser()).resolve()) for item in items]
    checked = items if option.multiple else items[0]
    try:
        option.get_runtime_param().coerce(checked, param=option, ctx=None)
    except typer.BadParameter as exc:
        raise UsageError(f"{_at(config, *key)}: {key[-1]!r}: {exc.message}") from None
    return checked


def _expected_type(option) -> str:
    annotation = option.type_descriptor.annotation
    if option.type_descriptor.is_list:
        annotation = annotation.__args__[0]
    names = {bool: "true or false", int: "an integer", float: "a number", Path: "a path"}
    return names.get(annotation, "a string")


def _is_a(value, expected: str) -> bool:
    if expected == "true or false":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected == "an integer":
        return isinstance(value, int)
    if expected == "a number":
        return isinstance(value, (int, float))
    return isinstance(value, str)


def _at(config: ConfigFile, *key: str) -> str:
    line = config.line_of(*key)
    return f"{config.path}, line {line}" if line else str(config.path)
