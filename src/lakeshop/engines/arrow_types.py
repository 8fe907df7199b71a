"""Arrow types as Delta tables and every engine take them: no view or large variants."""

from __future__ import annotations

import pyarrow as pa


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with plain Arrow types (no view or large variants)."""
    return pa.schema([pa.field(f.name, _plain(f.type)) for f in schema])


def _plain(t: pa.DataType) -> pa.DataType:
    """The non-view, non-large variant of an Arrow type."""
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(_plain(t.value_type))
    return t
