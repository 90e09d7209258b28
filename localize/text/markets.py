"""Marketplace profiles: per-field maximum lengths, read from TOML data files."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from localize.errors import UsageError

MARKETS_DIR = Path(__file__).with_name("markets")


@dataclass(frozen=True)
class Market:
    name: str
    description: str
    limits: dict[str, int] = field(default_factory=dict)  # field role -> max characters

    def limit(self, role: str) -> int | None:
        return self.limits.get(role)


def available_markets() -> list[str]:
    return sorted(p.stem for p in MARKETS_DIR.glob("*.toml"))


@cache
def load_market(name: str) -> Market:
    path = MARKETS_DIR / f"{name}.toml"
    if not path.is_file():
        names = available_markets()
        hint = difflib.get_close_matches(name, names, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise UsageError(f"unknown market {name!r}{extra}; choose one of: {', '.join(names)}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    limits = {str(k): int(v) for k, v in data.get("limits", {}).items()}
    return Market(data["name"], data.get("description", ""), limits)
