"""The command line as users meet it: help, main form, bad input, exit codes.

Bad-input cases fail before any engine is loaded, so they run in a subprocess
exactly as a seller would type them, with no model involved.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_one_line_error as shared_assert_one_line_error
from conftest import write_csv_rows

EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT, EXIT_BACKEND = 2, 3, 4, 5


def localize_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "localize", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    shared_assert_one_line_error(proc, code, *needles, stdout_empty=True)  # nothing on stdout either


@pytest.fixture
def catalog(tmp_path) -> Path:
    return write_csv_rows(tmp_path / "catalog.csv", [["Handle", "Title"], ["tee", "Organic cotton tee"]])


def test_help_lists_main_form_and_subcommands():
    proc = localize_cli("--help")
    assert proc.returncode == 0
    assert "localize CATALOG --to LOCALES" in proc.stdout
    for command in ("translate", "markets"):
        assert command in proc.stdout


def test_help_does_not_import_engines():
    code = (
        "import sys\n"
        "from localize.cli.app import app\n"
        "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('xllamacpp', 'aiohttp', 'vllm', 'torch', 'polars', 'pyarrow') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Commands" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "HEAVY="


def test_version_and_module_entry_point():
    proc = localize_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("localize ")


def test_markets_lists_limits():
    proc = localize_cli("markets")
    assert proc.returncode == 0
    assert "ebay" in proc.stdout and "title 80" in proc.stdout


def test_missing_file(tmp_path):
    proc = localize_cli(str(tmp_path / "nope.csv"), "--to", "es")
    assert_one_line_error(proc, EXIT_INPUT, "nope.csv")


def test_unknown_locale(catalog):
    proc = localize_cli(str(catalog), "--to", "es,xx")
    assert_one_line_error(proc, EXIT_USAGE, "'xx'")


def test_unknown_locale_suggests(catalog):
    proc = localize_cli(str(catalog), "--to", "spanish")
    assert_one_line_error(proc, EXIT_USAGE, "did you mean 'es'")


def test_unknown_field(catalog):
    proc = localize_cli(str(catalog), "--to", "es", "--fields", "Titel")
    assert_one_line_error(proc, EXIT_USAGE, "'Titel'", "did you mean 'Title'")


def test_identifier_field_refused(catalog):
    proc = localize_cli(str(catalog), "--to", "es", "--fields", "Handle")
    assert_one_line_error(proc, EXIT_USAGE, "Handle")


def test_unknown_backend_and_market(catalog):
    assert_one_line_error(localize_cli(str(catalog), "--to", "es", "--backend", "vlm"), EXIT_USAGE, "vllm")
    assert_one_line_error(localize_cli(str(catalog), "--to", "es", "--market", "amazn"), EXIT_USAGE, "amazon")


def test_ragged_rows_name_the_row(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"Handle,Title,Vendor\na,Tee,Acme\nb,Mug\n")
    proc = localize_cli(str(path), "--to", "es")
    assert_one_line_error(proc, EXIT_INPUT, "ragged.csv", "row 2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ragged.csv"]  # no partial output


def test_not_utf8_names_row_and_column(tmp_path):
    # Left to detect, Latin-1 is read (tests/test_hostile_input.py); said to be UTF-8, it is refused.
    path = tmp_path / "latin1.csv"
    path.write_bytes("Handle,Title\ntee,Camiseta algodón\n".encode("latin-1"))
    proc = localize_cli(str(path), "--to", "fr", "--encoding", "utf-8")
    assert_one_line_error(proc, EXIT_INPUT, "latin1.csv", "row 1", "'Title'", "UTF-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latin1.csv"]


def test_no_text_columns(tmp_path):
    path = write_csv_rows(tmp_path / "ids.csv", [["sku", "price"], ["001", "9.99"]])
    assert_one_line_error(localize_cli(str(path), "--to", "es"), EXIT_INPUT, "--fields")


def test_missing_model_file_is_an_engine_error(catalog, tmp_path):
    proc = localize_cli(str(catalog), "--to", "es", "--backend", "embedded", "--model", str(tmp_path / "m.gguf"))
    assert_one_line_error(proc, EXIT_BACKEND, "m.gguf")
    assert not (tmp_path / "catalog.localized.csv").exists()


def test_server_down_is_an_engine_error(catalog, tmp_path):
    proc = localize_cli(str(catalog), "--to", "es", "--backend", "vllm", "--endpoint", "http://127.0.0.1:9/v1")
    assert_one_line_error(proc, EXIT_BACKEND, "127.0.0.1:9")
    assert not (tmp_path / "catalog.localized.csv").exists()


def test_vllm_offline_without_vllm_gives_install_hint(catalog):
    try:
        import vllm  # noqa: F401
    except ImportError:
        proc = localize_cli(str(catalog), "--to", "es", "--backend", "vllm-offline")
        assert_one_line_error(proc, EXIT_BACKEND, "pip install 'localize[vllm-offline]'")
    else:
        pytest.skip("vllm is installed here")


def test_output_over_input_refused(catalog):
    proc = localize_cli(str(catalog), "--to", "es", "-o", str(catalog))
    assert_one_line_error(proc, EXIT_USAGE, "overwrite the input")


def test_interrupt_exits_130_with_one_line(monkeypatch, capsys):
    # Typer turns Ctrl-C into a *returned* 130 outside standalone mode; it must not become exit 0.
    import localize.text.markets as markets
    from localize.cli.app import main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(markets, "available_markets", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["markets"])
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.strip() == "localize: error: interrupted; no output was written"


def test_project_folder_with_localize_toml_runs_the_short_form(catalog):
    # The file names the locales and the engine; here the server is down, which
    # the error shows: the run took `to`, `backend` and `endpoint` from the file.
    (catalog.parent / "localize.toml").write_text(
        'to = ["es"]\nbackend = "vllm"\nendpoint = "http://127.0.0.1:9/v1"\n', encoding="utf-8"
    )
    proc = localize_cli("catalog.csv", cwd=catalog.parent)
    assert_one_line_error(proc, EXIT_BACKEND, "127.0.0.1:9")
    assert not (catalog.parent / "catalog.localized.csv").exists()


def test_typo_in_localize_toml_is_one_line(catalog):
    (catalog.parent / "localize.toml").write_text('to = ["es"]\nendpiont = "http://x/v1"\n', encoding="utf-8")
    proc = localize_cli("catalog.csv", cwd=catalog.parent)
    assert_one_line_error(proc, EXIT_USAGE, "localize.toml, line 2", "'endpiont'", "did you mean 'endpoint'?")
