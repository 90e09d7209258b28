"""An evaluation as JSON (machines), plain text (a terminal), Markdown and a
self-contained HTML page (people): scores with their signatures, violation
rates, gates, and the worst rows side by side. The HTML has inline CSS and
inline SVG charts only: no script, no stylesheet, no font, no image is fetched.
"""

from __future__ import annotations

import html
import json

from localize.eval.checks import CHECKS, DESCRIPTIONS
from localize.eval.run import EvalResult
from localize.eval.scores import METRICS

SCHEMA_VERSION = 1


def as_dict(result: EvalResult) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "input": result.input,
        "mode": result.mode,
        "passed": result.passed,
        "settings": result.settings,
        "locales": {
            code: {
                "rows": loc.rows,
                "scored": loc.scored,
                "scores": {
                    kind: {m: s.as_dict() for m, s in scores.items()} for kind, scores in loc.scores.items()
                },
                "violations": {c: {"rows": loc.counts.get(c, 0), "rate": round(loc.rates.get(c, 0.0), 6)}
                               for c in CHECKS},
                "terminology": {
                    "expected": loc.terms_expected, "realized": loc.terms_found,
                    "accuracy": None if loc.terminology is None else round(loc.terminology, 4),
                },
            }
            for code, loc in result.locales.items()
        },
        "gates": {
            "file": result.gates_file,
            "results": [g.as_dict() for g in result.gates],
            "unused_sections": result.unused_gate_sections,
        },
        "worst_rows": [r.as_dict() for r in result.worst_rows()],
        "run": result.run,
        "output": result.output,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }


def to_json(result: EvalResult) -> str:
    return json.dumps(as_dict(result), ensure_ascii=False, indent=2)


# -- plain text --------------------------------------------------------------------


def _fmt(score) -> str:
    return "-" if score is None else f"{score.score:.2f}"


def _signatures(result: EvalResult) -> dict[str, set[str]]:
    """metric -> the distinct signatures used (one per tokenizer)."""
    sigs: dict[str, set[str]] = {}
    for loc in result.locales.values():
        for scores in loc.scores.values():
            for m, s in scores.items():
                sigs.setdefault(m, set()).add(s.signature)
    return sigs


def _active_checks(result: EvalResult) -> list[str]:
    return [c for c in CHECKS if any(loc.counts.get(c) for loc in result.locales.values())]


def to_text(result: EvalResult) -> str:
    out = [f"localize eval: {result.input} ({result.mode})", ""]
    header = f"{'locale':8} {'kind':6} {'rows':>6} " + " ".join(f"{m:>7}" for m in METRICS)
    out.append(header)
    for code, loc in result.locales.items():
        kinds = loc.scores or {"all": {}}
        for kind, scores in kinds.items():
            n = loc.scored if kind == "all" else next(iter(scores.values())).segments
            cells = " ".join(f"{_fmt(scores.get(m)):>7}" for m in METRICS)
            out.append(f"{code:8} {kind:6} {n if scores else loc.rows:>6} {cells}")
    out += ["", "signatures:"]
    sigs = _signatures(result)
    if not sigs:
        out.append("  (no references: reference-free checks only)")
    for m, ss in sigs.items():
        out += [f"  {m}|{s}" for s in sorted(ss)]
    out.append(f"  preprocess: {result.settings['preprocess']}")
    if result.settings.get("language_id"):
        out.append(f"  language id: {result.settings['language_id']}")
    out += ["", f"reference-free checks (share of rows; market {result.settings['market']}):"]
    active = _active_checks(result)
    for code, loc in result.locales.items():
        shown = ", ".join(f"{c} {loc.rates[c]:.1%}" for c in active if loc.counts.get(c)) or "all clean"
        out.append(f"  {code:8} {loc.rows} rows: {shown}")
    if result.gates:
        out += ["", f"gates ({result.gates_file}):"]
        out += [f"  {g.status} {g.describe()}" for g in result.gates]
        for code in result.unused_gate_sections:
            out.append(f"  (no rows for [locale.{code}]: not evaluated)")
        failed = sum(g.passed is False for g in result.gates)
        verdict = "all gates pass" if result.passed else f"{failed} gate(s) FAILED"
        out.append(f"  => {verdict}")
    return "\n".join(out) + "\n"


# -- Markdown ----------------------------------------------------------------------


def _md(text: str | None, limit: int = 160) -> str:
    if text is None:
        return ""
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return html.escape(text, quote=False).replace("|", "\\|")


def to_markdown(result: EvalResult) -> str:
    out = [f"# localize eval: `{result.input}`", ""]
    if result.gates:
        out.append(f"**Gates: {'PASS' if result.passed else 'FAIL'}** (`{result.gates_file}`)")
        out.append("")
    out += ["## Scores", "", "| locale | kind | rows | " + " | ".join(METRICS) + " |",
            "|---|---|---:|" + "---:|" * len(METRICS)]
    for code, loc in result.locales.items():
        for kind, scores in (loc.scores or {"all": {}}).items():
            n = loc.scored if kind == "all" else next(iter(scores.values())).segments
            out.append(f"| {code} | {kind} | {n} | " + " | ".join(_fmt(scores.get(m)) for m in METRICS) + " |")
    out += ["", "Signatures:", ""]
    for m, ss in _signatures(result).items():
        out += [f"- `{m}|{s}`" for s in sorted(ss)]
    out.append(f"- preprocess: {result.settings['preprocess']}")
    if result.settings.get("language_id"):
        out.append(f"- language id: `{result.settings['language_id']}`")
    out += ["", "## Reference-free checks", "", "Share of rows that fail each check.", "",
            "| locale | rows | " + " | ".join(CHECKS) + " |", "|---|---:|" + "---:|" * len(CHECKS)]
    for code, loc in result.locales.items():
        out.append(f"| {code} | {loc.rows} | " + " | ".join(f"{loc.rates.get(c, 0):.1%}" for c in CHECKS) + " |")
    if result.gates:
        out += ["", "## Gates", "", "| status | locale | gate | value | threshold |", "|---|---|---|---:|---:|"]
        for g in result.gates:
            value = "not measured" if g.value is None else f"{g.value:.4g}"
            out.append(f"| {g.status} | {g.locale} | {g.gate} | {value} | {g.threshold:g} |")
    out += ["", "## Worst rows", "", "| locale | id | source | output | reference | failed | chrF |",
            "|---|---|---|---|---|---|---:|"]
    for r in result.worst_rows():
        failed = "; ".join(f"{c}: {d}" for c, d in r.violations)
        chrf = "" if r.sentence_chrf is None else f"{r.sentence_chrf:.1f}"
        out.append(f"| {r.locale} | {_md(r.id)} | {_md(r.source)} | {_md(r.output)} | {_md(r.reference)} | "
                   f"{_md(failed)} | {chrf} |")
    return "\n".join(out) + "\n"


# -- HTML --------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}.PASS{color:#176b2c}.FAIL{color:#b00020;font-weight:bold}
.SKIP{color:#777}code{font-size:12px}.rows td{max-width:320px;white-space:pre-wrap;word-break:break-word}
"""
_COLORS = {"BLEU": "#4e79a7", "chrF": "#f28e2b", "chrF++": "#59a14f", "TER": "#9c755f"}


def _bar_chart(title: str, groups: list[str], series: dict[str, list[float | None]], top: float,
               unit: str = "") -> str:
    """Grouped vertical bars: one group per locale, one bar per series."""
    names = list(series)
    bar, gap, left, height = 18, 18, 40, 160
    width = left + len(groups) * (len(names) * bar + gap) + 140
    parts = [f'<svg width="{width}" height="{height + 50}" role="img" '
             f'aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = 10 + height - tick * height
        parts.append(f'<line x1="{left}" x2="{width - 140}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{tick * top:g}{unit}</text>')
    for g, group in enumerate(groups):
        x0 = left + g * (len(names) * bar + gap) + gap / 2
        for s, name in enumerate(names):
            value = series[name][g]
            if value is None:
                continue
            h = max(0.0, min(value, top)) / top * height
            x = x0 + s * bar
            parts.append(f'<rect x="{x:.1f}" y="{10 + height - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                         f'fill="{_COLORS.get(name, "#888")}"><title>{html.escape(group)} {html.escape(name)}: '
                         f'{value:.2f}{unit}</title></rect>')
        parts.append(f'<text x="{x0 + len(names) * bar / 2:.1f}" y="{height + 28}" font-size="12" '
                     f'text-anchor="middle">{html.escape(group)}</text>')
    for s, name in enumerate(names):
        y = 20 + s * 16
        parts.append(f'<rect x="{width - 130}" y="{y - 10}" width="10" height="10" fill="{_COLORS.get(name, "#888")}"/>'
                     f'<text x="{width - 115}" y="{y}" font-size="12">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _rate_chart(result: EvalResult) -> str:
    """Horizontal bars: share of rows failing each check, per locale (0-100%)."""
    active = _active_checks(result) or ["empty_output"]
    rows = [(code, c, loc.rates.get(c, 0.0)) for code, loc in result.locales.items() for c in active]
    height, left, width = 16 * len(rows) + 20, 220, 560
    parts = [f'<svg width="{left + width + 60}" height="{height}" role="img" '
             'aria-label="violation rates"><title>violation rates</title>']
    for i, (code, check, rate) in enumerate(rows):
        y = 10 + i * 16
        parts.append(f'<text x="{left - 6}" y="{y + 11}" font-size="11" text-anchor="end">'
                     f'{html.escape(code)} {html.escape(check)}</text>'
                     f'<rect x="{left}" y="{y}" width="{rate * width:.1f}" height="12" fill="#e15759"/>'
                     f'<text x="{left + rate * width + 4:.1f}" y="{y + 11}" font-size="11">{rate:.1%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_html(result: EvalResult) -> str:
    e = html.escape
    groups = list(result.locales)
    series = {m: [(loc.scores.get("all", {}).get(m).score if m in loc.scores.get("all", {}) else None)
                  for loc in result.locales.values()] for m in ("BLEU", "chrF", "chrF++")}
    body = [f"<h1>localize eval: <code>{e(result.input)}</code></h1>"]
    if result.gates:
        verdict = "PASS" if result.passed else "FAIL"
        body.append(f'<p class="{verdict}">Gates: {verdict} (<code>{e(result.gates_file or "")}</code>)</p>')
    body.append("<h2>Scores per locale</h2>")
    if any(v is not None for vals in series.values() for v in vals):
        body.append(_bar_chart("scores per locale", groups, series, 100.0))
    else:
        body.append("<p>No references: reference-free checks only.</p>")
    table = ["<table><tr><th>locale</th><th>kind</th><th>rows</th>" + "".join(f"<th>{m}</th>" for m in METRICS)
             + "</tr>"]
    for code, loc in result.locales.items():
        for kind, scores in (loc.scores or {"all": {}}).items():
            n = loc.scored if kind == "all" else next(iter(scores.values())).segments
            table.append(f"<tr><td>{e(code)}</td><td>{e(kind)}</td><td class=n>{n}</td>"
                         + "".join(f"<td class=n>{_fmt(scores.get(m))}</td>" for m in METRICS) + "</tr>")
    body.append("".join(table) + "</table>")
    sigs = [f"<li><code>{e(m)}|{e(s)}</code></li>" for m, ss in _signatures(result).items() for s in sorted(ss)]
    sigs.append(f"<li>preprocess: {e(result.settings['preprocess'])}</li>")
    if result.settings.get("language_id"):
        sigs.append(f"<li>language id: <code>{e(result.settings['language_id'])}</code></li>")
    body.append("<h3>Signatures</h3><ul>" + "".join(sigs) + "</ul>")
    body.append("<h2>Reference-free checks</h2>" + _rate_chart(result))
    checks = ["<table><tr><th>check</th><th>meaning</th>" + "".join(f"<th>{e(c)}</th>" for c in groups) + "</tr>"]
    for c in CHECKS:
        checks.append(f"<tr><td><code>{c}</code></td><td>{e(DESCRIPTIONS[c])}</td>"
                      + "".join(f"<td class=n>{loc.rates.get(c, 0):.1%}</td>" for loc in result.locales.values())
                      + "</tr>")
    body.append("".join(checks) + "</table>")
    if result.gates:
        g_rows = "".join(
            f'<tr><td class="{g.status}">{g.status}</td><td>{e(g.locale)}</td><td><code>{e(g.gate)}</code></td>'
            f'<td class=n>{"not measured" if g.value is None else f"{g.value:.4g}"}</td>'
            f"<td class=n>{g.threshold:g}</td><td>{e(g.note)}</td></tr>"
            for g in result.gates)
        body.append("<h2>Gates</h2><table><tr><th>status</th><th>locale</th><th>gate</th><th>value</th>"
                    f"<th>threshold</th><th>note</th></tr>{g_rows}</table>")
    worst = "".join(
        f"<tr><td>{e(r.locale)}</td><td>{e(r.id)}</td><td>{e(r.source or '')}</td><td>{e(r.output)}</td>"
        f"<td>{e(r.reference or '')}</td><td>{'<br>'.join(e(f'{c}: {d}') for c, d in r.violations)}</td>"
        f"<td class=n>{'' if r.sentence_chrf is None else f'{r.sentence_chrf:.1f}'}</td></tr>"
        for r in result.worst_rows())
    body.append('<h2>Worst rows</h2><table class="rows"><tr><th>locale</th><th>id</th><th>source</th>'
                f"<th>output</th><th>reference</th><th>failed</th><th>chrF</th></tr>{worst}</table>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>localize eval: {e(result.input)}'
            f"</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(path, text: str) -> None:
    from pathlib import Path

    from localize.errors import OutputError

    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the report: {exc.strerror or exc}") from None
