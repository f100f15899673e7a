"""Vectorized string building: byte matrices become Arrow string arrays without Python loops."""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import array

_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def fixed_width(chars: np.ndarray) -> pa.StringArray:
    """An (n, width) uint8 matrix of ASCII bytes as n strings of that width."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    array = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return array  # type: ignore[return-value]


def _word_table(alphabet: bytes) -> np.ndarray:
    """Four hex characters for every 16-bit value, packed so viewing as bytes keeps order."""
    digits = np.frombuffer(alphabet, dtype=np.uint8).astype(np.uint32)
    words = np.arange(65536)
    return (
        digits[words >> 12 & 15]
        | digits[words >> 8 & 15] << 8
        | digits[words >> 4 & 15] << 16
        | digits[words & 15] << 24
    ).astype("<u4")


_WORD_HEX = _word_table(b"0123456789abcdef")
_WORD_HEX_UPPER = _word_table(b"0123456789ABCDEF")


def hex_matrix(values: np.ndarray, upper: bool = False) -> np.ndarray:
    """16 hex digits of uint64 values, most significant first, as (n, 16)."""
    words = np.ascontiguousarray(values.astype(">u8")).view(">u2").reshape(-1, 4)
    table = _WORD_HEX_UPPER if upper else _WORD_HEX
    return np.take(table, words.astype(np.intp)).view(np.uint8).reshape(-1, 16)


def decimal_matrix(values: np.ndarray, digits: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, as (n, digits)."""
    v = values.astype(np.int64)
    powers = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
    return _DIGITS[((v[:, None] // powers[None, :]) % 10).astype(np.intp)]


def with_separators(matrix: np.ndarray, groups: list[int], sep: str) -> np.ndarray:
    """Insert ``sep`` between column groups: [8, 4, 4, 4, 12] makes a UUID layout."""
    out = np.full((matrix.shape[0], sum(groups) + len(groups) - 1), ord(sep), dtype=np.uint8)
    src = dst = 0
    for width in groups:
        out[:, dst : dst + width] = matrix[:, src : src + width]
        src, dst = src + width, dst + width + 1
    return out


def uuid_strings(high: np.ndarray, low: np.ndarray, upper: bool = False) -> pa.StringArray:
    """8-4-4-4-12 strings from two 64-bit words."""
    matrix = np.concatenate([hex_matrix(high, upper), hex_matrix(low, upper)], axis=1)
    return fixed_width(with_separators(matrix, [8, 4, 4, 4, 12], "-"))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of arrays and literal strings."""
    args = [_literal(p) if isinstance(p, str) else p for p in parts]
    return pc.call_function("binary_join_element_wise", [*args, _literal("")])


@cache
def _literal(text: str) -> pa.Scalar:
    """A string scalar made without ``pa.scalar``, which imports pandas (see columns.py)."""
    return array([text])[0]
