"""Raw-text diffs of a catalog and its CSV/TSV output, independent of localize's reader.

Records are found with Python's csv module fed line by line, keeping the
lines each record was parsed from (the csv reader pulls a line only when the
record needs it); fields are split with a small quote-aware scan. Then:

* columns layout: each output record must be the input record's text, then
  the delimiter and the added cells, then the record's own line ending;
* per-locale layout: each output record must have the input record's raw
  fields, except in the localized columns, where a field may differ only
  if its value differs.
"""

from __future__ import annotations

import csv
import io


def raw_records(text: str, delimiter: str) -> list[tuple[str, list[str]]]:
    """(raw text, values) of every record, the header first; blank lines
    stay in the raw text of the record after them, and those that end the
    file are a last entry with no values."""
    taken: list[str] = []

    def lines():
        for line in io.StringIO(text, newline=""):
            taken.append(line)
            yield line

    out = []
    for values in csv.reader(lines(), delimiter=delimiter, strict=True):
        if values:
            out.append(("".join(taken), values))
            taken.clear()
    if taken:
        out.append(("".join(taken), []))
    return out


def ending(record: str) -> str:
    for end in ("\r\n", "\n", "\r"):
        if record.endswith(end):
            return end
    return ""


def raw_fields(record: str, delimiter: str) -> list[str]:
    """A record's fields as written (quotes included), without blank lines
    before it. Strict CSV: a field is quoted when it starts with a quote."""
    record = record[: len(record) - len(ending(record))].lstrip("\r\n")
    fields, pos = [], 0
    while True:
        if record.startswith('"', pos):
            end = pos + 1
            while True:
                end = record.index('"', end) + 1
                if not record.startswith('"', end):
                    break
                end += 1  # a doubled quote
        else:
            end = record.find(delimiter, pos)
            end = len(record) if end < 0 else end
        fields.append(record[pos:end])
        if end >= len(record):
            return fields
        pos = end + 1


def cell(value: str, delimiter: str) -> str:
    if any(c in value for c in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def assert_only_added_fields_differ(source: str, output: str, delimiter: str, added: int) -> None:
    """Columns layout: every input record comes back as written, `added` cells appended."""
    ins, outs = raw_records(source, delimiter), raw_records(output, delimiter)
    assert len(outs) == len(ins), (len(outs), len(ins))
    for number, ((raw_in, values_in), (raw_out, values_out)) in enumerate(zip(ins, outs)):
        if not values_in:  # the blank lines that end the file
            assert raw_out == raw_in
            continue
        assert values_out[: len(values_in)] == values_in, f"record {number}"
        new = "".join(delimiter + cell(v, delimiter) for v in values_out[len(values_in):])
        assert len(values_out) == len(values_in) + added, f"record {number}"
        end = ending(raw_in)
        want = raw_in[: len(raw_in) - len(end)] + new
        got = raw_out[: len(raw_out) - len(ending(raw_out))]
        assert got == want, f"record {number}: {got[:200]!r} != {want[:200]!r}"
        # its own line ending; only a header without one (a header-only file) may gain one
        assert ending(raw_out) == end or (number == 0 and not end), f"record {number}"


def assert_only_localized_fields_differ(source: str, output: str, delimiter: str, localized: set[str]) -> int:
    """Per-locale layout: the raw fields of every record are the input's, except
    localized cells whose value changed. Returns how many cells changed."""
    ins, outs = raw_records(source, delimiter), raw_records(output, delimiter)
    assert len(outs) == len(ins)
    header = ins[0][1]
    assert outs[0][0] == ins[0][0]  # the header line, as written
    changed = 0
    for number, ((raw_in, values_in), (raw_out, values_out)) in enumerate(zip(ins[1:], outs[1:]), start=1):
        if not values_in:  # the blank lines that end the file
            assert raw_out == raw_in
            continue
        assert ending(raw_out) == ending(raw_in), f"record {number}"
        fields_in, fields_out = raw_fields(raw_in, delimiter), raw_fields(raw_out, delimiter)
        assert len(fields_out) == len(fields_in) == len(header), f"record {number}"
        for name, a, b, va, vb in zip(header, fields_in, fields_out, values_in, values_out):
            if a == b:
                continue
            assert name in localized and va != vb, f"record {number}, column {name!r}: {a[:80]!r} -> {b[:80]!r}"
            assert b == cell(vb, delimiter)
            changed += 1
    return changed
