"""Run localize's benchmarks, print a table, write JSON.

    .venv/bin/python benchmarks/run.py                       # all four, defaults from the issue
    .venv/bin/python benchmarks/run.py --only client,dedup    # some of them
    .venv/bin/python benchmarks/run.py --quick                # tiny sizes: checks the harness, not the numbers
    .venv/bin/python benchmarks/run.py --only efficiency,client --endpoint http://gpu:8000/v1 --in-flight 512

See benchmarks/README.md for what each number means and its target.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/run.py` from anywhere

from benchmarks.common import REPO, Metric, machine, print_table  # noqa: E402

ALL = ("client", "memory", "dedup", "efficiency")
DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="localize benchmarks: a table on stdout, JSON to --json.")
    p.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of: {', '.join(ALL)}")
    p.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the results (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the harness runs (numbers mean little)")
    p.add_argument("--locales", default="es,fr,tr")
    p.add_argument("--batch-rows", type=int, default=256,
                   help="client and efficiency: rows per pipeline batch (the CLI's default: 256)")
    g = p.add_argument_group("client")
    g.add_argument("--rows", type=int, default=5000, help="titles for the client benchmark")
    g.add_argument("--in-flight", type=int, default=None,
                   help="requests in flight (client: 512; efficiency: 512 with --endpoint, else 2 x --parallel)")
    g.add_argument("--delay-ms", type=float, default=200.0, help="stub latency for the in-flight run")
    g = p.add_argument_group("memory")
    g.add_argument("--memory-rows", default="200000,800000", help="small,large row counts")
    g = p.add_argument_group("efficiency")
    g.add_argument("--endpoint", help="an OpenAI-compatible server (vLLM) to measure instead of a local llama.cpp")
    g.add_argument("--efficiency-rows", type=int, default=None,
                   help="catalog rows (default: 12 from examples/catalog.csv; 2000 synthetic titles with --endpoint)")
    g.add_argument("--fields", default="Title", help="columns the efficiency run localizes")
    g.add_argument("--engines", default="embedded,http", help="efficiency: embedded, http or both")
    g.add_argument("--parallel", type=int, default=1, help="embedded / local llama.cpp: sequences decoded together")
    g.add_argument("--threads", type=int, default=None)
    g.add_argument("--model", default=None, help="a .gguf for the local engines (default: the embedded model)")
    return p.parse_args(argv)


def run_selected(args: argparse.Namespace) -> tuple[list[Metric], dict, bool]:
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in selected if name not in ALL]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}")
    small, large = (int(x) for x in args.memory_rows.split(","))
    if args.quick:
        args.rows, small, large = 300, 2000, 8000
    results: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "benchmarks": {}}
    metrics: list[Metric] = []
    failed = False
    for name in selected:
        t0 = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            if name == "client":
                from benchmarks import client

                got, details = client.run_benchmark(rows=args.rows, locales=args.locales,
                                                    in_flight=args.in_flight or 512, delay_ms=args.delay_ms,
                                                    batch_rows=args.batch_rows)
            elif name == "memory":
                from benchmarks import memory

                got, details = memory.run_benchmark(small=small, large=large)
            elif name == "dedup":
                from benchmarks import dedup

                got, details = dedup.run_benchmark(locales=args.locales)
            else:
                from benchmarks import efficiency

                rows = args.efficiency_rows or (2000 if args.endpoint else 12)
                if args.quick:
                    rows = 1
                got, details = efficiency.run_benchmark(
                    rows=rows, locales=args.locales, fields=args.fields, engines=tuple(args.engines.split(",")),
                    endpoint=args.endpoint, in_flight=args.in_flight, parallel=args.parallel,
                    threads=args.threads, model=args.model, batch_rows=args.batch_rows,
                )
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed = True
            traceback.print_exc()
            got, details = [Metric(name, "error", None, note=f"{type(exc).__name__}: {exc}")], {"error": str(exc)}
        details["seconds"] = round(time.perf_counter() - t0, 1)
        results["benchmarks"][name] = {"metrics": [m.as_dict() for m in got], "details": details}
        metrics.extend(got)
    results["machine"]["load_average_after"] = machine()["load_average_1_5_15"]
    return metrics, results, failed


def main(argv=None) -> int:
    args = parse_args(argv)
    metrics, results, failed = run_selected(args)
    print_table(metrics)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    m = results["machine"]
    print(f"{m['cpus']} CPUs ({m['cpu_model']}), load average before {m['load_average_1_5_15']}, "
          f"after {m['load_average_after']}; JSON: {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
