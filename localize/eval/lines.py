"""`localize eval --hyp OUT --locale es [--ref REF] [--src SRC]`: line files, aligned by line."""

from __future__ import annotations

from pathlib import Path

from localize.errors import UsageError
from localize.checks import is_html
from localize.eval.checks import Row
from localize.text.locales import parse_locale


def read_lines(path: Path, what: str) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} file not found") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: {what} file is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what} file: {exc.strerror or exc}") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line
    lines = [line.removesuffix("\r") for line in lines]
    if not lines:
        raise UsageError(f"{path}: {what} file is empty")
    return lines


def line_rows(
    hyp: Path, locale: str, *, ref: Path | None = None, src: Path | None = None, limit: int | None = None
) -> list[Row]:
    """One row per line of `hyp`, with the aligned reference and source lines."""
    loc = parse_locale(locale)
    hyps = read_lines(hyp, "hypothesis")
    refs = read_lines(ref, "reference") if ref else None
    srcs = read_lines(src, "source") if src else None
    for other, what, path in ((refs, "reference", ref), (srcs, "source", src)):
        if other is not None and len(other) != len(hyps):
            raise UsageError(
                f"{hyp} has {len(hyps)} lines but the {what} file {path} has {len(other)}; "
                "they must be aligned line by line"
            )
    n = min(len(hyps), limit or len(hyps))
    rows = []
    for i in range(n):
        src = srcs[i] if srcs else None
        kind = "html" if is_html("text", src or hyps[i]) else "text"
        rows.append(Row(str(i + 1), loc.code, loc.language, kind, src, hyps[i], refs[i] if refs else None))
    return rows

