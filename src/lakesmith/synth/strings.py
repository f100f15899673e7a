"""Vectorized string building: byte matrices become Arrow string arrays without Python loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def fixed_width(chars: np.ndarray) -> pa.StringArray:
    """An (n, width) uint8 matrix of ASCII bytes as n strings of that width."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    array = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return array  # type: ignore[return-value]


# Four hex characters for every 16-bit value, packed so that viewing as bytes keeps order.
_WORD_HEX = (
    _HEX[np.arange(65536) >> 12 & 15].astype(np.uint32)
    | _HEX[np.arange(65536) >> 8 & 15].astype(np.uint32) << 8
    | _HEX[np.arange(65536) >> 4 & 15].astype(np.uint32) << 16
    | _HEX[np.arange(65536) & 15].astype(np.uint32) << 24
).astype("<u4")


def hex_matrix(values: np.ndarray) -> np.ndarray:
    """16 lower-case hex digits of uint64 values, most significant first, as (n, 16)."""
    words = np.ascontiguousarray(values.astype(">u8")).view(">u2").reshape(-1, 4)
    return np.take(_WORD_HEX, words.astype(np.intp)).view(np.uint8).reshape(-1, 16)


def decimal_matrix(values: np.ndarray, digits: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, as (n, digits)."""
    v = values.astype(np.int64)
    powers = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
    return _DIGITS[((v[:, None] // powers[None, :]) % 10).astype(np.intp)]


def with_separators(matrix: np.ndarray, groups: list[int], sep: str) -> np.ndarray:
    """Insert ``sep`` between column groups: [8, 4, 4, 4, 12] makes a UUID layout."""
    parts, start = [], 0
    sep_col = np.full((matrix.shape[0], 1), ord(sep), dtype=np.uint8)
    for i, width in enumerate(groups):
        if i:
            parts.append(sep_col)
        parts.append(matrix[:, start : start + width])
        start += width
    return np.concatenate(parts, axis=1)


def uuid_strings(high: np.ndarray, low: np.ndarray, upper: bool = False) -> pa.StringArray:
    """8-4-4-4-12 strings from two 64-bit words."""
    matrix = np.concatenate([hex_matrix(high), hex_matrix(low)], axis=1)
    if upper:
        matrix = np.where(matrix >= ord("a"), matrix - 32, matrix).astype(np.uint8)
    return fixed_width(with_separators(matrix, [8, 4, 4, 4, 12], "-"))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of arrays and literal strings."""
    return pc.call_function("binary_join_element_wise", [*parts, ""])
