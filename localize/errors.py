"""User-facing errors. The CLI maps each class to one exit code in one place
(`localize.cli.app`); library code raises these and never calls sys.exit."""

from __future__ import annotations


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
