"""Quality gates: thresholds from a TOML file, checked strictly, evaluated to pass/fail.

    [default]                      # every locale
    min_chrf = 35.0
    min_bleu = 8.0
    [default.max_rate]             # share of checked rows, 0..1
    html_structure = 0.0
    wrong_language = 0.05
    [locale.tr]                    # overrides for one locale
    min_chrf = 30.0

A key the file does not know is a usage error naming the key and the file: a
typo must never turn a gate off silently.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from localize.errors import InputError, UsageError
from localize.eval.checks import CHECKS
from localize.text.locales import parse_locale

METRIC_GATES = {"min_bleu": "BLEU", "min_chrf": "chrF", "min_chrf_pp": "chrF++", "max_ter": "TER"}
TERMINOLOGY_GATE = "min_terminology_accuracy"
GATE_KEYS = (*METRIC_GATES, TERMINOLOGY_GATE, "max_rate")
TOP_KEYS = ("default", "locale")


@dataclass
class Gates:
    path: Path
    default: dict = field(default_factory=dict)
    locales: dict[str, dict] = field(default_factory=dict)  # locale code -> its overrides

    def for_locale(self, code: str) -> dict:
        """Default thresholds overlaid with the locale's own (max_rate merged key by key)."""
        own = self.locales.get(code, {})
        merged = {**self.default, **own}
        rates = {**self.default.get("max_rate", {}), **own.get("max_rate", {})}
        if rates:
            merged["max_rate"] = rates
        return merged


@dataclass(frozen=True)
class GateResult:
    locale: str
    gate: str  # "min_chrf", "max_rate.html_structure", ...
    threshold: float
    value: float | None  # None: not measured
    passed: bool | None  # None: skipped (not measured), never a pass
    note: str = ""

    @property
    def status(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]

    def describe(self) -> str:
        if self.value is None:
            return f"{self.locale} {self.gate}: not measured ({self.note})"
        op = ">=" if self.gate.startswith("min") else "<="
        fmt = ".4f" if self.gate.startswith(("max_rate", TERMINOLOGY_GATE)) else ".2f"
        return f"{self.locale} {self.gate}: {self.value:{fmt}} (needs {op} {self.threshold:{fmt}})"

    def as_dict(self) -> dict:
        return {"locale": self.locale, "gate": self.gate, "threshold": self.threshold, "value": self.value,
                "status": self.status, "note": self.note}


def load_gates(path) -> Gates:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: gates file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    _known(path, data, TOP_KEYS, "the top level")
    gates = Gates(path, default=_section(path, data.get("default", {}), "[default]"))
    locales = data.get("locale", {})
    if not isinstance(locales, dict):
        raise UsageError(f"{path}: 'locale' must be a table of [locale.<code>] sections")
    for code, section in locales.items():
        loc = parse_locale(code)
        gates.locales[loc.code] = _section(path, section, f"[locale.{code}]")
    return gates


def _known(path: Path, table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise UsageError(f"{path}: unknown key {key!r} in {where}{extra}; known keys: {', '.join(allowed)}")


def _section(path: Path, section, where: str) -> dict:
    if not isinstance(section, dict):
        raise UsageError(f"{path}: {where} must be a table")
    _known(path, section, GATE_KEYS, where)
    out: dict = {}
    for key, value in section.items():
        if key == "max_rate":
            if not isinstance(value, dict):
                raise UsageError(f"{path}: max_rate in {where} must be a table of check = rate")
            _known(path, value, CHECKS, f"{where[:-1]}.max_rate]")
            out["max_rate"] = {k: _number(path, v, 0.0, 1.0, f"max_rate.{k} in {where}") for k, v in value.items()}
        elif key == TERMINOLOGY_GATE:
            out[key] = _number(path, value, 0.0, 1.0, f"{key} in {where}")
        else:
            out[key] = _number(path, value, 0.0, 100.0 if key != "max_ter" else float("inf"), f"{key} in {where}")
    return out


def _number(path: Path, value, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise UsageError(f"{path}: {what} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def evaluate(gates: Gates, measured: dict[str, dict]) -> list[GateResult]:
    """`measured[locale]`: {"scores": {metric: value}, "metrics": [computed], "rates": {check: rate},
    "terminology": float | None}.

    Locales the run did not produce are not gated; sections for them are
    listed by `unused_sections`.
    """
    results = []
    for code, m in measured.items():
        for key, threshold in gates.for_locale(code).items():
            if key in METRIC_GATES:
                metric = METRIC_GATES[key]
                value = m.get("scores", {}).get(metric)
                if value is None:
                    computed = metric in m.get("metrics", [metric])
                    note = "no references" if computed else f"{metric} not computed (--metrics)"
                    results.append(GateResult(code, key, threshold, None, None, note))
                else:
                    ok = value >= threshold if key.startswith("min") else value <= threshold
                    results.append(GateResult(code, key, threshold, value, ok))
            elif key == TERMINOLOGY_GATE:
                value = m.get("terminology")
                if value is None:
                    results.append(GateResult(code, key, threshold, None, None, "no glossary checks yet"))
                else:
                    results.append(GateResult(code, key, threshold, value, value >= threshold))
            else:  # max_rate
                rates = m.get("rates", {})
                for check, limit in threshold.items():
                    value = rates.get(check)
                    if value is None:
                        results.append(GateResult(code, f"max_rate.{check}", limit, None, None, "no rows checked"))
                    else:
                        results.append(GateResult(code, f"max_rate.{check}", limit, value, value <= limit))
    return results


def unused_sections(gates: Gates, measured_locales) -> list[str]:
    return sorted(set(gates.locales) - set(measured_locales))


def failure_message(results: list[GateResult], path: Path) -> str:
    failed = [r for r in results if r.passed is False]
    shown = "; ".join(r.describe() for r in failed[:3]) + ("; ..." if len(failed) > 3 else "")
    return f"{len(failed)} of {len(results)} quality gates failed ({path}): {shown}"
