"""NumPy arrays and small string lists as Arrow arrays, built from buffers.

``pa.array`` imports pandas on its first call whenever pandas is installed: about 0.3 s in
every worker process, more than writing a whole block of parts costs. Building arrays from
buffers skips that import, and is zero-copy for numeric data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def array(
    values: np.ndarray | Sequence[str],
    type: pa.DataType | None = None,
    mask: np.ndarray | None = None,
) -> pa.Array:
    """Like ``pa.array`` for a 1-d NumPy array (numeric or bool) or a sequence of strings.

    Args:
        values: the data.
        type: cast numeric data to this type (strings are always ``string``).
        mask: True where the value is null (NumPy data only).
    """
    if not isinstance(values, np.ndarray):
        return _strings(values)
    if values.dtype == np.bool_:
        arrow_type: pa.DataType = pa.bool_()
        data = np.packbits(values, bitorder="little")
    else:
        data = np.ascontiguousarray(values)
        arrow_type = pa.from_numpy_dtype(data.dtype)
    validity, nulls = None, 0
    if mask is not None:
        validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
        nulls = int(np.count_nonzero(mask))
    out = pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(data)], nulls)
    return out if type is None or type == arrow_type else out.cast(type)


def _strings(values: Sequence[str]) -> pa.StringArray:
    if not all(isinstance(v, str) for v in values):
        raise TypeError("array() takes a NumPy array or a sequence of str")
    encoded = [v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets), data)  # type: ignore[return-value]
