"""Full-data profiler: every row, few passes, JSON-serialisable results.

Pass 1 is a single lazy ``select`` of the cheap aggregates of every column (rows, nulls,
NaNs, HyperLogLog distinct estimate, min/max, mean/std, true counts). Pass 2 is one
``collect_all`` of plans that depend on pass 1, run in parallel:

* low-cardinality columns: one value table each (``group_by``), from which top values, the
  exact distinct count, quantiles, string statistics, families and histograms all follow
  exactly without touching the rows again;
* the other columns: their finite values, for exact quantiles (one ``numpy.partition``
  each) and histograms (``numpy.bincount``); one ``select`` of string statistics; one of
  exact ``n_unique`` where the table is small; an evenly spaced sample of
  high-cardinality strings for families.

Pass 3, only when families suggest them, counts named patterns (email, uuid, ...) on every
row with regexes. Families map letters to ``a`` and digits to ``9`` through a byte lookup
table in NumPy.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
from pydantic import BaseModel, Field

from lakesmith.engines.frames import sql_type

Scalar = bool | int | float | str | None
Kind = Literal["numeric", "string", "temporal", "boolean", "other"]

QUANTILES: dict[str, float] = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.50,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}

NAMED_PATTERNS: dict[str, str] = {
    "email": r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "url": r"^(?:https?|ftp)://[^\s/$.?#][^\s]*$",
    "ip": r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$",
    "phone": r"^\+?[\s()\-]*(?:\d[\s()\-]*){7,15}$",
}


class TopValue(BaseModel):
    value: Scalar
    count: int
    share: float


class PatternFamily(BaseModel):
    pattern: str
    count: int
    share: float


class Histogram(BaseModel):
    """``len(edges) == len(counts) + 1``; ``labels`` are the edges as people read them."""

    edges: list[float]
    labels: list[str]
    counts: list[int]


class LengthStats(BaseModel):
    min: int | None = None
    mean: float | None = None
    max: int | None = None


class ColumnProfile(BaseModel):
    name: str
    dtype: str
    kind: Kind
    null_count: int
    null_ratio: float
    empty_count: int | None = None
    empty_ratio: float | None = None
    nan_count: int | None = None
    distinct_count: int | None = None
    distinct_exact: bool | None = None
    min: Scalar = None
    max: Scalar = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, Scalar] | None = None
    top_values: list[TopValue] | None = None
    string_length: LengthStats | None = None
    pattern_families: list[PatternFamily] | None = None
    patterns_sampled_rows: int | None = None
    named_patterns: dict[str, float] | None = None
    histogram: Histogram | None = None


class TableProfile(BaseModel):
    row_count: int
    column_count: int
    columns: list[ColumnProfile] = Field(default_factory=list)
    passes: int = 0
    elapsed_seconds: float = 0.0
    pass_seconds: list[float] = Field(default_factory=list)
    sampled: bool = False


def _kind(dtype: pl.DataType) -> Kind:
    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        return "string"
    if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
        return "temporal"
    if dtype == pl.Boolean:
        return "boolean"
    return "other"


def _col(name: str, dtype: pl.DataType) -> pl.Expr:
    """The column, with categoricals read as their strings."""
    c = pl.col(name)
    return c.cast(pl.String) if isinstance(dtype, pl.Categorical | pl.Enum) else c


def _num(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return None if math.isnan(f) else f


def _temporal(dtype: pl.DataType, physical: float | None) -> str | None:
    """ISO text of a physical (epoch) value; datetimes keep their time zone."""
    if physical is None or math.isnan(physical):
        return None
    value = pl.Series([round(physical)], dtype=pl.Int64).cast(dtype).item()
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _json_scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# Byte classes: letters -> 'a', digits -> '9', whitespace -> ' ', UTF-8 continuation bytes
# dropped, other UTF-8 lead bytes count as letters, ASCII punctuation kept as is.
_LUT = np.arange(256, dtype=np.uint8)
_LUT[ord("A") : ord("Z") + 1] = ord("a")
_LUT[ord("a") : ord("z") + 1] = ord("a")
_LUT[ord("0") : ord("9") + 1] = ord("9")
for _ws in "\t\n\r\x0b\x0c":
    _LUT[ord(_ws)] = ord(" ")
_LUT[0xC0:] = ord("a")
_CONTINUATION = np.zeros(256, dtype=bool)
_CONTINUATION[0x80:0xC0] = True
_RUN = np.zeros(256, dtype=bool)
_RUN[[ord("a"), ord("9"), ord(" ")]] = True


def pattern_families(series: pl.Series) -> pl.Series:
    """Map each string to its family: letters ``a``, digits ``9``, runs collapsed.

    ``"Ada_99@x.org"`` becomes ``"a_9@a.a"``. Vectorised over the Arrow buffers, so it
    costs about as much as one copy of the column.
    """
    arr = series.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    n = len(arr)
    if n == 0:
        return pl.Series(series.name, [], dtype=pl.String)
    validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    start, stop = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[start:stop] if data_buf is not None else None
    if data is None or data.size == 0:
        return pl.Series(series.name, [""] * n, dtype=pl.String).set(series.is_null(), None)
    rel = offsets - start
    cont = _CONTINUATION[data]
    if cont.any():  # drop UTF-8 continuation bytes first, so runs see one byte per char
        kept = np.concatenate(([0], np.cumsum(~cont, dtype=np.int64)))
        rel, data = kept[rel], data[~cont]
    mapped = _LUT[data]
    keep = np.ones(mapped.size, dtype=bool)
    same = np.empty(mapped.size, dtype=bool)
    same[0] = False
    same[1:] = mapped[1:] == mapped[:-1]
    # a byte repeating the previous class is dropped, unless it starts a new string
    starts = rel[:-1][rel[:-1] < mapped.size]
    same[starts] = False
    keep &= ~(same & _RUN[mapped])
    cum = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    new_offsets = cum[rel]
    out = pa.LargeStringArray.from_buffers(
        n,
        pa.py_buffer(new_offsets.astype(np.int64)),
        pa.py_buffer(mapped[keep].tobytes()),
        validity if arr.null_count else None,
        arr.null_count,
        0,
    )
    result = pl.from_arrow(out)
    assert isinstance(result, pl.Series)
    return result.alias(series.name)


def _top_families(families: pl.DataFrame, total: int, top_k: int) -> list[PatternFamily]:
    """``families`` has columns ``family`` and ``n``; shares are of the non-null values."""
    grouped = (
        families.drop_nulls("family")
        .group_by("family")
        .agg(pl.col("n").sum())
        .sort(["n", "family"], descending=[True, False])
        .head(top_k)
    )
    return [
        PatternFamily(pattern=f, count=int(c), share=c / total if total else 0.0)
        for f, c in grouped.iter_rows()
    ]


def _named_candidates(families: list[str]) -> list[str]:
    """Named patterns worth a regex, judged from the column's families."""
    out: list[str] = []
    phone_chars = set("9+ -()")
    if any("@" in f for f in families):
        out.append("email")
    if any(f.count("-") == 4 for f in families):
        out.append("uuid")
    if any("://" in f for f in families):
        out.append("url")
    if any(f == "9.9.9.9" for f in families):
        out.append("ip")
    if any("9" in f and set(f) <= phone_chars for f in families):
        out.append("phone")
    return out


def _deferred(c: pl.Expr, kind: Kind, dtype: pl.DataType, a: str) -> list[pl.Expr]:
    """The costly exact statistics, for columns too varied to derive them from a value table."""
    del dtype  # quantiles of numbers and times come from _quantiles
    if kind == "string":
        length = c.str.len_chars()
        return [
            c.min().alias(a + "min"),
            c.max().alias(a + "max"),
            (c.str.strip_chars().str.len_bytes() == 0).sum().alias(a + "empty"),
            length.min().alias(a + "lmin"),
            length.mean().alias(a + "lmean"),
            length.max().alias(a + "lmax"),
        ]
    return []


def _ranks(total: int) -> list[int]:
    """Polars' "nearest" quantile ranks: round((N - 1) * q), halves rounding up."""
    return [math.floor((total - 1) * q + 0.5) for q in QUANTILES.values()]


def _quantiles(values: np.ndarray, ordered: bool = False) -> list[float] | None:
    """Exact quantiles of finite ``values``: read off when ``ordered``, else one multi-rank
    ``numpy.partition`` (about twice as fast as Polars' list ``quantile`` on 10M floats).
    """
    if values.size == 0:
        return None
    ranks = _ranks(values.size)
    part = values if ordered else np.partition(values, sorted(set(ranks)))
    return [float(part[r]) for r in ranks]


def _bins(values: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """Histogram bin of each value in ``[0, bins)`` (the arithmetic of :func:`_bin_index`)."""
    b = values - lo
    b *= bins / (hi - lo)
    np.floor(b, out=b)
    return np.clip(b, 0, bins - 1, out=b)


def _sorted_counts(values: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """Histogram counts of ascending ``values`` by binary search of each bin's first row.

    The bin function is monotonic, so searching it gives exactly the counts of
    :func:`_bins` + ``bincount`` in ``bins * log2(n)`` evaluations instead of ``n``.
    """
    target = np.arange(1, bins)  # bin 0 starts at row 0; the last bin ends at row n
    first = np.zeros(bins - 1, dtype=np.int64)  # first row whose bin >= target
    last = np.full(bins - 1, values.size, dtype=np.int64)
    while np.any(first < last):
        mid = (first + last) // 2
        below = _bins(values[np.minimum(mid, values.size - 1)], lo, hi, bins) < target
        below &= first < last
        first = np.where(below, mid + 1, first)
        last = np.where(below | (first >= last), last, mid)
    return np.diff(np.concatenate(([0], first, [values.size])))


def _summarise(
    values: pl.Series, lo: float, hi: float, bins: int
) -> tuple[list[float] | None, np.ndarray]:
    """Quantiles and histogram counts of a column's finite values.

    Ascending columns (ids, event times) are common and need neither a partition nor a pass
    over every value: checking the order costs one comparison per row.
    """
    v = values.to_numpy()
    ordered = v.size < 2 or bool(np.all(v[1:] >= v[:-1]))
    quantiles = _quantiles(v, ordered)
    if hi <= lo:
        return quantiles, np.array([v.size])
    if ordered:
        return quantiles, _sorted_counts(v, lo, hi, bins)
    return quantiles, np.bincount(_bins(v, lo, hi, bins).astype(np.intp), minlength=bins)


def _from_table(table: pl.DataFrame, kind: Kind, a: str) -> dict[str, Any]:
    """The statistics of :func:`_deferred`, exactly, from a value table (``v``, ``n``)."""
    if kind in ("numeric", "temporal"):
        v = table["v"].to_physical() if kind == "temporal" else table["v"]
        t = pl.DataFrame({"v": v.cast(pl.Float64), "n": table["n"]})
        t = t.filter(pl.col("v").is_finite()).sort("v")
        total = int(t["n"].sum())
        if not total:
            return {a + "q": None}
        cum = np.cumsum(t["n"].to_numpy())
        values = t["v"].to_numpy()
        ranks = _ranks(total)
        return {a + "q": [float(values[np.searchsorted(cum, r, side="right")]) for r in ranks]}
    if kind == "string":
        v, n = pl.col("v"), pl.col("n")
        length = v.str.len_chars()
        row = table.select(
            v.min().alias("min"),
            v.max().alias("max"),
            n.filter(v.str.strip_chars().str.len_bytes() == 0).sum().alias("empty"),
            length.min().alias("lmin"),
            ((length * n).sum() / n.sum()).alias("lmean"),
            length.max().alias("lmax"),
        ).row(0, named=True)
        return {a + k: value for k, value in row.items()}
    return {}


def _bin_index(x: pl.Expr, lo: float, hi: float, bins: int) -> pl.Expr:
    """Histogram bin of ``x`` in ``[0, bins)``; ``bins`` itself for null, NaN or infinite."""
    idx = ((x - lo) * (bins / (hi - lo))).floor().clip(0, bins - 1) if hi > lo else x * 0
    return pl.when(x.is_finite()).then(idx).otherwise(bins).fill_null(bins).cast(pl.Int32)


def _families(
    values: pl.Series, weights: pl.Series | None, top_k: int
) -> tuple[list[PatternFamily], list[str]]:
    """Top families of ``values`` (weighted by ``weights``) and plausible named patterns."""
    fams = pattern_families(values)
    n = weights if weights is not None else pl.Series("n", np.ones(len(values), dtype=np.int64))
    frame = pl.DataFrame({"family": fams, "n": n})
    total = int(frame.filter(pl.col("family").is_not_null())["n"].sum())
    families = _top_families(frame, total, max(top_k, 1))
    return families, _named_candidates(frame["family"].drop_nulls().unique().to_list())


def _named_shares(
    values: pl.Series, weights: pl.Series, candidates: list[str], total: int
) -> dict[str, float]:
    named: dict[str, float] = dict.fromkeys(NAMED_PATTERNS, 0.0)
    if candidates and total:
        hits = pl.DataFrame({"v": values, "n": weights}).select(
            pl.col("n").filter(pl.col("v").str.contains(NAMED_PATTERNS[p])).sum().alias(p)
            for p in candidates
        )
        for p in candidates:
            named[p] = int(hits[p][0] or 0) / total
    return named


def profile(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    top_k: int = 10,
    bins: int = 20,
    low_cardinality: int = 1_000,
    exact_distinct_limit: int = 100_000,
    exact_rows_limit: int = 1_000_000,
    pattern_sample_rows: int = 200_000,
) -> TableProfile:
    """Profile every row of ``frame``.

    Distinct counts are exact (``n_unique``) when the table has at most
    ``exact_rows_limit`` rows or the HyperLogLog estimate is at most
    ``exact_distinct_limit``; otherwise they are the estimate and ``distinct_exact`` is
    false. Columns whose estimate is at most ``low_cardinality`` get top values (and,
    for strings, families computed from their distinct values).
    """
    started = time.perf_counter()
    lf = frame.lazy()
    schema = lf.collect_schema()
    names = list(schema.names())
    kinds = {name: _kind(schema[name]) for name in names}

    # ---- pass 1: one select, one scan -------------------------------------------------
    exprs: list[pl.Expr] = [pl.len().alias("__rows")]
    for i, name in enumerate(names):
        c, kind, dtype = _col(name, schema[name]), kinds[name], schema[name]
        a = f"{i}__"
        exprs.append(c.null_count().alias(a + "nulls"))
        if kind == "other":
            continue
        exprs.append(c.approx_n_unique().alias(a + "approx"))
        if kind == "numeric":
            x = c.cast(pl.Float64)
            if dtype.is_float():
                exprs.append(c.is_nan().sum().alias(a + "nan"))
                x = x.filter(x.is_finite())
            exprs += [
                c.min().alias(a + "min"),
                c.max().alias(a + "max"),
                x.min().alias(a + "fmin"),
                x.max().alias(a + "fmax"),
                x.mean().alias(a + "mean"),
                x.std().alias(a + "std"),
            ]
        elif kind == "temporal":
            p = c.to_physical().cast(pl.Float64)
            exprs += [p.min().alias(a + "fmin"), p.max().alias(a + "fmax")]
        elif kind == "boolean":
            exprs.append(c.sum().alias(a + "true"))
    s1 = lf.select(exprs).collect().row(0, named=True)
    pass_seconds = [time.perf_counter() - started]
    rows = int(s1["__rows"])

    # ---- pass 2: plans that need pass 1 (one collect_all) --------------------------------
    plans: list[pl.LazyFrame] = []
    slots: dict[tuple[int, str], int] = {}

    def add(key: tuple[int, str], plan: pl.LazyFrame) -> None:
        slots[key] = len(plans)
        plans.append(plan)

    exact_exprs: list[pl.Expr] = []
    high_card_strings: list[str] = []
    edges_of: dict[int, np.ndarray] = {}
    hist_counts: dict[int, np.ndarray] = {}
    deferred_exprs: list[pl.Expr] = []
    for i, name in enumerate(names):
        kind, a, c = kinds[name], f"{i}__", _col(name, schema[name])
        if kind == "other":
            continue
        approx = int(s1[a + "approx"])
        low = approx <= low_cardinality
        if (
            kind != "boolean"
            and not low
            and (rows <= exact_rows_limit or approx <= exact_distinct_limit)
        ):
            exact_exprs.append(c.n_unique().alias(a + "exact"))
        if low and kind != "boolean":
            add(
                (i, "top"),
                lf.select(c.alias("v"))
                .filter(pl.col("v").is_not_null())
                .group_by("v")
                .len("n")
                .sort(["n", "v"], descending=[True, False]),
            )
        else:
            deferred_exprs += _deferred(c, kind, schema[name], a)
            if kind in ("numeric", "temporal"):
                x = c.to_physical().cast(pl.Float64) if kind == "temporal" else c.cast(pl.Float64)
                add((i, "values"), lf.select(x.filter(x.is_finite()).alias("x")))
            if kind == "string":
                high_card_strings.append(name)
        if kind in ("numeric", "temporal") and s1[a + "fmin"] is not None:
            lo, hi = float(s1[a + "fmin"]), float(s1[a + "fmax"])
            edges_of[i] = np.linspace(lo, hi, bins + 1) if hi > lo else np.array([lo, hi])
    if exact_exprs:
        add((-1, "exact"), lf.select(exact_exprs))
    if deferred_exprs:
        add((-1, "deferred"), lf.select(deferred_exprs))
    step = max(1, -(-rows // max(pattern_sample_rows, 1)))
    if high_card_strings:
        add(
            (-1, "strings"),
            lf.select(_col(n, schema[n]) for n in high_card_strings).gather_every(step),
        )
    results = pl.collect_all(plans) if plans else []
    exact = results[slots[(-1, "exact")]].row(0, named=True) if exact_exprs else {}
    strings = results[slots[(-1, "strings")]] if high_card_strings else None
    if deferred_exprs:
        s1.update(results[slots[(-1, "deferred")]].row(0, named=True))
    jobs = {
        key[0]: (results[slot]["x"], float(s1[f"{key[0]}__fmin"]), float(s1[f"{key[0]}__fmax"]))
        for key, slot in slots.items()
        if key[1] == "values"
    }
    if jobs:  # NumPy's partition and ufuncs release the GIL: one thread per column
        with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
            done = dict(
                zip(
                    jobs,
                    pool.map(lambda j: _summarise(j[0], j[1], j[2], bins), jobs.values()),
                    strict=True,
                )
            )
        for i, (quantiles, counts) in done.items():
            s1[f"{i}__q"] = quantiles
            hist_counts[i] = counts
    for key, slot in slots.items():
        if key[1] == "top":
            s1.update(_from_table(results[slot], kinds[names[key[0]]], f"{key[0]}__"))
    if plans:
        pass_seconds.append(time.perf_counter() - started - sum(pass_seconds))

    columns: list[ColumnProfile] = []
    named_exprs: list[pl.Expr] = []
    named_slots: list[tuple[ColumnProfile, str, int]] = []
    for i, name in enumerate(names):
        kind, a, dtype = kinds[name], f"{i}__", schema[name]
        nulls = int(s1[a + "nulls"])
        non_null = rows - nulls
        col = ColumnProfile(
            name=name,
            dtype=sql_type(dtype),
            kind=kind,
            null_count=nulls,
            null_ratio=nulls / rows if rows else 0.0,
        )
        columns.append(col)
        if kind == "other":
            continue
        has_null = 1 if nulls else 0
        if a + "exact" in exact:
            col.distinct_count = int(exact[a + "exact"]) - has_null
            col.distinct_exact = True
        else:
            col.distinct_count = min(max(int(s1[a + "approx"]) - has_null, 0), non_null)
            col.distinct_exact = False
        top = results[slots[(i, "top")]] if (i, "top") in slots else None
        if kind == "boolean":
            trues = int(s1[a + "true"] or 0)
            top = pl.DataFrame({"v": [True, False], "n": [trues, non_null - trues]}).filter(
                pl.col("n") > 0
            )
            top = top.sort(["n", "v"], descending=[True, False])
        if top is not None:  # the full value table: its height is the exact distinct count
            col.distinct_count, col.distinct_exact = top.height, True
        if top is not None:
            col.top_values = [
                TopValue(
                    value=_json_scalar(v),
                    count=int(n),
                    share=n / non_null if non_null else 0.0,
                )
                for v, n in top.head(top_k).iter_rows()
            ]
            if kind == "temporal":
                for tv in col.top_values:
                    tv.value = _json_scalar(tv.value)
        if kind == "numeric":
            col.min, col.max = _json_scalar(s1[a + "min"]), _json_scalar(s1[a + "max"])
            if isinstance(col.min, str):  # decimals
                col.min, col.max = _num(s1[a + "fmin"]), _num(s1[a + "fmax"])
            col.mean, col.std = _num(s1[a + "mean"]), _num(s1[a + "std"])
            if a + "nan" in s1:
                col.nan_count = int(s1[a + "nan"])
            q = s1[a + "q"]
            if q is not None:
                col.quantiles = dict(zip(QUANTILES, (_num(v) for v in q), strict=True))
        elif kind == "temporal":
            col.min = _temporal(dtype, s1[a + "fmin"])
            col.max = _temporal(dtype, s1[a + "fmax"])
            q = s1[a + "q"]
            if q is not None:
                col.quantiles = dict(zip(QUANTILES, (_temporal(dtype, v) for v in q), strict=True))
        elif kind == "string":
            col.min, col.max = s1[a + "min"], s1[a + "max"]
            empty = int(s1[a + "empty"])
            col.empty_count = empty
            col.empty_ratio = empty / rows if rows else 0.0
            col.string_length = LengthStats(
                min=s1[a + "lmin"], mean=_num(s1[a + "lmean"]), max=s1[a + "lmax"]
            )
            if top is not None:
                col.pattern_families, candidates = _families(top["v"], top["n"], top_k)
                col.named_patterns = _named_shares(top["v"], top["n"], candidates, non_null)
            elif strings is not None:
                col.pattern_families, candidates = _families(strings[name], None, top_k)
                col.patterns_sampled_rows = strings.height if step > 1 else None
                col.named_patterns = dict.fromkeys(NAMED_PATTERNS, 0.0)
                for p in candidates:
                    named_exprs.append(
                        _col(name, dtype).str.contains(NAMED_PATTERNS[p]).sum().alias(f"{i}__{p}")
                    )
                    named_slots.append((col, p, non_null))
        if i in edges_of:
            nbins = len(edges_of[i]) - 1
            if top is not None:
                lo, hi = float(s1[a + "fmin"]), float(s1[a + "fmax"])
                v = top["v"]
                v = v.to_physical() if kind == "temporal" else v
                b = pl.select(_bin_index(pl.lit(v).cast(pl.Float64), lo, hi, nbins)).to_series()
                counts = np.bincount(b.to_numpy(), weights=top["n"].to_numpy(), minlength=nbins + 1)
            else:
                counts = hist_counts[i]
            counts = counts[:nbins].astype(np.int64)
            edges = edges_of[i]
            labels = (
                [_temporal(dtype, float(e)) or "" for e in edges]
                if kind == "temporal"
                else [f"{e:.0f}" if e.is_integer() and abs(e) < 1e15 else f"{e:.6g}" for e in edges]
            )
            col.histogram = Histogram(
                edges=[float(e) for e in edges], labels=labels, counts=counts.tolist()
            )
    # ---- pass 3: full-data named-pattern regexes, only where the families suggest them ---
    if named_exprs:
        mark = time.perf_counter()
        hits = lf.select(named_exprs).collect()
        pass_seconds.append(time.perf_counter() - mark)
        for (col, p, total), value in zip(named_slots, hits.row(0), strict=True):
            assert col.named_patterns is not None
            col.named_patterns[p] = int(value or 0) / total if total else 0.0
    return TableProfile(
        row_count=rows,
        column_count=len(names),
        columns=columns,
        passes=1 + bool(plans) + bool(named_exprs),
        elapsed_seconds=time.perf_counter() - started,
        pass_seconds=pass_seconds,
    )
