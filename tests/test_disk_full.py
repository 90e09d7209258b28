"""A full disk, a failing device or a refused file: one line, exit 4, nothing left behind (issue 20).

Every file a run writes goes through `tempfile.mkstemp`: the output's temp
file and the report's and errors file's (localize.io.stale_temps.make_temp),
and xlsxwriter's temp files while it builds a workbook. The tests replace
mkstemp for one of them, either by a link to /dev/full, where every write
fails with a real ENOSPC from the kernel, or by an OSError with the errno a
full, read-only, quota-bound or failing disk gives at creation. The engine is
a fake that answers at once and makes the report and errors files non-empty.
Running as root, a read-only folder is no test, hence the injection.
"""

from __future__ import annotations

import errno
import gc
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from localize.backends.base import Backend, Generation
from localize.cli.app import main

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full") or os.name != "posix", reason="needs /dev/full")

ERRNOS = [errno.ENOSPC, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG]
MODES = ["/dev/full"] + [errno.errorcode[e] for e in ERRNOS]
TARGETS = {  # which temp file fails, recognized by its name
    "output": lambda name, suffix: Path(name).name.startswith(f".out{suffix}."),
    "report": lambda name, suffix: Path(name).name.startswith(".out.report.csv."),
    "errors": lambda name, suffix: Path(name).name.startswith(".out.errors.csv."),
    "xlsx temp": lambda name, suffix: Path(name).parent.name.startswith("localize-xlsx-"),
}
CASES = [(target, suffix, mode) for target in TARGETS for suffix in (".csv", ".tsv", ".parquet", ".xlsx")
         for mode in MODES if target != "xlsx temp" or suffix == ".xlsx"]
CATALOG = "Handle,Title\nh1,Red scarf\nh2,Blue FLAG hat\nh3,Green FAIL cap\n"


class FlaggingEngine(Backend):
    """`[es] <source>`; a link for a FLAG source (withheld: a report row); no answer for FAIL (errors file)."""

    name = "flagging"

    def generate(self, requests, on_result=None):
        out = []
        for i, req in enumerate(requests):
            source = req.messages[-1]["content"].split("<<<", 1)[1].split(">>>", 1)[0].strip()
            if "FAIL" in source:
                gen = Generation(text=None, error="fake engine failure")
            elif "FLAG" in source:
                gen = Generation(text=f"{source} https://evil.example/buy")
            else:
                gen = Generation(text=f"[es] {source}")
            if on_result:
                on_result(i, gen)
            out.append(gen)
        return out


def failing_mkstemp(hits, mode: str):
    real = tempfile.mkstemp

    def mkstemp(suffix=None, prefix=None, dir=None, text=False):
        fd, name = real(suffix, prefix, dir, text)
        if not hits(name):
            return fd, name
        os.close(fd)
        os.unlink(name)
        if mode != "/dev/full":
            code = getattr(errno, mode)
            raise OSError(code, os.strerror(code), name)
        os.symlink("/dev/full", name)  # every write to it fails with ENOSPC, as on a full disk
        return os.open(name, os.O_WRONLY), name

    return mkstemp


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    tmp = tmp_path / "TMPDIR"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # where xlsxwriter's temp files go
    return tmp


@pytest.mark.parametrize(("target", "suffix", "mode"), CASES, ids=["-".join(c) for c in CASES])
def test_a_write_that_fails_is_one_line_and_leaves_nothing(target, suffix, mode, tmp_path, private_tmp,
                                                          monkeypatch, capfd):
    """Generated: every file a run writes (output in each format, report,
    errors file, xlsxwriter's temps) x a real ENOSPC on every write, or each
    errno a disk gives at creation: exit 4 and one error line naming the
    reason, no traceback and no `Exception ignored` noise, no temp file and
    no output left, the input as it was."""
    src = tmp_path / "shop.csv"
    src.write_text(CATALOG, encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setattr("localize.pipeline.run.create_backend", lambda *a, **kw: FlaggingEngine())
    monkeypatch.setattr(tempfile, "mkstemp", failing_mkstemp(lambda name: TARGETS[target](name, suffix), mode))
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    try:
        main([str(src), "--to", "es", "--backend", "vllm", "-o", str(out_dir / f"out{suffix}"), "--no-cache", "-q"])
    except SystemExit as exc:
        code = exc.code
    gc.collect()  # a zip left open by a failed write would complain now, from its __del__
    err = capfd.readouterr().err
    assert code == 4, err
    assert err.startswith("localize: error: ") and err.count("\n") == 1, err
    reason = "No space left on device" if mode == "/dev/full" else os.strerror(getattr(errno, mode))
    said = {reason.lower(), "permission denied"} if mode in ("EPERM", "EACCES") else {reason.lower()}
    assert any(r in err.lower() for r in said), err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert unraisable == []
    assert list(out_dir.iterdir()) == []  # no output, no temp file, no link left
    assert list(private_tmp.iterdir()) == []
    assert src.read_text(encoding="utf-8") == CATALOG


def test_every_target_is_written_when_the_disk_is_fine(tmp_path, private_tmp, monkeypatch, capfd):
    """The control: with the same engine and catalog, a run writes all three
    files, so each case above really failed the file it names."""
    src = tmp_path / "shop.csv"
    src.write_text(CATALOG, encoding="utf-8")
    monkeypatch.setattr("localize.pipeline.run.create_backend", lambda *a, **kw: FlaggingEngine())
    with pytest.raises(SystemExit) as info:
        main([str(src), "--to", "es", "--backend", "vllm", "-o", str(tmp_path / "out.xlsx"), "--no-cache", "-q"])
    assert info.value.code == 0, capfd.readouterr().err
    assert {p.name for p in tmp_path.iterdir()} >= {"out.xlsx", "out.report.csv", "out.errors.csv"}
    assert list(private_tmp.iterdir()) == []


SCRIPT = """
import os, sys, tempfile
real = tempfile.mkstemp
def mkstemp(suffix=None, prefix=None, dir=None, text=False):
    fd, name = real(suffix, prefix, dir, text)
    if os.path.basename(name).startswith(sys.argv[1]):
        os.close(fd); os.unlink(name); os.symlink("/dev/full", name)
        fd = os.open(name, os.O_WRONLY)
    return fd, name
tempfile.mkstemp = mkstemp
from localize.cli.app import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("prefix", [".out.xlsx.", ".out.report.csv."])
def test_a_full_disk_in_a_real_process_prints_one_line(prefix, tmp_path):
    """The noise came at interpreter exit (`Exception ignored in ZipFile.__del__`),
    so the same through a separate process, against the stub server."""
    from localize.testing.stub_server import running_stub_server

    src = tmp_path / "shop.csv"
    src.write_text("Handle,Title\nh1," + "Long title " * 8 + "word\n", encoding="utf-8")  # flagged too_long
    with running_stub_server() as url:
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, prefix, str(src), "--to", "es", "--backend", "vllm", "--endpoint", url,
             "--market", "ebay", "-o", str(tmp_path / "out.xlsx"), "--no-cache", "-q"],
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "No space left on device" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.csv"]
