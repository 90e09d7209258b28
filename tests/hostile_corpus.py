"""A corpus of hostile and broken catalogs, written at test time into a folder.

Each `Case` is one file (or a missing file, a folder, an unreadable file)
and what `localize` must do with it: process it (exit 0) or stop with one
error line (exit 3, or 2 for a bad option) naming the row and/or column
where there is one. Nothing binary is committed: every file, the 10 MB cell
and the XLSX bytes included, is generated here, deterministically.

For a processed file the case also says how an independent reader decodes
it (`source_encoding`, `delimiter`): the test counts the input rows and
compares the untouched columns with Python's own csv module on that text,
not with localize's reader.
"""

from __future__ import annotations

import codecs
import io
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HEADER = ["Handle", "Title", "Body (HTML)", "Vendor", "Variant SKU", "Variant Price"]
ROWS = [
    ["tee-01", "Organic cotton tee", "<p>Soft <b>organic</b> cotton.</p>", "Nordvik", "SKU-TEE-01", "19.90"],
    ["mug-02", "Enamel camp mug", "<p>Holds 350 ml.</p>", "Nordvik", "SKU-MUG-02", "12.00"],
    ["cap-03", "Wool beanie", "", "Fjell", "SKU-CAP-03", "24.50"],
]
LOCALIZED = ["Title", "Body (HTML)"]  # the Shopify columns localize detects in HEADER


@dataclass(frozen=True)
class Case:
    name: str                        # file name in the corpus folder
    expect: int                      # exit code: 0 processed, 3 input error, 2 usage error
    data: bytes | None = None        # the file's bytes; None when `make` builds the path
    source_encoding: str = "utf-8"   # how the independent reader decodes it (processed cases)
    delimiter: str = ","
    args: tuple[str, ...] = ()       # extra CLI options
    needles: tuple[str, ...] = ()    # in the error line; for a processed file, on stderr
    make: Callable[[Path], None] | None = None  # builds what `data` cannot (folder, permissions)
    why: str = ""                    # the behaviour chosen, in a few words
    tags: frozenset = field(default_factory=frozenset)  # "pipe": `data` is fed through a named pipe
    out_suffix: str = ""             # output suffix when not the input's (a .parquet or .xlsx read)
    table: list[list[str]] | None = None  # the rows a processed non-text input holds


def csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    """RFC 4180 text, quoting only what needs it (csv.writer leaves a lone CR unquoted)."""
    def cell(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value
    return "".join(delimiter.join(cell(v) for v in row) + newline for row in rows)


def catalog(rows: list[list[str]] | None = None, header: list[str] | None = None, **kw) -> str:
    return csv_text([header or HEADER, *(ROWS if rows is None else rows)], **kw)


def _xlsx_bytes() -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("Products")
    for r, row in enumerate([HEADER, *ROWS]):
        sheet.write_row(r, 0, row)
    book.close()
    return buf.getvalue()


def _stray_far_cell_xlsx() -> bytes:
    # 5 KB whose only sheet spans A1:XFD1048576: a 512 GB grid for the reader
    # (tests/test_hostile_io.py generates this kind: any used range, any sheet).
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("Far")
    sheet.write_row(0, 0, HEADER)
    sheet.write_string(1_048_575, 16_383, "z")
    book.close()
    return buf.getvalue()


def _truncated_parquet() -> bytes:
    data = _parquet_bytes()
    return data[: len(data) // 2]  # the footer (schema, row groups) is gone


def _mkdir(path: Path) -> None:
    path.mkdir()


def _unreadable(path: Path) -> None:
    path.write_text(catalog(), encoding="utf-8")
    path.chmod(0)


def _nothing(path: Path) -> None:
    pass


CJK = {
    "gb18030": [["tee-01", "【新品】男士纯棉短袖T恤，宽松版型", "<p>本产品采用优质面料，手感柔软。</p>"],
                ["mug-02", "不锈钢保温杯 500毫升 黑色", "<p>保温12小时。</p>"]],
    "shift_jis": [["tee-01", "【新品】メンズ 綿100% 半袖Tシャツ", "<p>本製品は高品質の素材を使用しています。</p>"],
                  ["mug-02", "ステンレス 保温ボトル 500ml ブラック", "<p>保温12時間。</p>"]],
    "big5": [["tee-01", "【新品】男士純棉短袖T恤，寬鬆版型", "<p>本產品採用優質面料。</p>"],
             ["mug-02", "不鏽鋼保溫杯 500毫升 黑色", "<p>保溫12小時。</p>"]],
    "euc_kr": [["tee-01", "【신상품】남성 면 반팔 티셔츠", "<p>고품질 소재를 사용했습니다.</p>"],
               ["mug-02", "스테인리스 보온병 500ml 블랙", "<p>12시간 보온.</p>"]],
}
WESTERN = [
    ["tee-01", "Tee-shirt en coton bio, très doux", "<p>Lavable à 30°C, séchage à l’air.</p>", "Nordvik"],
    ["mug-02", "Taza esmaltada, edición única", "<p>Capacidad: 350 ml – ¡ideal!</p>", "Nordvik"],
    ["shoe-03", "Größe 42 Schuhe für Männer", "<p>Weiß, wasserdicht.</p>", "Fjell"],
]
WESTERN_HEADER = ["Handle", "Title", "Body (HTML)", "Vendor"]


def _cjk(codec: str) -> bytes:
    rows = [row + ["Nordvik"] for row in CJK[codec]]
    return catalog(rows, header=WESTERN_HEADER).encode(codec)


def _huge_cell() -> bytes:
    # 10 MB in an untouched column, with what a parser must get right inside quotes.
    unit = 'Line, with "quotes" and a comma\r\n'
    notes = unit * (10 * 1024 * 1024 // len(unit))
    rows = [row + [notes if i == 1 else "short"] for i, row in enumerate(ROWS)]
    return catalog(rows, header=HEADER + ["Internal notes"]).encode()


def _long_line() -> bytes:
    # A 2 MB last record (in a column that is not localized) and no newline at the end of the file.
    head = csv_text([HEADER + ["Spec dump"], ROWS[0] + ["-"]])
    return (head + ",".join(ROWS[1] + ["x=1;" * (2 * 1024 * 1024 // 4)])).encode()


def _wide() -> bytes:
    header = ["Handle", "Title"] + [f"attr_{i:04d}" for i in range(1998)]
    rows = [[f"p-{r}", f"Product {r}"] + [f"v{r}.{i}" for i in range(1998)] for r in range(3)]
    return csv_text([header, *rows]).encode()


def _late_latin1() -> bytes:
    # 3,000 ASCII rows, then one row in Latin-1: the whole file is checked, not just its head.
    rows = [[f"p-{i}", f"Plain title {i}", "", "Acme", f"SKU-{i}", "1.00"] for i in range(3000)]
    rows.append(["p-last", "Camiseta algodón, añil", "<p>Algodón peruano</p>", "Acme", "SKU-L", "1.00"])
    return catalog(rows).encode("latin-1")


def _fifo(path: Path) -> None:
    os.mkfifo(path)  # the test feeds the case's data into it while localize reads


def _link_to(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def _socket(path: Path) -> None:
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # the socket file stays after the socket is closed


def _parquet_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({name: [row[i] for row in ROWS] for i, name in enumerate(HEADER)}), buf)
    return buf.getvalue()


def _non_regular_files() -> list[Case]:
    """Every kind of path that is not a regular file, under every catalog suffix:
    a pipe is read once (its data fed at test time), the rest refused with one line."""
    cases = []
    pipe_data = {".csv": catalog().encode(), ".tsv": catalog(delimiter="\t").encode(),
                 ".parquet": _parquet_bytes(), ".xlsx": _xlsx_bytes()}
    for suffix, data in pipe_data.items():
        binary = suffix in (".parquet", ".xlsx")
        cases += [
            Case(f"pipe{suffix}", 0, data, make=_fifo, tags=frozenset({"pipe"}),
                 delimiter="\t" if suffix == ".tsv" else ",", out_suffix=".csv" if binary else "",
                 table=[HEADER, *ROWS] if binary else None, why="a named pipe: read once, not hung on"),
            Case(f"folder{suffix}", 3, make=_mkdir, needles=("folder",)),
            Case(f"dev_null{suffix}", 3, make=_link_to("/dev/null"), needles=("device",)),
            Case(f"dev_zero{suffix}", 3, make=_link_to("/dev/zero"), needles=("device",),
                 why="an endless device: refused before anything reads it"),
            Case(f"socket{suffix}", 3, make=_socket, needles=("socket",)),
            Case(f"dangling_link{suffix}", 3, make=_link_to("no-such-target"), needles=("not found",)),
        ]
    pipe = dict(make=_fifo, tags=frozenset({"pipe"}))
    cases += [
        Case("pipe_crlf_bom.csv", 0, codecs.BOM_UTF8 + catalog(newline="\r\n").encode(), **pipe),
        Case("pipe_gbk.csv", 0, _cjk("gb18030"), source_encoding="gb18030", needles=("GB18030",), **pipe),
        Case("pipe_empty.csv", 3, b"", needles=("empty",), **pipe),
        Case("pipe_ragged.csv", 3, catalog([ROWS[0], ROWS[1], ROWS[2][:4]]).encode(),
             needles=("row 3", "'Variant SKU'"), **pipe),
        Case("pipe_unterminated_quote.csv", 3,
             (catalog([ROWS[0]]) + 'mug-02,Mug,"<p>never closed,Nordvik,SKU,1\n').encode(),
             needles=("row 2", "'Body (HTML)'", "never closed"), **pipe),
    ]
    return cases


def _written(make_bytes: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(make_bytes())  # built when the corpus is written, not at import


def _cell_of(length: int, quoted: bool, unit: str = "x") -> Callable[[], bytes]:
    """A catalog whose second row has a `length`-character cell in an untouched column."""
    def build() -> bytes:
        text = (unit * (length // len(unit) + 1))[:length]
        cell = '"' + text.replace('"', '""') + '"' if quoted else text
        head = csv_text([HEADER + ["Internal notes"], ROWS[0] + ["short"]])
        return (head + ",".join(ROWS[1]) + "," + cell + "\n" + csv_text([ROWS[2] + ["short"]])).encode()
    return build


def _cells_around_the_limit() -> list[Case]:
    """Cells of FIELD_LIMIT characters are read; one more is refused with its own
    message (not as an unclosed quote), and a stray quote is still one."""
    from localize.io.csv_format import FIELD_LIMIT

    big, over = ("row 2", "'Internal notes'", f"{FIELD_LIMIT:,} characters"), FIELD_LIMIT + 1
    cases = []
    for quoted in (True, False):
        kind = "quoted" if quoted else "unquoted"
        cases += [
            Case(f"cell_at_limit_{kind}.csv", 0, make=_written(_cell_of(FIELD_LIMIT, quoted))),
            Case(f"cell_over_limit_{kind}.csv", 3, make=_written(_cell_of(over, quoted)), needles=big),
        ]
    stray = lambda: _cell_of(over, True)().replace(b'x"\n', b"x\n", 1)  # noqa: E731 -- the closing quote gone
    cases += [
        # doubled quotes count once: 2 * FIELD_LIMIT bytes between the quotes, FIELD_LIMIT characters of content
        Case("cell_at_limit_doubled_quotes.csv", 0, make=_written(_cell_of(FIELD_LIMIT, True, unit='"'))),
        Case("cell_over_limit_doubled_quotes.csv", 3, make=_written(_cell_of(over, True, unit='a"')), needles=big),
        Case("cell_over_limit_stray_quote.csv", 3, make=_written(stray), needles=("row 2", "never closed")),
        Case("header_over_limit.csv", 3,
             make=_written(lambda: ('Handle,"' + "h" * over + '"\nh1,x\n').encode()),
             needles=("header name 2", f"{FIELD_LIMIT:,} characters")),
    ]
    return cases


def _garbage() -> bytes:
    return random.Random(6).randbytes(8192)


CASES: list[Case] = [
    # -- processed ---------------------------------------------------------------
    Case("baseline.csv", 0, catalog().encode(), why="a clean Shopify export: the control"),
    Case("gbk.csv", 0, _cjk("gb18030"), source_encoding="gb18030", needles=("GB18030",),
         why="GBK detected, announced, output UTF-8"),
    Case("shift_jis.csv", 0, _cjk("shift_jis"), source_encoding="shift_jis", needles=("Shift-JIS",)),
    Case("big5.csv", 0, _cjk("big5"), source_encoding="big5", needles=("Big5",)),
    Case("euc_kr.csv", 0, _cjk("euc_kr"), source_encoding="euc_kr", needles=("EUC-KR",)),
    Case("cp1252.csv", 0, catalog(WESTERN, header=WESTERN_HEADER).encode("cp1252"), source_encoding="cp1252",
         needles=("Windows-1252", "--encoding")),
    Case("cp1252_smart_quotes.csv", 0,
         catalog([["q-1", "“Premium” tee – 100% cotton…", "<p>It’s “the” one — €20</p>", "Acme"]],
                 header=WESTERN_HEADER).encode("cp1252"),
         source_encoding="cp1252", needles=("Windows-1252",)),
    Case("latin1_override.csv", 0,
         catalog([["p-1", "Camiseta algodón", "<p>Ñandú ±5°</p>", "Acme"]], header=WESTERN_HEADER).encode("latin-1"),
         source_encoding="latin-1", args=("--encoding", "latin-1"), why="--encoding skips detection"),
    Case("latin1_late.csv", 0, _late_latin1(), source_encoding="cp1252", needles=("Windows-1252",)),
    Case("excel_eu.csv", 0,
         catalog(WESTERN, header=WESTERN_HEADER, delimiter=";", newline="\r\n").encode("cp1252"),
         source_encoding="cp1252", delimiter=";", needles=("Windows-1252", "';'"),
         why="what Excel saves as CSV in France or Germany: cp1252, ';', CRLF"),
    Case("utf8_bom.csv", 0, codecs.BOM_UTF8 + catalog().encode(), why="BOM stripped from 'Handle', kept on output"),
    Case("utf16_bom.tsv", 0, catalog(WESTERN, header=WESTERN_HEADER, delimiter="\t", newline="\r\n").encode("utf-16"),
         source_encoding="utf-16", delimiter="\t", needles=("UTF-16",),
         why="Excel's 'Unicode Text': UTF-16 LE with a BOM, tab-separated"),
    Case("utf16le_no_bom.csv", 0, catalog().encode("utf-16-le"), source_encoding="utf-16-le", needles=("UTF-16",)),
    Case("nul_bytes.csv", 0,
         catalog([["n-1", "Tee\x00shirt", "<p>a\x00b</p>", "Ven\x00dor", "SKU\x00", "1.00"], *ROWS]).encode(),
         why="NUL is a character like any other: carried through"),
    Case("huge_cell.csv", 0, _huge_cell(), why="a 10 MB cell (limit 16 MB) in a column that is not localized"),
    Case("empty_titles.csv", 0,
         catalog([["e-1", "", "", "Acme", "S1", "1"], ["e-2", "  ", "<p></p>", "Acme", "S2", "1"], *ROWS]).encode()),
    Case("header_only.csv", 0, catalog(rows=[]).encode(), why="0 rows in, 0 rows out"),
    Case("duplicate_skus.csv", 0, catalog([ROWS[0], ROWS[0], ROWS[1], [*ROWS[1][:4], "SKU-TEE-01", "9"]]).encode()),
    Case("broken_html.csv", 0, catalog([
        ["h-1", "Broken", "<p>Unclosed <b>bold<p>next", "Acme", "S1", "1"],
        ["h-2", "Stray", "text</div></div><p>ok</p>", "Acme", "S2", "1"],
        ["h-3", "Comment", "<p>a</p><!-- never closed <b>x</b>", "Acme", "S3", "1"],
        ["h-4", "Angles", "<<p>> 5 < 6 &nbsp &amp; <img src=x onerror=alert(1)>", "Acme", "S4", "1"],
    ]).encode(), why="processed; broken markup is reported, not fatal"),
    Case("formula_cells.csv", 0, catalog([
        ["=HYPERLINK(\"http://x\")", "=SUM(A1:A9)", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "=1"],
        ["f-2", "-50% sale", "<p>=not a formula</p>", "\tTabbed", "+44 20 7946 0000", "-1"],
    ]).encode(), why="the seller's cells stay as they are in CSV; generated ones are neutralized"),
    Case("formula_like_copied.csv", 0, catalog([
        ["c-1", "-20", "+44 20 7946 0000", "Acme", "S1", "1"],
        ["c-2", "=1+2", "@1", "Acme", "S2", "1"],
        ["c-3", "\uff0d5", "-", "Acme", "S3", "1"],
    ]).encode(), why="cells that read the same in every language are copied, never prefixed with '"),
    Case("bidi_zero_width.csv", 0, catalog([
        ["b-1", "Tee \u202eeert\u202c ok", "<p>zero\u200bwidth\u200djoiner\u2060</p>", "Ac\u200bme", "S\u202e1", "1"],
        ["b-2", "\u2066isolate\u2069 \ufeffmid-BOM", "<p>\u200f\u200erl marks</p>", "Acme", "S2", "1"],
    ]).encode(), why="invisible and bidi controls survive byte for byte"),
    Case("emoji_astral.csv", 0, catalog([["e-1", "Cap 🧢 with 👍🏽 and 𝒜", "<p>🇫🇷 édition</p>", "Acme", "S", "1"]]).encode()),
    Case("crlf.csv", 0, catalog(newline="\r\n").encode()),
    Case("cr_only.csv", 0, catalog(newline="\r").encode(), why="old Mac line ends: read, written as LF"),
    Case("mixed_line_endings.csv", 0,
         (csv_text([HEADER]) + csv_text([ROWS[0]], newline="\r\n") + csv_text([ROWS[1]], newline="\r")
          + csv_text([ROWS[2]])).encode()),
    Case("quoted_newlines.csv", 0, catalog([
        ["q-1", "Two\nlines", "<p>a\r\nb</p>\n<p>c</p>", "Ac\rme", "S1", "1"],
        ["q-2", 'Say "hi", twice', '<p class="x">12" pan</p>', "Acme", "S2", "1"],
    ]).encode()),
    Case("blank_lines.csv", 0, (catalog() + "\n\n").replace(ROWS[0][0] + ",", "\n" + ROWS[0][0] + ",", 1).encode(),
         why="blank lines hold no row: skipped, still counted in row numbers"),
    Case("literal_quote_unquoted.csv", 0, b'Handle,Title,Vendor\nk-1,12" skillet,Acme\nk-2,3" nails,Acme\n'),
    Case("one_unnamed_column.csv", 0, catalog([r + [""] for r in ROWS], header=HEADER + [""]).encode(),
         why="a trailing delimiter on every line: one unnamed column, kept"),
    Case("wide_2000_columns.csv", 0, _wide()),
    Case("semicolon.csv", 0, catalog(delimiter=";").encode(), delimiter=";", needles=("';'",)),
    Case("catalog.tsv", 0, catalog(delimiter="\t").encode(), delimiter="\t"),
    Case("tabs_in_csv.csv", 0, catalog(delimiter="\t").encode(), delimiter="\t", needles=("tab",)),
    Case("long_line_no_newline.csv", 0, _long_line(), why="a 2 MB last line without a newline"),

    # -- refused with one line -----------------------------------------------------
    Case("ragged_short.csv", 3, catalog([ROWS[0], ROWS[1], ROWS[2][:4]]).encode(),
         needles=("row 3", "'Variant SKU'")),
    Case("ragged_long.csv", 3, catalog([ROWS[0], ROWS[1] + ["extra"], ROWS[2]]).encode(),
         needles=("row 2", "'Variant Price'")),
    Case("unterminated_quote.csv", 3,
         (catalog([ROWS[0]]) + 'mug-02,Mug,"<p>never closed,Nordvik,SKU,1\n' + csv_text([ROWS[2]])).encode(),
         needles=("row 2", "'Body (HTML)'", "never closed")),
    Case("unterminated_quote_in_header.csv", 3, b'Handle,"Title,Vendor\nh,t,v\n', needles=("header", "never closed")),
    Case("text_after_quote.csv", 3, b'Handle,Title\nh-1,"Tee" shirt\n', needles=("row 1", '""')),
    Case("empty.csv", 3, b"", needles=("empty",)),
    Case("bom_only.csv", 3, codecs.BOM_UTF8, needles=("empty",)),
    Case("blank_first_line.csv", 3, b"\n" + catalog().encode(), needles=("blank", "header")),
    Case("duplicate_columns.csv", 3, catalog(header=HEADER[:5] + ["Title"]).encode(), needles=("duplicate", "'Title'")),
    Case("several_unnamed_columns.csv", 3, catalog([r + ["", ""] for r in ROWS], header=HEADER + ["", ""]).encode(),
         needles=("columns 7, 8", "no name")),
    Case("xlsx_named_csv.csv", 3, _xlsx_bytes(), needles=("rename it to .xlsx",)),
    Case("truncated.parquet", 3, _truncated_parquet(), needles=("Parquet", "truncated")),
    Case("stray_far_cell.xlsx", 3, _stray_far_cell_xlsx(), needles=("sheet 'Far'", "A1:XFD1048576", "Ctrl+End"),
         why="measured before loading: the reader would abort asking for 512 GB"),
    Case("garbage.csv", 3, _garbage(), needles=("not a text file",)),
    Case("zero_filled.csv", 3, bytes(4096), needles=("not a text file",)),
    Case("no_text_columns_huge_line.csv", 3, ("lorem ipsum " * 250_000).encode(), needles=("--fields",),
         why="3 MB on one line, no newline: a one-column header nobody can localize"),
    Case("comma_flood.csv", 3, b"a," * 1_000_000, needles=("duplicate", "'a'"),
         why="a 2 MB header of a million columns: refused at once, not after a quadratic check"),
    Case("missing.csv", 3, make=_nothing, needles=("not found",)),
    Case("unreadable.csv", 3, make=_unreadable, needles=("permission denied",), tags=frozenset({"needs_non_root"})),
    Case("wrong_encoding_given.csv", 3, _cjk("gb18030"), args=("--encoding", "utf-8"),
         needles=("row 1", "'Title'", "--encoding")),
    Case("mixed_encodings.csv", 3,
         catalog([ROWS[0], ["p-2", "Café crème", *ROWS[1][2:]]]).encode()
         + csv_text([["p-3", "Thé glacé", *ROWS[2][2:]]]).encode("cp1252"),
         needles=("row 3", "'Title'", "mixes encodings")),
    Case("unknown_encoding_name.csv", 2, catalog().encode(), args=("--encoding", "klingon"), needles=("'klingon'",)),
    # Codecs Python knows that a user can name but that cannot read this file, or any file.
    Case("utf16_named_no_bom.csv", 3, catalog().encode(), args=("--encoding", "utf-16"),
         needles=("byte-order mark", "utf-16-le"), why="UTF-16 without a BOM: the byte order must be named"),
    Case("utf32_named_no_bom.csv", 3, catalog().encode(), args=("--encoding", "utf-32"),
         needles=("byte-order mark", "utf-32-le")),
    Case("idna_named.csv", 2, catalog().encode(), args=("--encoding", "idna"), needles=("'idna'", "not an encoding")),
    Case("punycode_named.csv", 2, catalog().encode(), args=("--encoding", "punycode"), needles=("'punycode'",)),
    Case("undefined_named.csv", 2, catalog().encode(), args=("--encoding", "undefined"), needles=("'undefined'",)),
    Case("encoding_for_parquet.parquet", 2, None, make=lambda p: _write_parquet(p),
         args=("--encoding", "cp1252"), needles=("CSV and TSV",)),
    *_non_regular_files(),
    *_cells_around_the_limit(),
]


def _write_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({name: [row[i] for row in ROWS] for i, name in enumerate(HEADER)}), path)


def write_corpus(folder: Path) -> dict[str, Path]:
    """Writes every case into `folder`; returns {case name: path}."""
    paths = {}
    for case in CASES:
        path = folder / case.name
        if case.make is not None:
            case.make(path)
        else:
            path.write_bytes(case.data)
        paths[case.name] = path
    return paths


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def codec_names() -> list[str]:
    """Every codec name Python knows: its aliases, their targets and the
    modules of the `encodings` package (base64, idna, undefined, ... included)."""
    import encodings
    import encodings.aliases
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    return sorted(set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values()) | modules)


_ACCENTED = catalog([["t-1", "Tee, organic \\x41 +cotton", '<p>12" pan</p>', "Café crème ±5°", "S", "1"]])
ENCODING_PROBES: dict[str, bytes] = {  # files any --encoding may be pointed at
    "ascii.csv": catalog().encode(),
    "utf8_accented.csv": _ACCENTED.encode(),
    "utf8_bom.csv": codecs.BOM_UTF8 + _ACCENTED.encode(),
    "utf16le_no_bom.csv": _ACCENTED.encode("utf-16-le"),
    "utf16_bom.csv": _ACCENTED.encode("utf-16"),
    "latin1.csv": _ACCENTED.encode("latin-1"),
    "random_bytes.csv": random.Random(3).randbytes(600),
}
