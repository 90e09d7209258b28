"""The command line in-process (typer's CliRunner), beside the subprocess tests
of tests/test_cli.py: help panels, the config file, engine-only options and
the run signature.

Runs that generate go to the stub OpenAI-compatible server
(localize.testing.stub_server: "[es] <source>", instantly) through the real
engine registry (`--backend vllm`), so no model is involved.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from conftest import EXAMPLES, REPO, write_csv_rows
from localize.cli.app import app, main
from localize.cli.config import default_map, find_config
from localize.errors import UsageError

PANELS = ("Input", "Output", "Engine", "Server", "Embedded", "Glossary", "Store")
LONG_TITLE = "Merino wool base layer crew with flatlock seams and thumb loops for cold mountain days"  # 85 chars


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def stub() -> str:
    pytest.importorskip("aiohttp")
    from localize.testing.stub_server import running_stub_server

    with running_stub_server() as url:
        yield url


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A seller's folder, the working directory of the run."""
    write_csv_rows(tmp_path / "catalog.csv", [["Handle", "Title"], ["tee", "Organic cotton tee"]])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def localized(runner: CliRunner, stub: str, *args: str) -> dict:
    """Run the main form against the stub; the run's --json summary."""
    result = runner.invoke(app, [*args, "--backend", "vllm", "--endpoint", stub, "--quiet", "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def one_line_error(capsys, argv: list[str], code: int) -> str:
    """main() as the console script runs it: the exit code and its one stderr line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == code
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("localize: error: ")
    return lines[0]


# -- help ------------------------------------------------------------------------------


def test_translate_help_groups_options_in_panels(runner):
    result = runner.invoke(app, ["translate", "--help"])
    assert result.exit_code == 0
    for panel in PANELS:
        assert f"─ {panel} " in result.stdout, panel
    assert "localize.toml" in result.stdout  # where option defaults may come from


def test_root_help_offers_completion_and_config(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--install-completion" in result.stdout and "--config" in result.stdout


def test_shared_options_have_one_help_in_translate_and_eval():
    commands = get_command(app).commands
    translate = {p.name: p for p in commands["translate"].params}
    evaluate = {p.name: p for p in commands["eval"].params}
    shared = ("market", "backend", "model", "endpoint", "threads", "glossary", "quiet", "as_json")
    for name in shared:
        assert translate[name].help == evaluate[name].help, name
        assert translate[name].opts == evaluate[name].opts, name


# -- engine-only options -------------------------------------------------------------------


def test_option_of_another_engine_is_an_error(project, capsys):
    line = one_line_error(capsys, ["catalog.csv", "--to", "es", "--backend", "vllm", "--threads", "4"], 2)
    assert "--threads is an option of the embedded" in line and "--backend vllm" in line
    line = one_line_error(capsys, ["catalog.csv", "--to", "es", "--backend", "embedded", "--max-in-flight", "8"], 2)
    assert "--max-in-flight is an option of the vllm" in line
    line = one_line_error(capsys, ["eval", "out.csv", "--backend", "vllm-offline", "--endpoint", "http://x/v1"], 2)
    assert "--endpoint is an option of the vllm" in line


def test_config_naming_backend_and_another_engines_option_is_an_error(project, capsys):
    (project / "localize.toml").write_text('to = ["es"]\nbackend = "vllm"\nthreads = 4\n')
    line = one_line_error(capsys, ["catalog.csv"], 2)
    assert "'threads' in" in line and "localize.toml" in line and "embedded" in line


def test_command_line_backend_sets_aside_the_files_other_engine_options(project, runner, stub):
    # The file holds settings for both engines; the command line picks one.
    (project / "localize.toml").write_text('to = ["es"]\nthreads = 4\nparallel = 2\n')
    stats = localized(runner, stub, "catalog.csv")
    assert stats["signature"].startswith("engine:vllm|")


# -- the config file ----------------------------------------------------------------------


def test_localize_toml_in_the_working_directory(project, runner, stub):
    (project / "localize.toml").write_text('to = ["es"]\nmarket = "ebay"\n')
    stats = localized(runner, stub, "catalog.csv")
    assert header(project / "catalog.localized.csv") == ["Handle", "Title", "Title_es"]
    assert "|market:ebay|" in stats["signature"]


def test_command_line_wins_over_the_file(project, runner, stub):
    (project / "localize.toml").write_text('to = ["es"]\nmarket = "ebay"\n')
    stats = localized(runner, stub, "catalog.csv", "--to", "fr", "--market", "generic")
    assert header(project / "catalog.localized.csv") == ["Handle", "Title", "Title_fr"]
    assert "|market:generic|" in stats["signature"]


def test_config_option_and_paths_relative_to_the_file(project, runner, stub):
    settings = project / "settings"
    settings.mkdir()
    (settings / "brands.keep.csv").write_text("source,kind\nOrganic,keep\n", encoding="utf-8")
    (settings / "team.toml").write_text('to = "fr"\nglossary = ["brands.keep.csv"]\noutput = "../out/c.csv"\n')
    stats = localized(runner, stub, "catalog.csv", "--config", str(settings / "team.toml"))
    assert header(project / "out" / "c.csv") == ["Handle", "Title", "Title_fr"]
    assert "|glossary:none|" not in stats["signature"]


def test_pyproject_tool_localize(project, runner, stub):
    (project / "pyproject.toml").write_text('[project]\nname = "shop"\n\n[tool.localize]\nto = ["es", "fr"]\n')
    localized(runner, stub, "catalog.csv")
    assert header(project / "catalog.localized.csv") == ["Handle", "Title", "Title_es", "Title_fr"]


def test_localize_toml_is_preferred_to_pyproject(project):
    (project / "pyproject.toml").write_text('[tool.localize]\nto = "fr"\n')
    (project / "localize.toml").write_text('to = "es"\n')
    config = find_config([])
    assert config.path.name == "localize.toml"


def test_unknown_key_names_file_line_and_closest_key(project, capsys, runner):
    (project / "localize.toml").write_text('to = ["es"]\n\n# the engine\nbakend = "vllm"\n')
    line = one_line_error(capsys, ["catalog.csv"], 2)
    assert "localize.toml, line 4: unknown key 'bakend'" in line and "did you mean 'backend'?" in line
    result = runner.invoke(app, ["catalog.csv"])  # in-process: the same error, before any work
    assert isinstance(result.exception, UsageError) and "line 4" in str(result.exception)
    assert not (project / "catalog.localized.csv").exists()


def test_unknown_key_in_eval_section_and_in_pyproject(project, capsys):
    (project / "localize.toml").write_text('to = ["es"]\n[eval]\ngates = "g.toml"\nmetrix = "BLEU"\n')
    line = one_line_error(capsys, ["eval", "out.csv"], 2)
    assert "line 4" in line and "'metrix' in [eval]" in line and "did you mean 'metrics'?" in line
    (project / "localize.toml").unlink()
    (project / "pyproject.toml").write_text('[tool.localize]\nto = "es"\n\n[tool.localize.eval]\nlimt = 5\n')
    line = one_line_error(capsys, ["catalog.csv"], 2)
    assert "pyproject.toml, line 5" in line and "[tool.localize.eval]" in line and "'limit'" in line


def test_wrong_type_or_range_names_the_line(project, capsys):
    (project / "localize.toml").write_text('to = ["es"]\nretries = "five"\n')
    line = one_line_error(capsys, ["catalog.csv"], 2)
    assert "line 2" in line and "'retries' must be an integer" in line
    (project / "localize.toml").write_text('to = ["es"]\nmax-in-flight = 0\n')
    line = one_line_error(capsys, ["catalog.csv"], 2)
    assert "line 2" in line and "max-in-flight" in line


def test_missing_config_file(project, capsys):
    line = one_line_error(capsys, ["catalog.csv", "--config", "nope.toml"], 2)
    assert "nope.toml: config file not found" in line


def test_eval_takes_shared_keys_and_its_section(project):
    (project / "localize.toml").write_text(
        'to = ["es"]\nmarket = "ebay"\noutput = "x.csv"\ncache = "store"\n[eval]\nmarket = "amazon"\nlimit = 5\n'
    )
    defaults = default_map(find_config([]), get_command(app).commands)
    assert defaults["eval"] == {"to": "es", "market": "amazon", "limit": 5}  # output means another file in eval
    assert defaults["cache"]["info"] == {"cache": str(project / "store")}


def test_example_config_and_ci_config_are_valid():
    commands = get_command(app).commands
    example = default_map(find_config(["--config", str(EXAMPLES / "localize.toml")]), commands)
    assert example["translate"]["to"] == "es,fr"
    assert all(Path(g).is_file() for g in example["translate"]["glossary"])
    assert Path(example["eval"]["gates"]).is_file()
    ci = default_map(find_config(["--config", str(REPO / "eval" / "ci.localize.toml")]), commands)
    assert ci["eval"]["backend"] == "embedded" and Path(ci["eval"]["gates"]).is_file()


def test_example_config_runs_the_example_catalog(tmp_path, runner, stub):
    out = tmp_path / "catalog.localized.csv"
    stats = localized(runner, stub, str(EXAMPLES / "catalog.csv"), "--config", str(EXAMPLES / "localize.toml"),
                      "-o", str(out))
    assert "Title_es" in header(out) and "Title_fr" in header(out)
    assert "|market:shopify|" in stats["signature"] and "|glossary:none|" not in stats["signature"]


# -- the run signature ----------------------------------------------------------------------


def test_signature_tells_runs_apart_and_is_stable(project, runner, stub):
    write_csv_rows(project / "long.csv", [["Handle", "Title"], ["crew", LONG_TITLE]])
    (project / "brands.keep.csv").write_text("source,kind\nMerino,keep\n", encoding="utf-8")
    first = localized(runner, stub, "long.csv", "--to", "es", "--market", "ebay", "-o", "a.csv")
    again = localized(runner, stub, "long.csv", "--to", "es", "--market", "ebay", "-o", "b.csv")
    other_market = localized(runner, stub, "long.csv", "--to", "es", "--market", "generic", "-o", "c.csv")
    with_glossary = localized(runner, stub, "long.csv", "--to", "es", "--market", "ebay", "-o", "d.csv",
                              "-g", "brands.keep.csv")
    signatures = [s["signature"] for s in (first, again, other_market, with_glossary)]
    assert signatures[0] == signatures[1]
    assert len(set(signatures)) == 3
    parts = dict(part.split(":", 1) for part in signatures[0].split("|"))
    assert list(parts) == ["engine", "model", "prompts", "glossary", "market", "store"]
    assert parts["engine"] == "vllm" and parts["glossary"] == "none" and parts["market"] == "ebay"
    # The report file carries it on every row, as its last column.
    with open(project / "a.report.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "signature" and len(rows) > 1
    assert all(row[-1] == signatures[0] for row in rows[1:])


def test_signature_in_the_summary(project, runner, stub):
    (project / "localize.toml").write_text('to = ["es"]\n')
    result = runner.invoke(app, ["catalog.csv", "--backend", "vllm", "--endpoint", stub])
    assert result.exit_code == 0, result.output
    assert "localize: signature: engine:vllm|model:" in result.stderr


def test_each_part_of_the_signature_changes_it():
    import dataclasses

    from localize.glossary import Entry, Glossary
    from localize.pipeline.signature import run_signature
    from localize.store import KEY_VERSION
    from localize.text.prompts import load_templates

    templates = load_templates()
    title = templates["title"]
    edited = {**templates, "title": dataclasses.replace(title, system=title.system + " Be brief.")}
    keep = Glossary([Entry("Nordvik", "", None, "keep", True)])
    base = dict(engine="vllm", model_id="vllm:Qwen/Qwen2.5-7B-Instruct", templates=templates, glossary=None,
                market="generic")
    variants = [base, {**base, "engine": "vllm-offline"}, {**base, "model_id": "vllm:Qwen/Qwen2.5-14B-Instruct"},
                {**base, "templates": edited}, {**base, "glossary": keep}, {**base, "market": "amazon"}]
    signatures = [run_signature(**v) for v in variants]
    assert len(set(signatures)) == len(variants)
    assert signatures[0] == run_signature(**base)
    assert signatures[0].startswith("engine:vllm|model:Qwen/Qwen2.5-7B-Instruct|prompts:")
    assert signatures[0].endswith(f"|glossary:none|market:generic|store:v{KEY_VERSION}")
    # A model id's long hashes are cut short: the signature stays one readable line.
    embedded = run_signature(**{**base, "engine": "embedded", "model_id": "embedded:m.gguf:sha256=" + "ab12" * 8})
    assert "|model:m.gguf:sha256=ab12ab|" in embedded
