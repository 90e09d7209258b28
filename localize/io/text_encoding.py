"""Which text encoding a CSV/TSV catalog is in.

UTF-8 is the default and is never guessed: the whole file is checked (an
incremental decoder, ~475 MB/s measured on accented text, next to ~80 MB/s
for the CSV parse that follows), so a Latin-1 `é` in row 80,000 of an
otherwise ASCII file is not missed. A byte-order mark settles it too (UTF-8, UTF-16, UTF-32). Only a file
that is not UTF-8 is guessed, from its first 64 KB plus the lines around its
first byte that is not UTF-8, among the encodings spreadsheets and shop
back-ends save (Windows code pages, GB18030, Shift-JIS, Big5, EUC-KR):

  * charset-normalizer proposes one;
  * the CJK encodings share byte ranges and on a catalog's short texts the
    detector mixes them up (GBK read as EUC-KR, Big5 as Thai), so among them
    the one whose decoding is in its language's script wins (Han; Han and
    kana; Hangul);
  * the Latin code pages (Windows-1250/1252/1254/1257) map most bytes to
    letters and nothing tells them apart on short texts (measured: the
    detector picked the wrong one for 22 of 54 titles), so Windows-1252,
    the Western European one Excel writes, is chosen unless it leaves a
    byte undefined. Polish, Czech, Turkish or Baltic files need --encoding;
    the notice says so.

`--encoding` skips all of this. Either way the reader names the row and the
column of a cell that does not decode, and every guess is announced.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from pathlib import Path

from localize.errors import InputError, UsageError

HEAD_BYTES = 1 << 16
_CHUNK = 1 << 20

# Longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)

# What a catalog that is not UTF-8 can plausibly be in. Leaving out DOS and
# Mac code pages keeps the detector from picking them on a close call.
_CANDIDATES = [
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "cp874", "koi8_r", "gb18030", "big5", "cp932", "euc_jp", "cp949", "utf_16_le", "utf_16_be",
]
_LATIN_CODE_PAGES = {"cp1250", "cp1252", "cp1254", "cp1257", "cp1258"}

_LABELS = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE", "utf-32": "UTF-32",
    "cp1252": "Windows-1252 (Western European)", "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)", "cp1253": "Windows-1253 (Greek)",
    "cp1254": "Windows-1254 (Turkish)", "cp1255": "Windows-1255 (Hebrew)",
    "cp1256": "Windows-1256 (Arabic)", "cp1257": "Windows-1257 (Baltic)",
    "cp1258": "Windows-1258 (Vietnamese)", "cp874": "Windows-874 (Thai)", "koi8-r": "KOI8-R (Cyrillic)",
    "gb18030": "GB18030 (Chinese, GBK)", "big5": "Big5 (Traditional Chinese)",
    "cp932": "Shift-JIS (Windows-31J)", "euc_jp": "EUC-JP", "cp949": "EUC-KR (Windows-949)",
    "iso8859-1": "Latin-1 (ISO-8859-1)",
}

# Files that are not text at all, saved or renamed with a .csv/.tsv name.
_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive, most likely an Excel workbook: if it is one, rename it to .xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Excel 97-2003 (.xls) file: save it as .xlsx or CSV UTF-8"),
    (b"PAR1", "a Parquet file: rename it to .parquet"),
    (b"\x1f\x8b", "gzip-compressed: decompress it first"),
)

_NOT_TEXT = "this is not a text file (it holds binary data); a catalog must be CSV/TSV text, Parquet or .xlsx"

# Marks a byte that does not decode, so the reader can find the cell it is in.
# A lone surrogate never comes out of a strict decoder, so it cannot clash with text.
UNDECODABLE = "\ud800"
codecs.register_error("localize-mark", lambda err: (UNDECODABLE, err.end))


@dataclass(frozen=True)
class TextEncoding:
    codec: str            # what the file is opened with (utf-8-sig and utf-16 consume the BOM)
    bom: bool = False     # the file starts with a byte-order mark
    given: bool = False   # named with --encoding
    detected: bool = False  # guessed: the file is not UTF-8 and has no BOM
    mixed: bool = False   # not UTF-8, although the text before its first bad byte is non-ASCII UTF-8

    @property
    def label(self) -> str:
        return label(self.codec)

    def notice(self, path: Path) -> str | None:
        """The one line a guessed encoding is announced with; None when nothing was guessed."""
        if self.detected:
            hint = (" (Central European: cp1250, Turkish: cp1254, Baltic: cp1257)"
                    if self.codec == "cp1252" else "")
            return (f"{path}: not UTF-8; read as {self.label}, the encoding detected. The output is "
                    f"UTF-8; if its text looks wrong, name the encoding with --encoding{hint}")
        if self.bom and not self.given and not self.codec.startswith("utf-8"):
            return f"{path}: read as {self.label}, as its byte-order mark says; the output is UTF-8"
        return None


def label(codec: str) -> str:
    name = _canonical(codec)
    return _LABELS.get(name, name)


_COMMON = "e.g. utf-8, cp1252, latin-1, gb18030, shift_jis, big5, euc-kr, utf-16"
# What a file's text is checked against: a header, a quoted comma, line ends.
_PROBE = 'Handle,Title\r\nh-1,"Red, scarf"\n'


def check_encoding_name(name: str) -> str:
    """A codec Python knows that can read a text file, or a UsageError."""
    try:
        codecs.lookup(name)
        io.TextIOWrapper(io.BytesIO(), encoding=name)  # refuses base64, rot13 and the like
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise UsageError(f"unknown text encoding {name[:40]!r} for --encoding; {_COMMON}") from None
    if not _reads_text_files(name):
        raise UsageError(f"{name[:40]!r} is not an encoding a text file is saved in (it encodes "
                         f"something else, such as a domain name); name the file's encoding, {_COMMON}")
    return name


def _reads_text_files(codec: str) -> bool:
    """Whether `codec` reads back a CSV line it wrote, fed a byte at a time as a
    file is, with each error handler the reader uses. Refuses the codecs that
    are not for files (idna and punycode: domain names; undefined: nothing)."""
    try:
        data = _PROBE.encode(codec)
        for errors in ("strict", "replace", "localize-mark"):
            decoder = codecs.getincrementaldecoder(codec)(errors)
            text = "".join(decoder.decode(data[i : i + 1]) for i in range(len(data)))
            if (text + decoder.decode(b"", final=True)).removeprefix("\ufeff") != _PROBE:
                return False
    except (UnicodeError, LookupError, TypeError, ValueError):
        return False
    return True


def _check_decodable(path: Path, head: bytes, enc: TextEncoding) -> TextEncoding:
    """The named encoding must at least start reading the file: utf-16 and
    utf-32 without a byte-order mark, for one, refuse any file outright.
    Bytes that do not decode are not checked here; the reader names their row."""
    try:
        codecs.getincrementaldecoder(enc.codec)("replace").decode(head, final=False)
    except UnicodeError as exc:
        name = _canonical(enc.codec)
        if name in ("utf-16", "utf-32") and not enc.bom:
            why = f"it has no byte-order mark; name the byte order: --encoding {name}-le or {name}-be"
        else:
            why = f"{_reason(exc)}; name the file's encoding, or leave --encoding out to detect it"
        raise InputError(path, f"cannot be read as {enc.label}, the encoding named with --encoding: {why}") from None
    return enc


def _reason(exc: Exception) -> str:
    return str(exc)[:200] or type(exc).__name__


def resolve(path: Path, head: bytes, given: str | None) -> TextEncoding:
    """The encoding to read `path` with; `head` is its first HEAD_BYTES bytes."""
    bom = next((codec for mark, codec in _BOMS if head.startswith(mark)), None)
    if given is not None:
        given = check_encoding_name(given)
        if bom and _canonical(bom).split("-")[:2] == _canonical(given).split("-")[:2]:
            return TextEncoding(bom, bom=True, given=True)  # the same UTF: let the codec drop the mark
        return _check_decodable(path, head, TextEncoding(given, bom=bom is not None, given=True))
    if bom:
        return TextEncoding(bom, bom=True)
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise InputError(path, f"this is not a text file but {what}")
    utf16 = _utf16_without_bom(head)
    if utf16:
        return TextEncoding(utf16, detected=True)
    if len(head) >= 512 and head.count(0) > 0.3 * len(head):  # valid UTF-8, but a zero-filled or binary file
        raise InputError(path, _NOT_TEXT)
    bad_at, non_ascii_before = _first_invalid_utf8(path)
    if bad_at is None:
        return TextEncoding("utf-8")
    if non_ascii_before:
        # Part UTF-8, part something else: no single encoding reads it right,
        # so read it as UTF-8 and let the reader name the first cell that is not.
        return TextEncoding("utf-8", mixed=True)
    return TextEncoding(_guess(path, _sample(path, head, bad_at)), detected=True)


def _canonical(codec: str) -> str:
    try:
        return codecs.lookup(codec).name
    except LookupError:
        return codec


def _first_invalid_utf8(path: Path) -> tuple[int | None, bool]:
    """(offset of the first byte that is not UTF-8 or None, whether valid
    non-ASCII UTF-8 came before it)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, non_ascii = 0, False
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                start = err.start - pending
                return offset + start, non_ascii or not chunk[: max(start, 0)].isascii()
            if not chunk:
                return None, non_ascii
            non_ascii = non_ascii or not chunk.isascii()
            offset += len(chunk)


def _utf16_without_bom(head: bytes) -> str | None:
    """Mostly-ASCII UTF-16 is every other byte NUL, which is valid UTF-8 too."""
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    for nuls, other, codec in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if nuls.count(0) >= 0.9 * len(nuls) and other.count(0) <= 0.1 * len(other):
            return codec
    return None


def _sample(path: Path, head: bytes, bad_at: int) -> bytes:
    """The head, plus the lines around the first byte that is not UTF-8 when
    it lies beyond the head. Only whole lines: a multi-byte character cut in
    half would count against the right encoding."""
    sample = _whole_lines(head, cut_start=False, cut_end=len(head) == HEAD_BYTES)
    if bad_at >= len(sample):
        with open(path, "rb") as f:
            f.seek(max(bad_at - 4096, 0))
            window = f.read(HEAD_BYTES // 2)
        sample += b"\n" + _whole_lines(window, cut_start=True, cut_end=len(window) == HEAD_BYTES // 2)
    return sample


def _whole_lines(data: bytes, *, cut_start: bool, cut_end: bool) -> bytes:
    if cut_start and b"\n" in data[:-1]:
        data = data[data.index(b"\n") + 1 :]
    if cut_end and data.rfind(b"\n") > 0:
        data = data[: data.rfind(b"\n") + 1]
    return data


def _guess(path: Path, sample: bytes) -> str:
    from charset_normalizer import from_bytes  # only needed for files that are not UTF-8

    controls = sum(1 for b in sample if b < 0x20 and b not in b"\t\n\r\f")
    if controls > 0.05 * len(sample):
        raise InputError(path, _NOT_TEXT)
    best = from_bytes(sample, cp_isolation=_CANDIDATES).best()
    codec = _canonical(best.encoding) if best else None
    if codec in (None, "cp874", *_CJK, *_LATIN_CODE_PAGES) and not _latin_shaped(sample):
        # The CJK encodings share byte ranges, and on a short catalog the
        # detector mixes them up (GBK read as EUC-KR, Big5 as Thai or
        # Windows-1252). The right one decodes to the script its language
        # is written in.
        fits = {c: _script_fit(sample, c) for c in _CJK}
        top = max(fits, key=lambda c: (fits[c], c == codec))
        if fits[top] >= 0.8:
            codec = top
    if codec is None:
        raise InputError(path, "the file is not UTF-8 and its encoding cannot be recognized; "
                         "name it with --encoding (e.g. --encoding cp1252), or re-save the file as UTF-8")
    if codec in _LATIN_CODE_PAGES and codec != "cp1252":
        # Latin code pages map most bytes to letters, and no detector tells
        # them apart on a catalog's short texts: prefer the Western European
        # one unless it leaves a byte undefined.
        try:
            sample.decode("cp1252")
            codec = "cp1252"
        except UnicodeDecodeError:
            pass
    return codec


def _latin_shaped(sample: bytes) -> bool:
    """Most bytes >= 0x80 are short runs inside Latin words, as accented
    letters are ("bawe\xb3niana", "\xbf\xf3\xb3ta"); CJK text comes in longer
    runs, two bytes a character, and other alphabets in whole words."""
    runs = list(re.finditer(rb"[\x80-\xff]+", sample))
    in_words = sum(run.end() - run.start() for run in runs if run.end() - run.start() <= 3 and (
        sample[run.start() - 1 : run.start()].isalpha() or sample[run.end() : run.end() + 1].isalpha()))
    return in_words >= 0.5 * sum(run.end() - run.start() for run in runs)


_CJK = ("gb18030", "big5", "cp932", "euc_jp", "cp949")


def _script_fit(sample: bytes, codec: str) -> float:
    """The share of non-ASCII characters that belong to the script(s) of
    `codec`'s language: Han for Chinese; Han and kana for Japanese; Hangul
    for Korean (Korean product text hardly uses Han). 0 if it does not decode."""
    try:
        text = sample.decode(codec)
    except UnicodeDecodeError:
        return 0.0
    wide = [ord(c) for c in text if ord(c) > 0x7F]
    if not wide:
        return 0.0

    def fits(o: int) -> bool:
        if 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E:  # CJK punctuation, full-width forms
            return True
        if codec == "cp949":
            return 0xAC00 <= o <= 0xD7A3
        han = 0x4E00 <= o <= 0x9FFF
        return han or (codec in ("cp932", "euc_jp") and 0x3040 <= o <= 0x30FF)

    return sum(map(fits, wide)) / len(wide)
