"""The end-of-run summary on stderr."""

from __future__ import annotations

import sys

from localize.errors import printable_line
from localize.pipeline.report import RunStats


def summary_lines(stats: RunStats) -> list[tuple[str, str]]:
    rows = [
        ("rows", f"{stats.rows:,}"),
        ("segments", f"{stats.segments:,} (+{stats.copied:,} copied as-is: numbers, sizes, URLs)"),
        ("model calls", f"{stats.model_calls:,} ({stats.repairs:,} of them repairs: glossary misses, over-limit outputs)"),
        ("reused translations", f"{stats.reused:,} from this run, {stats.cached:,} from the store"),
        ("translation store", stats.store or "off (--no-cache)"),
        ("flagged rows", f"{stats.flagged_rows:,}"),
        ("failures", f"{stats.failures:,}"),
        ("generated tokens", f"{stats.completion_tokens:,} ({stats.tokens_per_second:.1f} tok/s)"),
        ("wall time", f"{stats.wall_seconds:.1f} s ({stats.rows_per_second:.2f} rows/s)"),
        ("engine", stats.backend),
        ("signature", stats.signature),
    ]
    for locale, g in stats.glossary.items():
        acc = g["terminology_accuracy"]
        terms = f"{acc:.1%} ({g['terms_realized']}/{g['terms_required']})" if acc is not None else "no terms"
        kept = g["keep_required"] - g["keep_missing"]
        rows.append((
            f"glossary {locale}",
            f"terms {terms}; kept {kept}/{g['keep_required']}; banned found {g['bans_found']}",
        ))
    rows += [("output", path) for path in stats.outputs]
    if stats.report:
        rows.append(("report", f"{stats.report} (rows to review)"))
    if stats.errors:
        rows.append(("errors", f"{stats.errors} (segments with no output: rerun to generate them)"))
    return rows


def print_summary(stats: RunStats) -> None:
    from rich.console import Console
    from rich.table import Table

    from rich.markup import escape

    # Paths can hold control characters (and rich markup): shown, never acted on.
    lines = [(key, printable_line(value)) for key, value in summary_lines(stats)]
    console = Console(stderr=True)
    if not console.is_terminal:
        for key, value in lines:
            print(f"localize: {key}: {value}", file=sys.stderr)
        return
    table = Table(title="localize summary", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in lines:
        table.add_row(key, escape(value))
    console.print(table)
