"""What a run tells the seller: per-row issues in a sidecar CSV, totals in a summary."""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class RunStats:
    rows: int = 0
    segments: int = 0  # non-empty (cell, locale) pairs that needed a model
    copied: int = 0  # non-empty (cell, locale) pairs that read the same in every language
    model_calls: int = 0
    repairs: int = 0  # extra calls asking to shorten an output over the market limit
    reused: int = 0  # segments served by an identical text already generated in this run
    flagged_rows: int = 0
    failures: int = 0  # segments the engine failed on: cell left empty, row kept
    completion_tokens: int = 0
    prompt_tokens: int = 0
    wall_seconds: float = 0.0
    backend: str = ""
    glossary: dict[str, dict] = field(default_factory=dict)  # locale -> glossary totals
    outputs: list[str] = field(default_factory=list)
    report: str | None = None

    @property
    def glossary_violations(self) -> int:
        g = self.glossary.values()
        return sum(d["terms_required"] - d["terms_realized"] + d["keep_missing"] + d["bans_found"] for d in g)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.wall_seconds if self.wall_seconds else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["glossary_violations"] = self.glossary_violations
        d["rows_per_second"] = round(self.rows_per_second, 3)
        d["tokens_per_second"] = round(self.tokens_per_second, 1)
        d["wall_seconds"] = round(self.wall_seconds, 3)
        return d


class IssueReport:
    """Rows that need a human look, streamed to `<output stem>.report.csv`.

    Opened on the first issue, so clean runs leave no file behind; written to a
    temp file and renamed at the end like the main output.
    """

    HEADER = ["row", "column", "locale", "issue", "detail"]

    def __init__(self, path: Path):
        self.path = path
        self._file = None
        self._tmp = None
        self._writer = None
        self.count = 0
        self.rows: set[int] = set()

    def add(self, row: int, column: str, locale: str, issue: str, detail: str) -> None:
        if self._writer is None:
            fd, self._tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            self._file = os.fdopen(fd, "w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.HEADER)
        self._writer.writerow([row, column, locale, issue, detail])
        self.count += 1
        self.rows.add(row)

    def commit(self) -> Path | None:
        if self._file is None:
            if self.path.exists():
                self.path.unlink()  # a stale report from an earlier run would mislead
            return None
        self._file.close()
        os.replace(self._tmp, self.path)
        self._file = None
        return self.path

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp and os.path.exists(self._tmp):
            os.unlink(self._tmp)
