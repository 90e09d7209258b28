"""Excel's limits and how one workbook cell becomes text (shared by the .xlsx
reader and writer)."""

from __future__ import annotations

import datetime as dt

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL = 32_767  # UTF-16 code units, which is what Excel counts


def first_line(err: BaseException) -> str:
    """An exception as one short line for an error message."""
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26 (the inverse of `column_letter`)."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _number(value: float) -> str:
    """A number as Excel's formula bar shows it: integers in full (up to 15
    digits, so 13-14 digit barcodes stored as numbers keep every digit), other
    values with up to 15 significant digits (Excel's own precision), an
    exponent written 1.5E-10."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # also turns -0.0 into "0"
    return f"{value:.15g}".replace("e", "E")


def _duration(value: dt.timedelta) -> str:
    """[h]:mm:ss, as Excel shows a duration."""
    micros = abs(value) // dt.timedelta(microseconds=1)
    seconds, micros = divmod(micros, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{'-' if value < dt.timedelta(0) else ''}{hours}:{minutes:02}:{seconds:02}"
    return text + (f".{micros:06}".rstrip("0") if micros else "")


def cell_text(value) -> str:
    """The text of one calamine cell. A text cell is returned exactly as
    stored; a number cell has no original text, so it is rendered (see
    `_number`); dates as 2024-03-01, date-times as 2024-03-01 12:30:00, times
    as 12:30:00, durations as 30:00:00, booleans as TRUE/FALSE. Empty and
    error cells are ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    return str(value)


def row_text(row: list) -> list[str]:
    return [v if type(v) is str else cell_text(v) for v in row]
