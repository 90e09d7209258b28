"""User-facing errors. The CLI maps each class to one exit code in one place
(`localize.cli.app`); library code raises these and never calls sys.exit."""

from __future__ import annotations

import unicodedata

# Characters a terminal acts on instead of showing: C0/C1 controls (newline,
# ESC starting an ANSI sequence, BEL), the Unicode line and paragraph
# separators, format characters (bidi overrides that reorder what is shown,
# zero-width ones) and lone surrogates (undecodable bytes of a file name).
_UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def printable_line(text: str) -> str:
    """`text` as one printable line: every character a terminal would act on
    (see _UNPRINTABLE) is written as its escape (`\\n`, `\\x1b`, `\\u202e`).
    Error messages carry paths, column names and server text, any of which
    can hold a newline that would split the line or an ANSI sequence that
    would rewrite the terminal."""
    if text.isprintable():  # the common case: nothing to escape
        return text
    return "".join(_visible(c) if unicodedata.category(c) in _UNPRINTABLE else c for c in text)


def _visible(char: str) -> str:
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


class LocalizeError(Exception):
    """An error the user can act on. Its message is printed as one line."""

    exit_code = 1


class GateFailed(LocalizeError):
    """`localize eval`: a quality gate failed. The scores are already printed;
    the message names the failed gates. Exit 1, so CI stops the pipeline."""

    exit_code = 1


class UsageError(LocalizeError):
    """Bad arguments: unknown locale, unknown field, conflicting options."""

    exit_code = 2


class InputError(LocalizeError):
    """The input file is missing, unreadable or malformed."""

    exit_code = 3

    def __init__(self, path, message: str, *, row: int | None = None, column: str | None = None):
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
        self.path, self.row, self.column = path, row, column


class OutputError(LocalizeError):
    """The output cannot be written (exists as a column, permission, disk)."""

    exit_code = 4


class BackendUnavailable(LocalizeError):
    """An engine cannot be loaded or reached: missing extra, bad model, server down."""

    exit_code = 5


class MissingDependency(BackendUnavailable):
    def __init__(self, package: str, extra: str):
        super().__init__(
            f"{package} is not installed; install it with: pip install 'localize[{extra}]'"
        )


class GlossaryViolations(LocalizeError):
    """`--strict`: the output was written, but glossary violations remain
    (listed in the report). A distinct code so CI can tell it from a crash."""

    exit_code = 6
