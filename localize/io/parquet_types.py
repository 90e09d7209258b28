"""Which Arrow types go through polars, which are carried by pyarrow alone,
and what type a localized column is written as.

polars is the pipeline's frame library, but it holds only part of Arrow's
type system: a `decimal256` column makes it panic (a Rust panic message on
stderr before any exception), a `month_day_nano_interval` or a union is
refused, a `date64` comes back truncated to whole days, a duration cannot be
written as text. So only text columns,
which the pipeline may write into, must go through polars; every other
column of a Parquet input is carried from the input's own Arrow batches to a
Parquet output (ParquetSource/ParquetSink), byte for byte, whatever its type.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.types as pat


def is_text_type(dtype: pa.DataType) -> bool:
    """A column localize can localize: any Arrow string (string, large_string,
    string_view), a dictionary of strings (a pandas category), or a column of
    type null (every value empty)."""
    if pat.is_dictionary(dtype):
        return _is_plain_text(dtype.value_type)
    return _is_plain_text(dtype) or pat.is_null(dtype)


def _is_plain_text(dtype: pa.DataType) -> bool:
    return pat.is_string(dtype) or pat.is_large_string(dtype) or pat.is_string_view(dtype)


_SCALAR_CHECKS = (
    pat.is_null, pat.is_boolean, pat.is_integer, pat.is_floating, pat.is_string, pat.is_large_string,
    pat.is_string_view, pat.is_binary, pat.is_large_binary, pat.is_binary_view, pat.is_fixed_size_binary,
    pat.is_date32, pat.is_time, pat.is_timestamp, pat.is_decimal32, pat.is_decimal64,
    pat.is_decimal128,
)


def polars_may_hold(dtype: pa.DataType) -> bool:
    """True for the Arrow types polars represents (checked without handing
    polars anything: an unsupported type can make it panic). Nested types
    count when every child does; extension types never do (their metadata
    does not survive the trip)."""
    if isinstance(dtype, pa.BaseExtensionType) or pat.is_date64(dtype) or pat.is_duration(dtype):
        return False  # date64 holds milliseconds that polars drops; polars cannot write a duration as text
    if pat.is_dictionary(dtype):
        return _is_plain_text(dtype.value_type)  # polars makes categoricals of text only
    if pat.is_list(dtype) or pat.is_large_list(dtype) or pat.is_fixed_size_list(dtype):
        return polars_may_hold(dtype.value_type)
    if pat.is_struct(dtype):
        return all(polars_may_hold(dtype.field(i).type) for i in range(dtype.num_fields))
    if pat.is_map(dtype):
        return polars_may_hold(dtype.key_type) and polars_may_hold(dtype.item_type)
    return any(check(dtype) for check in _SCALAR_CHECKS)


def localized_field(field: pa.Field) -> pa.Field:
    """The output field of a column the model writes into: nullable (a cell
    the engine failed on is left empty), and a text type: the column's own,
    except `null`, which holds no text and becomes string."""
    dtype = pa.string() if pat.is_null(field.type) else field.type
    return field.with_type(dtype).with_nullable(True)
