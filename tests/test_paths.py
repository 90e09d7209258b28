"""No locale code, field name or locale value in a file can make localize
write outside the output folder.

Locale codes reach file names only in `--layout per-locale` (`<stem>.<code>.<ext>`,
or `{locale}` in -o); parse_locale admits letters, digits and one separator,
and output_paths refuses any other code, however the Locale was built. Field
names only become CSV header strings (`../evil_es` is a column, not a path).
The end-to-end runs use the CLI against the stub OpenAI-compatible server (a
real HTTP server process on loopback), so every file a real run writes is seen.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localize.errors import UsageError, printable_line
from localize.pipeline.run import RunOptions, output_paths
from localize.text.locales import LANGUAGES, REGIONS, Locale, parse_locale, parse_locales

HOSTILE = ["../../x", "es/../../", "es/..", "..", ".", "/etc/passwd", "es\\..\\..", "es%2F..", "es\x00",
           "es/fr", "~", "es-../..", "es_..", "es-ES/..", "C:\\x", "es\n..", " ../es"]
SAFE_CODE = r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|\d{3}))?"


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_locale_codes_are_refused(text):
    with pytest.raises(UsageError):
        parse_locale(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("esfrptBRHant-_./\\~:%0419 \x00"), max_size=12) | st.text(max_size=12))
def test_any_accepted_locale_is_a_plain_name_part(text):
    try:
        loc = parse_locale(text)
    except UsageError:
        return
    assert re.fullmatch(SAFE_CODE, loc.code), (text, loc.code)


def per_locale(tmp_path: Path, locales, output=None) -> dict:
    src = tmp_path / "in" / "catalog.csv"
    return output_paths(RunOptions(input=src, locales=locales, output=output, layout="per-locale"))


def test_every_known_locale_stays_in_the_output_folder(tmp_path):
    locales = [parse_locale(code) for code in LANGUAGES]
    locales += [parse_locale(f"es-{region}") for region in REGIONS] + [parse_locale("zh-Hant-TW")]
    out = tmp_path / "out"
    out.mkdir()
    for output, folder in ((None, tmp_path / "in"), (out, out), (out / "{locale}.csv", out)):
        for path in per_locale(tmp_path, locales, output).values():
            assert path.parent == folder and ".." not in path.parts


@pytest.mark.parametrize("code", ["../evil", "es/../../x", "..", "", "es/fr", "es\\..", "es\x00"])
def test_output_paths_refuse_a_locale_built_around_parse_locale(tmp_path, code):
    out = tmp_path / "out"
    out.mkdir()
    for output in (None, out, out / "shop.{locale}.csv"):
        with pytest.raises(UsageError, match="cannot be part of a file name"):
            per_locale(tmp_path, [Locale(code, "es", "Spanish")], output)


# -- end to end ---------------------------------------------------------------


@pytest.fixture(scope="module")
def stub():
    pytest.importorskip("aiohttp")
    from localize.testing.stub_server import running_stub_server

    with running_stub_server() as url:
        yield url


def localize(stub: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOCALIZE_STORE": str(cwd.parent / "store.sqlite")}
    return subprocess.run(
        [sys.executable, "-m", "localize", *args, "--backend", "vllm", "--endpoint", stub, "--quiet"],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def jail(tmp_path) -> Path:
    """tmp/a/b/work holds the catalog; anything written in tmp but outside work/ escaped."""
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    (work / "catalog.csv").write_text("sku,../evil,../../a/b/Title\nA-1,Warm hat,Red cap\n", encoding="utf-8")
    (work / "per").mkdir()
    return work


def test_field_names_are_headers_not_paths(stub, jail):
    root = jail.parents[2]
    proc = localize(stub, jail, "catalog.csv", "--to", "es", "--fields", "../evil,../../a/b/Title")
    assert proc.returncode == 0, proc.stderr
    assert (jail / "catalog.localized.csv").read_text(encoding="utf-8").splitlines()[0] == (
        "sku,../evil,../../a/b/Title,../evil_es,../../a/b/Title_es")
    proc = localize(stub, jail, "catalog.csv", "--to", "es,pt-BR", "--fields", "../evil,../../a/b/Title",
                    "--layout", "per-locale", "-o", "per")
    assert proc.returncode == 0, proc.stderr
    assert files_under(root) == {
        "a/b/work/catalog.csv", "a/b/work/catalog.localized.csv",
        "a/b/work/per/catalog.es.csv", "a/b/work/per/catalog.pt-BR.csv", "a/b/store.sqlite",
    }


@pytest.mark.parametrize("to", ["../../x", "es/../../"])  # more in test_hostile_locale_codes_are_refused
def test_hostile_to_is_a_usage_error_and_writes_nothing(stub, jail, to):
    root = jail.parents[2]
    before = files_under(root)
    for layout_args in ([], ["--layout", "per-locale", "-o", "per/shop.{locale}.csv"]):
        proc = localize(stub, jail, "catalog.csv", "--to", to, *layout_args)
        assert proc.returncode == 2 and "unknown locale code" in proc.stderr, proc.stderr
    assert files_under(root) == before
    with pytest.raises(UsageError):
        parse_locales(to)


def test_translate_adapt_and_glossary_locale_values_are_data(stub, jail):
    """A Translate & Adapt row whose Locale is a path is not one we were asked
    for: left as it was. A glossary's locale is checked like --to."""
    root = jail.parents[2]
    (jail / "ta.csv").write_text(
        "Type,Identification,Field,Locale,Market,Status,Default content,Translated content\n"
        "PRODUCT,1,title,es,,,Warm hat,\n"
        "PRODUCT,1,title,../../evil,,,Warm hat,\n"
        "PRODUCT,2,title,es/../../x,,,Red cap,\n", encoding="utf-8")
    (jail / "g.csv").write_text("source,target,locale,kind\nhat,gorro,../../evil,term\n", encoding="utf-8")
    proc = localize(stub, jail, "ta.csv", "--to", "es")
    assert proc.returncode == 0, proc.stderr
    with open(jail / "ta.localized.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["Locale"], r["Translated content"]) for r in rows] == [
        ("es", "[es] Warm hat"), ("../../evil", ""), ("es/../../x", "")]
    proc = localize(stub, jail, "catalog.csv", "--to", "es", "--fields", "../evil", "-g", "g.csv")
    assert proc.returncode == 3 and "unknown locale code '../../evil'" in proc.stderr
    assert files_under(root) == {"a/b/work/catalog.csv", "a/b/work/ta.csv", "a/b/work/g.csv",
                                 "a/b/work/ta.localized.csv", "a/b/store.sqlite"}


# -- side files: never the input, never a file localize did not write (issue 20) --
#
# `<output stem>.report.csv` and `.errors.csv` are named after the output, so
# they can fall on the input or on a seller's own file. localize replaces or
# removes only a side file whose first row is the header it writes.

REPORT_HEADER = "row,column,locale,issue,detail"
ERRORS_HEADER = "row,column,locale,reason,attempts"
LONG_TITLE = "Long title " * 8 + "word"  # over eBay's 80 characters once "[es] " is added: flagged too_long


def run_main(args: list[str], capfd) -> tuple[int, str]:
    from localize.cli.app import main

    with pytest.raises(SystemExit) as info:
        main(args)
    return info.value.code, capfd.readouterr().err


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for a folder, the target for a link)."""
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        out[key] = os.readlink(p).encode() if p.is_symlink() else (None if p.is_dir() else p.read_bytes())
    return out


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("localize: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_the_input_named_like_a_report_is_not_replaced(stub, tmp_path, capfd):
    """Issue 20, defect 1: `localize shop.report.csv -o shop.csv` deleted its own input."""
    src = tmp_path / "shop.report.csv"
    src.write_text("Handle,Title\nh1,Red scarf\n", encoding="utf-8")
    code, err = run_main([str(src), "--to", "es", "--backend", "vllm", "--endpoint", stub,
                          "-o", str(tmp_path / "shop.csv"), "-q"], capfd)
    assert code == 4
    assert "would overwrite the input" in one_error_line(err)
    assert snapshot(tmp_path) == {"shop.report.csv": b"Handle,Title\nh1,Red scarf\n"}


@pytest.mark.parametrize("side", ["report", "errors"])
def test_a_sellers_own_side_file_is_neither_replaced_nor_removed(stub, tmp_path, capfd, side):
    src = tmp_path / "export.csv"
    src.write_text(f"Handle,Title\nh1,{LONG_TITLE}\n", encoding="utf-8")
    (tmp_path / f"shop.{side}.csv").write_text("my,own\nnotes,here\n", encoding="utf-8")
    before = snapshot(tmp_path)
    code, err = run_main([str(src), "--to", "es", "--backend", "vllm", "--endpoint", stub, "--market", "ebay",
                          "-o", str(tmp_path / "shop.csv"), "-q"], capfd)
    assert code == 4
    line = one_error_line(err)
    assert f"shop.{side}.csv" in line and "not written by localize" in line and "choose another -o" in line
    assert snapshot(tmp_path) == before  # nothing written, nothing removed


@pytest.mark.parametrize("signature", [False, True])
def test_localizes_own_side_files_are_replaced_and_removed(stub, tmp_path, capfd, signature):
    """A rerun replaces the report it wrote, and removes an errors file that no longer applies."""
    extra = ",signature" if signature else ""
    src = tmp_path / "export.csv"
    src.write_text(f"Handle,Title\nh1,{LONG_TITLE}\n", encoding="utf-8")
    (tmp_path / "shop.report.csv").write_text(f"{REPORT_HEADER}{extra}\n9,Title,fr,old,x{',' if extra else ''}\n")
    (tmp_path / "shop.errors.csv").write_text(f"{ERRORS_HEADER}{extra}\n9,Title,fr,gone,5{',' if extra else ''}\n")
    code, err = run_main([str(src), "--to", "es", "--backend", "vllm", "--endpoint", stub, "--market", "ebay",
                          "-o", str(tmp_path / "shop.csv"), "-q"], capfd)
    assert code == 0, err
    assert (tmp_path / "shop.report.csv").read_text().splitlines()[1].startswith("1,Title,es,too_long,")
    assert not (tmp_path / "shop.errors.csv").exists()


# What may lie under a side file's name before the run.
FOREIGN_HEADERS = ["Handle,Title", "row,column,locale,issue", REPORT_HEADER + ",extra", "ROW,column,locale,issue,detail",
                   "\ufeff" + REPORT_HEADER, ERRORS_HEADER.replace(",", ";"), REPORT_HEADER.replace("row", "rows")]
SIDE_STATES = st.one_of(
    st.sampled_from(["absent", "ours", "ours+signature", "folder", "empty", "link-to-input"]),
    st.sampled_from(FOREIGN_HEADERS).map(lambda h: ("text", h + "\n1,2,3,4,5\n")),
    st.binary(max_size=80).filter(lambda b: not b.startswith(b"row,")).map(lambda b: ("bytes", b)),
)


def place_side_file(path: Path, state, src: Path, header: str) -> bool:
    """Puts `state` at `path`; True when it is a file localize may replace (its own, or none)."""
    if state == "absent":
        return True
    if state in ("ours", "ours+signature"):
        path.write_text(header + (",signature" if state == "ours+signature" else "") + "\n", encoding="utf-8")
        return True
    if state == "folder":
        path.mkdir()
    elif state == "empty":
        path.write_bytes(b"")
    elif state == "link-to-input":  # the input under another name: refused as the input
        path.symlink_to(src)
    else:
        kind, content = state
        path.write_bytes(content.encode() if kind == "text" else content)
    return False


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(input_name=st.sampled_from(["shop.report.csv", "shop.errors.csv", "export.csv", "shop.csv.report.csv"]),
       output=st.sampled_from([None, "shop.csv", "shop.tsv", "out/shop.csv", "shop.report.csv"]),
       report_state=SIDE_STATES, errors_state=SIDE_STATES, flagged=st.booleans())
def test_any_side_file_collision_loses_nothing(stub, tmp_path, capfd, input_name, output, report_state,
                                               errors_state, flagged):
    """Generated: the input's name, the output's, and what already lies under
    both side files' names. A side file on the input, or on any existing file
    localize did not write, stops the run before any work (exit 4, one line);
    otherwise the run succeeds. Either way the input and every file localize
    did not write are byte for byte as they were."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    src = root / input_name
    src.write_text(f"Handle,Title\nh1,{LONG_TITLE if flagged else 'Red scarf'}\n", encoding="utf-8")
    out = root / (output or src.with_name(f"{src.stem}.localized{src.suffix}").name)
    if out.resolve() == src.resolve():
        return  # "the output would overwrite the input": refused already, tested in test_cli
    out.parent.mkdir(exist_ok=True)
    stem = out.name[: -len(out.suffix)]
    report, errors = out.with_name(f"{stem}.report.csv"), out.with_name(f"{stem}.errors.csv")
    on_input = src in (report, errors) or "link-to-input" in (report_state, errors_state)
    replaceable = True
    for path, state, header in ((report, report_state, REPORT_HEADER), (errors, errors_state, ERRORS_HEADER)):
        if path != src:
            replaceable &= place_side_file(path, state, src, header)
    before = snapshot(root)
    args = [str(src), "--to", "es", "--backend", "vllm", "--endpoint", stub, "--market", "ebay", "-q"]
    code, err = run_main(args + (["-o", str(out)] if output else []), capfd)
    after = snapshot(root)
    rel = lambda p: str(p.relative_to(root))  # noqa: E731
    assert after[rel(src)] == before[rel(src)]
    if on_input or not replaceable:
        assert code == 4, err
        line = one_error_line(err)
        assert ("overwrite the input" if on_input else "not written by localize") in line
        assert after == before
        return
    assert code == 0, err
    assert after[rel(out)]
    assert (rel(report) in after) == flagged
    assert rel(errors) not in after  # no segment failed: an old errors file of localize's is removed
    untouched = {k: v for k, v in before.items() if k not in (rel(report), rel(errors))}
    assert {k: after[k] for k in untouched} == untouched


# -- output folders: made only once the run can start (issue 20) -----------------

FOLDER_NAME = st.text(st.characters(blacklist_characters="/\x00{}", blacklist_categories=("Cs",)),
                      min_size=1, max_size=8).filter(lambda n: n not in (".", ".."))
FAILURES = {  # what stops the run before its work, and the exit code it ends with
    "missing input": 3, "ragged input": 3, "unknown field": 2, "server down": 5, "unknown locale": 2, "ok": 0,
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(folders=st.lists(FOLDER_NAME, min_size=1, max_size=3), shape=st.sampled_from(["file", "folder", "{locale}"]),
       suffix=st.sampled_from([".csv", ".tsv", ".parquet", ".xlsx"]), failure=st.sampled_from(sorted(FAILURES)))
def test_a_run_that_fails_before_its_work_leaves_no_folder(stub, tmp_path, capfd, folders, shape, suffix, failure):
    """Generated: any output path shape (nested new folders with any name, a
    file, a folder or a {locale} pattern, any format) with a run that fails
    before its work (bad input, unknown field or locale, server down): nothing
    on disk changes. A run that succeeds makes the folders and writes there."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    src = root / "catalog.csv"
    src.write_text("Handle,Title\nh1,Red scarf\n" + ("h2\n" if failure == "ragged input" else ""), encoding="utf-8")
    where = root.joinpath(*folders)
    if shape == "file":
        out, layout, expect = str(where / f"shop{suffix}"), "columns", [where / f"shop{suffix}"]
    elif shape == "folder":
        out, layout, expect = str(where) + "/", "per-locale", [where / "catalog.es.csv"]
    else:
        out, layout, expect = str(where / f"shop.{{locale}}{suffix}"), "per-locale", [where / f"shop.es{suffix}"]
    args = [str(root / "nope.csv") if failure == "missing input" else str(src),
            "--to", "xx-nope" if failure == "unknown locale" else "es",
            "--backend", "vllm", "--endpoint", "http://127.0.0.1:9/v1" if failure == "server down" else stub,
            "-o", out, "--layout", layout, "-q", *(["--fields", "Nope"] if failure == "unknown field" else [])]
    # A folder whose name has a dot reads as a file name: the CLI's Path drops
    # the trailing "/" that would say otherwise (a usage error, also before any work).
    dotted_folder = shape == "folder" and bool(where.suffix)
    before = snapshot(root)
    code, err = run_main(args, capfd)
    assert code == (2 if dotted_folder else FAILURES[failure]), err
    if failure != "ok" or dotted_folder:
        one_error_line(err)
        assert snapshot(root) == before
        return
    assert all(p.is_file() for p in expect), (expect, snapshot(root).keys())


def test_missing_input_does_not_make_the_output_folder(tmp_path, capfd):
    """Issue 20, defect 17: `localize missing.csv -o newdir/x.csv` left newdir/ behind."""
    code, err = run_main([str(tmp_path / "missing.csv"), "--to", "es", "-o", str(tmp_path / "newdir" / "x.csv")], capfd)
    assert code == 3 and "not found" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


# -- error lines: one printable line, whatever a path holds (issue 20) ------------

UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def assert_printable_lines(err: str) -> list[str]:
    assert err.endswith("\n")
    lines = err[:-1].split("\n")
    for line in lines:
        bad = [c for c in line if unicodedata.category(c) in UNPRINTABLE]
        assert not bad, (bad, line)
    return lines


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_printable_line_leaves_nothing_a_terminal_acts_on(text):
    line = printable_line(text)
    assert not [c for c in line if unicodedata.category(c) in UNPRINTABLE]
    assert printable_line(line) == line  # already printable: unchanged
    kept = [c for c in text if unicodedata.category(c) not in UNPRINTABLE]
    assert all(c in line for c in kept)


def test_a_newline_and_escape_in_a_path_stay_on_one_visible_line(tmp_path, capfd):
    """Issue 20, defect 18: a path with a newline split the error; ESC reached the terminal raw."""
    code, err = run_main([str(tmp_path / "bad\nname\x1b[31m.csv"), "--to", "es"], capfd)
    assert code == 3
    assert err == f"localize: error: {tmp_path}/bad\\nname\\x1b[31m.csv: file not found\n"


FILE_NAME_BYTES = st.binary(min_size=1, max_size=16).filter(lambda b: b"/" not in b and b"\x00" not in b
                                                            and b not in (b".", b".."))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=FILE_NAME_BYTES, kind=st.sampled_from(["missing", "ragged", "cp1252 notice"]))
def test_any_byte_in_a_path_gives_printable_lines(stub, tmp_path, capfd, name, kind):
    """Generated: any byte in the input's file name (control characters, ESC,
    bytes that are not UTF-8), for a file that is missing, malformed, or read
    with a notice: stderr is whole lines, none with a character a terminal
    acts on, and an error is exactly one line."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    path = root / (os.fsdecode(name) + ".csv")
    if kind == "ragged":
        path.write_text("Handle,Title\nh1\n", encoding="utf-8")
    elif kind == "cp1252 notice":
        path.write_bytes("Handle,Title\nh1,Camiseta algodón\n".encode("cp1252"))
    quiet = [] if kind == "cp1252 notice" else ["-q"]  # a processed file: progress and summary too
    code, err = run_main([str(path), "--to", "es", "--backend", "vllm", "--endpoint", stub, *quiet,
                          "-o", str(path.with_name(path.stem + ".out.csv"))], capfd)  # named in the summary
    lines = assert_printable_lines(err)
    if kind == "cp1252 notice":
        assert code == 0 and "Windows-1252" in lines[0] and printable_line(str(path)) in lines[0]
        assert all(line.startswith("localize: ") for line in lines), lines
        return
    assert code == 3
    assert lines == [f"localize: error: {printable_line(str(path))}"
                     + (": file not found" if kind == "missing" else ", row 1: " + lines[0].split(", row 1: ")[1])]
