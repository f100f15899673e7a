"""One row per key in a Python transform, paying for the keys rather than the rows.

Python transforms receive narwhals lazy frames so the same function runs on Polars and on
Spark. narwhals offers two ways to keep one row per key on a lazy frame, and on Polars 2.1
both hold far more than the keys: ``unique(keep="any")`` keeps every row it will emit until
the end, and the order-safe ``is_first_distinct().over(order_by=...)`` sorts the whole frame.
At 50M orders (benchmarks/scale.py) they peak at 6.9 and 4.1 GiB; the filter below at 2.6.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw


def one_per_key(frame: nw.LazyFrame[Any], keys: str | Sequence[str]) -> nw.LazyFrame[Any]:
    """Keep one row of each distinct ``keys`` value; which one is unspecified.

    The result is ``frame.unique(keys, keep="any")``: on Polars it is computed as a filter on
    the keys' first occurrence (its memory is the key columns and their hash set, not the
    rows), on every other backend (Spark: ``dropDuplicates``) by ``unique`` itself. Null keys
    count as one key, as in ``unique``.

    Raises:
        ValueError: no key given.
        narwhals.exceptions.ColumnNotFoundError: a key is not a column of ``frame``.
    """
    names = [keys] if isinstance(keys, str) else list(keys)
    if not names:
        raise ValueError("one_per_key needs at least one key column")
    missing = sorted(set(names) - set(frame.collect_schema().names()))
    if missing:
        raise nw.exceptions.ColumnNotFoundError(
            f"one_per_key: no column {', '.join(map(repr, missing))} in the frame; "
            f"its columns are {frame.collect_schema().names()}"
        )
    if not frame.implementation.is_polars():
        return frame.unique(names, keep="any")
    import polars as pl

    key = pl.col(names[0]) if len(names) == 1 else pl.struct(names)
    native: pl.LazyFrame = nw.to_native(frame)
    return nw.from_native(native.filter(key.is_first_distinct()))
