"""`localize eval --run`: localize a dev set's source column with the pipeline, then
build rows against its references (and keep the localized dev set with --output)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from localize.errors import UsageError
from localize.eval.checks import Row
from localize.eval.tables import Table, locale_columns, make_row, row_kind, selected_locales
from localize.text.locales import Locale

if TYPE_CHECKING:
    from localize.eval.run import EvalOptions


def run_dev_set(opts: EvalOptions, table: Table, market, backend) -> tuple[list[Row], dict, str | None]:
    """Localize the dev set's source column with the pipeline, then build rows against the references."""
    import polars as pl

    from localize.pipeline.run import RunOptions, run

    locale_cols = locale_columns(table.columns)
    if not locale_cols:
        raise UsageError(f"{table.path}: not a dev set: no source and reference columns named by locale (en, es, ...)")
    src_col = "en" if "en" in locale_cols else next(iter(locale_cols))
    refs = [loc for col, loc in locale_cols.items() if col != src_col]
    targets = selected_locales(refs, opts.to)
    if not targets:
        raise UsageError(f"{table.path}: no locale to localize into; name one with --to")
    kinds = [row_kind(r, table, src_col, str(r.get(src_col) or "")) for r in table.records]
    work_cols = {"title": "title", "label": "label", "html": "description", "text": "description"}
    with tempfile.TemporaryDirectory(prefix="localize-eval-") as tmp:
        work = Path(tmp) / "devset.csv"
        frame = pl.DataFrame(
            {
                col: [str(r.get(src_col) or "") if work_cols[k] == col else "" for r, k in zip(table.records, kinds)]
                for col in ("title", "description", "label")
            }
        )
        frame.write_csv(work)
        localized = Path(tmp) / "devset.localized.parquet"
        stats = run(
            RunOptions(
                input=work, locales=targets, output=localized, market=opts.market, backend=opts.backend,
                model=opts.model, endpoint=opts.endpoint, threads=opts.threads,
                fields="title=title,description=description,label=option_value", quiet=opts.quiet,
                glossaries=list(opts.glossaries),
            ),
            backend=backend,
        )
        out = pl.read_parquet(localized)
    hyps = {
        loc.code: [out[f"{work_cols[k]}_{loc.code}"][i] for i, k in enumerate(kinds)] for loc in targets
    }
    rows = []
    for loc in targets:
        ref_col = loc.code if loc.code in table.columns else None
        for i, record in enumerate(table.records):
            row = make_row(record, i, table, src_col, hyps[loc.code][i], ref_col, loc, market)
            if row is not None:
                rows.append(row)
    written = write_localized(opts.output, table, src_col, targets, hyps) if opts.output else None
    return rows, stats.as_dict(), written


def write_localized(path: Path, table: Table, src_col: str, targets: list[Locale], hyps: dict) -> str:
    """The dev set with `<source>_<locale>` columns: `localize eval PATH` re-scores it without a model."""
    import polars as pl

    from localize.io.catalog import CatalogReader, CatalogWriter

    extra = [f"{src_col}_{loc.code}" for loc in targets]
    with contextlib.ExitStack() as stack:
        like = stack.enter_context(CatalogReader(table.path))
        data = {c: [None if r.get(c) is None else str(r.get(c)) for r in table.records] for c in table.columns}
        data.update({f"{src_col}_{loc.code}": hyps[loc.code] for loc in targets})
        frame = pl.DataFrame(data, schema={c: pl.String for c in [*table.columns, *extra]})
        with CatalogWriter(path, like=like, extra_columns=extra, generated_columns=extra) as writer:
            writer.write(frame)
    return str(path)

