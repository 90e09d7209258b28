"""Pieces the benchmarks share: synthetic catalogs, a recording engine, the
stub server's and a real server's /metrics, result records and the table."""

from __future__ import annotations

import os
import platform
import random
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence


REPO = Path(__file__).resolve().parents[1]


# -- results ----------------------------------------------------------------


@dataclass
class Metric:
    """One number of the table: what it is, its value, its target and whether it is met."""

    benchmark: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    met: bool | None = None  # None: no target, or not measurable here
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def at_least(benchmark: str, name: str, value: float | None, target: float, unit: str = "", note: str = "") -> Metric:
    met = None if value is None else value >= target
    return Metric(benchmark, name, value, unit, f">= {target:g}", met, note)


def at_most(benchmark: str, name: str, value: float | None, target: float, unit: str = "", note: str = "") -> Metric:
    met = None if value is None else value <= target
    return Metric(benchmark, name, value, unit, f"<= {target:g}", met, note)


def info(benchmark: str, name: str, value, unit: str = "", note: str = "") -> Metric:
    return Metric(benchmark, name, value, unit, note=note)


def machine() -> dict:
    """Where the numbers were taken: they mean little without the cores and the load."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu or platform.processor(),
        "load_average_1_5_15": [round(x, 2) for x in load] if load else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def print_table(metrics: Sequence[Metric], file=None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="localize benchmarks", show_lines=False)
    for col in ("benchmark", "metric", "value", "target", "met", "note"):
        table.add_column(col, overflow="fold")
    for m in metrics:
        met = {True: "yes", False: "NO", None: ""}[m.met]
        table.add_row(m.benchmark, m.name, _fmt(m.value, m.unit), m.target, met, m.note)
    Console(file=file, width=160).print(table)


def _fmt(value, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


# -- catalogs -----------------------------------------------------------------

_BRANDS = ["Nordvik", "Alpinex", "Kestrel & Co", "Fjellgear", "Urban Loom", "Solvista", "Brixton Row"]
_LINES = ["Varde", "TrekLite", "Summit", "Coastline", "Everyday", "Aero", "Terra", "Polar"]
_PRODUCTS = [
    "Merino Base Layer Crew", "Waterproof Hiking Jacket", "Down Vest", "Trail Running Shoes",
    "Hiking Backpack 45L", "Insulated Water Bottle 750 ml", "Wool Beanie", "Softshell Trousers",
    "Rain Poncho", "Camping Mug", "LED Head Torch 300 lm", "Trekking Poles (Pair)",
]
_DETAILS = ["for Men", "for Women", "Unisex", "Kids", "- Lightweight", "- Recycled", "- Slim Fit", ""]
_COLOURS = ["Black", "Navy", "Forest Green", "Rust", "Grey Marl", "Sand"]


def synthetic_titles(rows: int, seed: int = 0) -> list[str]:
    """Unique, realistic product titles: every row is a different text, so no
    run can be faster than the engine by reusing translations."""
    rng = random.Random(seed)
    out = []
    for i in range(rows):
        detail = rng.choice(_DETAILS)
        title = f"{rng.choice(_BRANDS)} {rng.choice(_LINES)} {i} {rng.choice(_PRODUCTS)} {detail}".rstrip()
        out.append(f"{title}, {rng.choice(_COLOURS)}")
    return out


def synthetic_catalog(path: Path, rows: int, seed: int = 0) -> Path:
    """A Shopify-like export (CSV or Parquet by suffix) with unique titles, a
    short HTML body and the identifier columns a real export carries."""
    import polars as pl

    rng = random.Random(seed + 1)
    titles = synthetic_titles(rows, seed)
    frame = pl.DataFrame({
        "Handle": [f"product-{i}" for i in range(rows)],
        "Title": titles,
        "Body (HTML)": [
            f"<p>{rng.choice(_PRODUCTS)} by {rng.choice(_BRANDS)}.</p><ul><li>{rng.choice(_COLOURS)}</li></ul>"
            for _ in range(rows)
        ],
        "Vendor": [rng.choice(_BRANDS) for _ in range(rows)],
        "Variant SKU": [f"SKU-{i:08d}" for i in range(rows)],
        "Variant Price": [f"{rng.randint(5, 400)}.{rng.choice(['00', '50', '99'])}" for _ in range(rows)],
        "Variant Barcode": [f"0{850000000000 + i}" for i in range(rows)],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.write_parquet(path, row_group_size=64 * 1024)
    else:
        frame.write_csv(path)
    return path


# -- engines ------------------------------------------------------------------


def server_root(endpoint: str) -> str:
    """http://host:port/v1 -> http://host:port (where /metrics lives)."""
    root = endpoint.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def read_metrics(endpoint: str, timeout: float = 5.0) -> dict[str, float]:
    """A Prometheus text page as {name: value}, label sets summed; {} if there is none."""
    try:
        with urllib.request.urlopen(server_root(endpoint) + "/metrics", timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a server without /metrics is normal
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0].strip()
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return out


def prefix_cache_hit_rate(
    before: dict[str, float], after: dict[str, float], prompt_tokens: int
) -> tuple[float | None, str]:
    """Share of prompt tokens served from the server's prefix cache between two /metrics reads.

    vLLM counts hits and queries in tokens (vllm:prefix_cache_hits_total /
    vllm:prefix_cache_queries_total); llama.cpp counts only the prompt tokens it
    had to compute (llamacpp:prompt_tokens_total), so its hit rate is one minus
    that over the prompt tokens the responses report.
    """
    def delta(name: str) -> float | None:
        for key in (name, name + "_total"):
            if key in after:
                return after[key] - before.get(key, 0.0)
        return None

    for prefix in ("vllm:", "vllm:gpu_"):  # vLLM V1 before ~0.10 named them gpu_prefix_cache_*
        hits, queries = delta(prefix + "prefix_cache_hits"), delta(prefix + "prefix_cache_queries")
        if hits is not None and queries:
            return hits / queries, f"{prefix}prefix_cache_hits / {prefix}prefix_cache_queries"
    computed = delta("llamacpp:prompt_tokens")
    if computed is not None and prompt_tokens:
        return max(0.0, 1.0 - computed / prompt_tokens), "1 - llamacpp:prompt_tokens_total / prompt tokens"
    return None, "the server exposes no prefix-cache metric"
