"""Hostile and broken catalogs through the real command line.

Every file of tests/hostile_corpus.py goes through `localize.cli.app.main`
(the console entry point, argument parsing and error mapping included) with
`--backend vllm` pointed at the loopback stub server
(localize.testing.stub_server), which answers instantly and
deterministically: the model is the one thing faked, because these tests are
about reading and writing files, not about translations. main() runs in this
process to keep ~50 runs fast; capfd captures the real file descriptors, so
anything a library prints (a Rust panic, a traceback) would be seen. A few
cases also run as a separate `python -m localize` process.

For each file: the exit code is the one the case expects, stderr has no
traceback, and
  * an error is exactly one `localize: error:` line naming the file and,
    where there is one, the row and/or column (other stderr lines can only
    be `localize:` notices);
  * a processed file keeps every row: input rows = output rows (localize
    never drops a row; a row it cannot read stops the run instead, so the
    rows "reported" as rejected are always 0), and the JSON summary counts
    the same rows. Input rows are counted by Python's csv module on the
    text decoded with the case's true encoding, not by localize's reader.
    Every input column comes back identical to that decoding, in order,
    followed by the generated `<column>_es` columns, none of which starts
    with a character a spreadsheet would run as a formula; and each
    record's text comes back as written, the new cells appended
    (tests/raw_diff.py).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_corpus import CASES, ENCODING_PROBES, Case, codec_names, running_as_root, write_corpus
from localize.backends.base import Backend, Generation
from localize.cli.app import main
from localize.errors import InputError, UsageError
from localize.io.catalog import CatalogReader
from localize.pipeline.run import RunOptions, run
from localize.testing.stub_server import running_stub_server
from localize.text.locales import parse_locales
from raw_diff import assert_only_added_fields_differ

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@pytest.fixture(scope="module")
def stub_url():
    with running_stub_server() as url:
        yield url


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return write_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALIZE_CACHE_DIR", str(tmp_path / "cache"))  # never the user's store


def cli_args(case: Case, path: Path, out: Path, url: str) -> list[str]:
    return [str(path), "--to", "es", "--backend", "vllm", "--endpoint", url, "-o", str(out),
            "--json", *case.args]


def output_path(case: Case, tmp_path: Path) -> Path:
    return tmp_path / "out" / f"localized{case.out_suffix or Path(case.name).suffix}"


def run_main(args: list[str], capfd) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capfd.readouterr()
    return info.value.code, out, err


@contextlib.contextmanager
def fed(case: Case, path: Path):
    """For a "pipe" case, writes its data into the named pipe from another
    thread while the body runs; a reader that waits for a second writer
    (opening the pipe twice) fails the test after 60 s instead of hanging."""
    if "pipe" not in case.tags:
        yield
        return

    def feed():
        with contextlib.suppress(BrokenPipeError), open(path, "wb") as pipe:
            pipe.write(case.data)

    def hung(*_):
        raise TimeoutError(f"{path}: still waiting on the named pipe after 60 s")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if writer.is_alive():  # localize never opened the pipe: let the writer finish
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            writer.join(10)


@pytest.fixture
def private_tmpdir(tmp_path, monkeypatch) -> Path:
    """TMPDIR for one run, to see that nothing (a pipe's copy) is left in it."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def decoded_rows(data: bytes, encoding: str, delimiter: str) -> list[list[str]]:
    """The independent reader: Python's csv module on the text in its true encoding."""
    text = data.decode(encoding).removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    return [row for row in rows if row]  # a blank line holds no row


def check_error(case: Case, path: Path, code: int, stdout: str, stderr: str) -> None:
    assert code == case.expect, (code, stderr)
    assert "Traceback" not in stderr and "panicked" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("localize: error:")]
    assert len(errors) == 1, stderr
    others = [line for line in stderr.splitlines() if line.strip() and line not in errors]
    assert all(line.startswith("localize: ") for line in others), stderr  # notices only
    line = errors[0]
    assert len(line) < 600, line
    if case.expect == 3:
        assert str(path) in line, line
    for needle in case.needles:
        assert needle in line, (needle, line)
    assert stdout == ""


def check_processed(case: Case, path: Path, out: Path, code: int, stdout: str, stderr: str) -> None:
    assert code == 0, stderr
    assert "Traceback" not in stderr and "panicked" not in stderr and "localize: error" not in stderr
    for needle in case.needles:
        assert needle in stderr, (needle, stderr)
    data = case.data if "pipe" in case.tags else path.read_bytes()  # a pipe's data was read by localize
    raw_out = out.read_bytes()
    if case.table is None:
        assert raw_out.startswith(codecs.BOM_UTF8) == data.startswith(BOMS)  # a BOM in, a UTF-8 BOM out
        source = decoded_rows(data, case.source_encoding, case.delimiter)
    else:
        source = case.table
    result = decoded_rows(raw_out, "utf-8", case.delimiter if out.suffix == ".csv" else "\t")
    header, rows = source[0], source[1:]
    out_header, out_rows = result[0], result[1:]

    assert len(out_rows) == len(rows)  # input rows = output rows + 0 rejected
    assert json.loads(stdout)["rows"] == len(rows)
    width = len(header)
    assert out_header[:width] == header
    generated = out_header[width:]
    assert generated and all(name.endswith("_es") and name[:-3] in header for name in generated)
    for number, (want, got) in enumerate(zip(rows, out_rows), start=1):
        assert len(got) == len(out_header), f"row {number}"
        assert got[:width] == want, f"row {number}: an untouched column changed"
        for name, value in zip(generated, got[width:]):
            copied = value == want[header.index(name[:-3])]  # read the same in every language: no model call
            assert copied or not value.startswith(FORMULA_TRIGGERS), f"row {number}: {value[:40]!r}"
    if case.table is None and out.suffix == path.suffix:
        # byte for byte: each record's text as written (in UTF-8), then the new cells
        text = data.decode(case.source_encoding).removeprefix("\ufeff")
        out_text = raw_out.decode("utf-8").removeprefix("\ufeff")
        assert_only_added_fields_differ(text, out_text, case.delimiter, len(generated))


def _cases(expect_ok: bool):
    return [pytest.param(c, id=c.name) for c in CASES if (c.expect == 0) == expect_ok]


@pytest.mark.parametrize("case", _cases(True))
def test_processed(case, corpus, stub_url, tmp_path, capfd, private_tmpdir):
    out = output_path(case, tmp_path)
    out.parent.mkdir()
    with fed(case, corpus[case.name]):
        code, stdout, stderr = run_main(cli_args(case, corpus[case.name], out, stub_url), capfd)
    check_processed(case, corpus[case.name], out, code, stdout, stderr)
    assert list(private_tmpdir.iterdir()) == []  # a pipe's copy is removed


@pytest.mark.parametrize("case", [p for p in _cases(True) if p.values[0].table is None])  # text files
def test_processed_per_locale_keeps_the_sellers_cells(case, corpus, stub_url, tmp_path, capfd):
    """Every processed file again as a per-locale file, where the localized
    columns replace the seller's: a cell the stub model did not write (it
    writes "[es] " into each text run) is byte for byte the seller's, formula-like
    or not (`-20`, `+44 20 ...`, `=1+2` are the seller's own cells)."""
    path = corpus[case.name]
    folder = tmp_path / "per"
    args = cli_args(case, path, folder / f"{{locale}}{path.suffix}", stub_url) + ["--layout", "per-locale", "-q"]
    with fed(case, path):
        code, _, stderr = run_main(args, capfd)
    assert code == 0, stderr
    delimiter = case.delimiter if path.suffix == ".csv" else "\t"
    data = case.data if "pipe" in case.tags else path.read_bytes()  # a pipe's data was read by localize
    source = decoded_rows(data, case.source_encoding, case.delimiter)
    result = decoded_rows((folder / f"es{path.suffix}").read_bytes(), "utf-8", delimiter)
    assert result[0] == source[0] and len(result) == len(source)
    for number, (want, got) in enumerate(zip(source[1:], result[1:]), start=1):
        for name, before, after in zip(source[0], want, got):
            if "[es]" not in after:
                assert after == before, (number, name, before, after)


@pytest.mark.parametrize("case", _cases(False))
def test_refused_with_one_line(case, corpus, stub_url, tmp_path, capfd, private_tmpdir):
    if "needs_non_root" in case.tags and running_as_root():
        pytest.skip("root reads any file")
    out = output_path(case, tmp_path)
    out.parent.mkdir()
    with fed(case, corpus[case.name]):
        code, stdout, stderr = run_main(cli_args(case, corpus[case.name], out, stub_url), capfd)
    check_error(case, corpus[case.name], code, stdout, stderr)
    assert list(out.parent.iterdir()) == []  # nothing written, not even a temp file
    assert list(private_tmpdir.iterdir()) == []  # nor a pipe's copy


def test_corpus_is_the_size_promised():
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


def test_detected_encoding_notice_is_one_line_and_names_the_override(corpus, stub_url, tmp_path, capfd):
    case = next(c for c in CASES if c.name == "gbk.csv")
    out = tmp_path / "gbk.localized.csv"
    code, _, stderr = run_main(cli_args(case, corpus[case.name], out, stub_url) + ["--quiet"], capfd)
    assert code == 0
    # --quiet silences progress, not the notice that the file was read in a guessed encoding
    assert stderr.splitlines() == [
        f"localize: {corpus[case.name]}: not UTF-8; read as GB18030 (Chinese, GBK), the encoding detected. "
        "The output is UTF-8; if its text looks wrong, name the encoding with --encoding"]
    assert "纯棉" in out.read_text(encoding="utf-8")


def test_given_encoding_is_not_announced(corpus, stub_url, tmp_path, capfd):
    case = next(c for c in CASES if c.name == "latin1_override.csv")
    code, _, stderr = run_main(cli_args(case, corpus[case.name], tmp_path / "o.csv", stub_url) + ["-q"], capfd)
    assert code == 0 and stderr == ""
    assert "Camiseta algodón" in (tmp_path / "o.csv").read_text(encoding="utf-8")


def test_semicolon_csv_stays_semicolon_and_converts_to_tab(corpus, stub_url, tmp_path, capfd):
    path = corpus["excel_eu.csv"]
    case = next(c for c in CASES if c.name == "excel_eu.csv")
    code, _, _ = run_main(cli_args(case, path, tmp_path / "o.tsv", stub_url), capfd)
    assert code == 0
    first = (tmp_path / "o.tsv").read_bytes().split(b"\r\n", 1)[0]
    assert first == b"Handle\tTitle\tBody (HTML)\tVendor\tTitle_es\tBody (HTML)_es"


@pytest.mark.parametrize("name", ["gbk.csv", "unterminated_quote.csv", "garbage.csv", "pipe.csv"])
def test_as_a_separate_process(name, corpus, stub_url, tmp_path):
    """The same promises when `localize` is its own process, as a seller runs it."""
    case = next(c for c in CASES if c.name == name)
    out = output_path(case, tmp_path)
    out.parent.mkdir()
    env_cache = {"LOCALIZE_CACHE_DIR": str(tmp_path / "cache")}
    with fed(case, corpus[name]):
        proc = subprocess.run([sys.executable, "-m", "localize", *cli_args(case, corpus[name], out, stub_url)],
                              capture_output=True, text=True, timeout=120, env={**os.environ, **env_cache})
    if case.expect == 0:
        check_processed(case, corpus[name], out, proc.returncode, proc.stdout, proc.stderr)
    else:
        check_error(case, corpus[name], proc.returncode, proc.stdout, proc.stderr)


def test_formula_like_cells_stay_text_in_xlsx_output(corpus, stub_url, tmp_path, capfd):
    """CSV output keeps the seller's `=`/`+`/`-`/`@` cells as they are (test_processed);
    in a workbook they are written as text cells, never as formulas."""
    import zipfile

    import python_calamine as pc

    case = next(c for c in CASES if c.name == "formula_cells.csv")
    out = tmp_path / "o.xlsx"
    code, _, stderr = run_main(cli_args(case, corpus[case.name], out, stub_url), capfd)
    assert code == 0, stderr
    with zipfile.ZipFile(out) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert not any("<f>" in xml or "<f " in xml for xml in sheets)
    book = pc.CalamineWorkbook.from_path(str(out))
    try:
        cells = book.get_sheet_by_index(0).to_python()
    finally:
        book.close()
    source = decoded_rows(corpus[case.name].read_bytes(), "utf-8", ",")
    width = len(source[0])
    assert [row[:width] for row in cells] == source


# -- any encoding name Python knows (issue 20) -------------------------------------

CODEC_NAMES = codec_names()


@pytest.mark.parametrize("probe", sorted(ENCODING_PROBES))
def test_every_codec_name_reads_the_file_or_refuses_with_one_reason(probe, tmp_path):
    """Generated: every codec name Python knows (aliases and targets, base64,
    idna and undefined included) on each probe file: the reader reads it or
    raises a UsageError (exit 2: not a text encoding) or an InputError (exit 3:
    this file is not in it), never anything that would end as an internal error."""
    path = tmp_path / probe
    path.write_bytes(ENCODING_PROBES[probe])
    crashed = {}
    for name in CODEC_NAMES:
        try:
            with CatalogReader(path, encoding=name) as reader:
                reader.count_rows(strict=True)
                for _ in reader.batches():
                    pass
        except (UsageError, InputError) as exc:
            assert "\n" not in str(exc)
        except Exception as exc:  # noqa: BLE001 -- collected, so one run names every offender
            crashed[name] = f"{type(exc).__name__}: {exc}"
    assert crashed == {}
    assert len(CODEC_NAMES) > 300


# Names whose codecs are not for text files, or need a byte-order mark: drawn more often than the rest.
TRICKY_CODECS = ["utf-16", "utf-32", "idna", "punycode", "undefined", "base64", "rot13", "unicode_escape",
                 "utf-7", "cp037", "utf-16-be", "hz"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(TRICKY_CODECS) | st.sampled_from(CODEC_NAMES), spelling=st.sampled_from([str, str.upper, lambda n: n.replace("_", "-")]),
       probe=st.sampled_from(sorted(ENCODING_PROBES)))
def test_any_encoding_name_through_the_command_line(stub_url, tmp_path, capfd, name, spelling, probe):
    """Generated: `--encoding NAME` as a user could spell any codec name, on any
    probe file: exit 0, 2 or 3, and a failure is one line with no traceback."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / probe
    path.write_bytes(ENCODING_PROBES[probe])
    out = folder / "out.csv"
    code, stdout, stderr = run_main([str(path), "--to", "es", "--backend", "vllm", "--endpoint", stub_url,
                                     "-o", str(out), "-q", "--encoding", spelling(name)], capfd)
    assert code in (0, 2, 3), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    if code:
        assert len(stderr.splitlines()) == 1 and stderr.startswith("localize: error: "), stderr
        assert not out.exists()
    else:
        assert out.exists()


# -- the seller's own cells are never changed, in any layout (issue 20) --------------

_PROMPT_SOURCE = re.compile(r"<<<\n(.*)\n>>>", re.S)
_PROMPT_LOCALE = re.compile(r"\(([a-z]{2,3}(?:-[A-Za-z0-9]+)*)\)")


class FormulaEngine(Backend):
    """Answers every text with a formula-like one (`=`, `+`, `-` or `@` first)
    and records what it was asked, so a test can tell the cells it wrote
    from the cells copied without a call."""

    name = "formula"

    def __init__(self):
        self.asked: set[str] = set()

    def generate(self, requests, on_result=None):
        out = []
        for i, req in enumerate(requests):
            prompt = req.messages[-1]["content"]
            source = _PROMPT_SOURCE.search(prompt).group(1)
            self.asked.add(source)
            gen = Generation(text=FORMULA_TRIGGERS[len(source) % 4] + source.swapcase())
            if on_result:
                on_result(i, gen)
            out.append(gen)
        return out


CELL = st.one_of(
    st.sampled_from(["-20", "+44 20 7946 0000", "=1+2", "@SUM(1)", '=HYPERLINK("x")', "-50% sale", "Red scarf",
                     "12.99", "+1", "\uff0d1", "\uff1d1", "\uff20x", "SKU-001"]),
    st.text(alphabet="=+-@\uff1d\uff0b\uff0d\uff20%0123456789 .,abcXYZé", min_size=1, max_size=12)
    .map(str.strip).filter(bool),
)


def read_cells(path: Path) -> list[list[str]]:
    if path.suffix == ".xlsx":
        import python_calamine as pc

        book = pc.CalamineWorkbook.from_path(str(path))
        try:
            return [[str(v) for v in row] for row in book.get_sheet_by_index(0).to_python()]
        finally:
            book.close()
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, delimiter="\t" if path.suffix == ".tsv" else ","))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(CELL, min_size=1, max_size=6), suffix=st.sampled_from([".csv", ".tsv", ".xlsx"]),
       layout=st.sampled_from(["per-locale", "columns"]))
def test_cells_copied_without_a_model_call_are_never_changed(tmp_path, titles, suffix, layout):
    """Generated: any cell, formula-like or not, in either layout and every
    format a spreadsheet opens. A cell the model was not asked about (it reads
    the same in every language: `-20`, a phone number, `=1+2`) comes back
    exactly as the seller wrote it; a cell the model wrote never starts with
    a character a spreadsheet would run."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    src = folder / "shop.csv"
    with open(src, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["Handle", "Title"], *[[f"h{i}", t] for i, t in enumerate(titles)]])
    engine = FormulaEngine()
    output = folder / "out" / (f"shop.{{locale}}{suffix}" if layout == "per-locale" else f"shop{suffix}")
    stats = run(RunOptions(input=src, locales=parse_locales("es"), output=output, layout=layout, quiet=True),
                backend=engine)
    rows = read_cells(Path(stats.outputs[0]))[1:]
    column = 1 if layout == "per-locale" else 2
    if layout == "columns":
        assert [row[1] for row in rows] == titles  # the seller's own column
    for title, row in zip(titles, rows):
        value = row[column]
        if title in engine.asked:
            assert value == "" or not value.startswith(FORMULA_TRIGGERS), (title, value)
        else:
            assert value == title, (title, value)
