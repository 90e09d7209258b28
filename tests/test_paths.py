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
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localize.errors import UsageError
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
