"""Keyed random streams and bijective mixers: the two sources of determinism.

A stream is keyed by (seed, block, "table.column"), so a block's values never depend on which
worker made it, and adding a column never shifts another column's numbers. Identifier values
come from bijections of unique ids, so they are unique by construction, not by luck.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stream(seed: int, block: int, key: str) -> np.random.Generator:
    entropy = [seed & 0xFFFFFFFF, seed >> 32, block, zlib.crc32(key.encode())]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of ``values * golden + salt``: a bijection on 64-bit integers per salt."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) * _GOLDEN + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def permute(values: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """``(a*x + c) mod m`` with ``a`` coprime to ``m``: a bijection on ``[0, m)``.

    Powers of two use wrapping 64-bit arithmetic; other moduli (up to 2.3e10, such as the
    1e10 phone-number space) use a multiplier small enough that int64 never overflows.
    """
    if modulus & (modulus - 1) == 0:
        with np.errstate(over="ignore"):
            z = values.astype(np.uint64) * _GOLDEN + np.uint64(salt)
        return (z & np.uint64(modulus - 1)).astype(np.int64)
    a = 387_420_489  # 3**18: coprime to every power of ten
    if modulus > (2**63 - 1) // a or np.gcd(a, modulus) != 1:
        raise ValueError(f"cannot permute modulo {modulus}")
    return (values.astype(np.int64) % modulus * a + salt % modulus) % modulus
