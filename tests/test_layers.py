"""The package layering holds: the import-linter contracts in pyproject.toml
(checks and text below pipeline, eval and cli; engines, io, store and glossary
too), and no module imports a private name (`_x`) from another package."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "localize"


def _lint_imports() -> Path:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.is_file():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    return exe


def test_import_linter_contracts_are_kept():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([str(_lint_imports()), "--no-cache"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout and "KEPT" in proc.stdout


def test_a_broken_contract_fails_lint_imports(tmp_path):
    """The check bites: a checks module that imports the pipeline breaks a contract."""
    tree = tmp_path / "localize"
    for path in PACKAGE.rglob("*.py"):
        target = tree / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tree / "checks" / "bad_layer.py").write_text("from localize.pipeline import report\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([str(_lint_imports()), "--no-cache"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode != 0
    assert "localize.checks.bad_layer -> localize.pipeline.report" in proc.stdout


def _package_of(module: str) -> str:
    """localize.text.safety -> localize.text; localize.errors -> localize."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def private_imports_across_packages(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        own = module if path.name == "__init__.py" and module.count(".") == 1 else _package_of(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or not (node.module or "").startswith("localize"):
                continue
            if _package_of(node.module + ".x") == own or node.module == own:
                continue
            names = [a.name for a in node.names]
            hidden = [n for n in names if n.startswith("_") and not n.startswith("__")]
            hidden += [p for p in node.module.split(".") if p.startswith("_") and not p.startswith("__")]
            if hidden:
                found.append(f"{rel}.py:{node.lineno}: from {node.module} import {', '.join(hidden)}")
    return found


def test_no_module_imports_a_private_name_from_another_package():
    assert private_imports_across_packages() == []


def test_the_private_import_check_finds_one(tmp_path):
    (tmp_path / "localize" / "text").mkdir(parents=True)
    (tmp_path / "localize" / "eval").mkdir()
    (tmp_path / "localize" / "text" / "safety.py").write_text(
        "from localize.eval.checks import _codes, plain_text\nfrom localize.text.html import _TAG\n")
    (tmp_path / "localize" / "eval" / "checks.py").write_text("_codes = plain_text = None\n")
    assert private_imports_across_packages(tmp_path / "localize") == [
        "localize/text/safety.py:1: from localize.eval.checks import _codes"]


# A module a reader can hold in their head, a function that fits on a screen
# (DEVELOPERS' guide): ~400 lines and ~60 lines, with a little slack so that a
# fix is not blocked by a line; past that, split by concern.
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 450, 60


def test_modules_and_functions_stay_small():
    too_big = []
    for path in sorted((REPO / "localize").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(REPO).as_posix()
        if text.count("\n") > MAX_MODULE_LINES:
            too_big.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{name}:{node.lineno} {node.name}(): {length} lines")
    assert not too_big, too_big
