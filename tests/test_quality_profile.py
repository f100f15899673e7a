"""The full-data profiler and its HTML / Markdown reports."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from lakesmith.quality.profile import QUANTILES, TableProfile, pattern_families, profile
from lakesmith.quality.profile_report import to_html, to_markdown

UUIDS = [str(uuid.UUID(int=k * 7919 + 12345)) for k in range(3)]


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "n": [1, 2, None, 4, 5, 6],
            "f": [1.5, None, float("nan"), 2.5, 3.0, 4.0],
            "s": ["ada@example.com", "", "  ", None, "bob@x.org", "not an email"],
            "u": [*UUIDS, None, "x", UUIDS[0]],
            "d": [
                date(2020, 1, 1),
                None,
                date(2020, 1, 3),
                date(2020, 1, 3),
                date(2020, 1, 5),
                date(2020, 1, 5),
            ],
            "t": [datetime(2024, 3, 1, h, tzinfo=UTC) for h in (0, 1, 2, 3, 4)] + [None],
            "b": [True, False, None, True, True, False],
            "l": [[1], None, [2], [3], [], None],
        }
    )


@pytest.fixture(scope="module")
def prof(frame: pl.DataFrame) -> TableProfile:
    return profile(frame.lazy(), top_k=3, bins=4)


def col(p: TableProfile, name: str):
    return next(c for c in p.columns if c.name == name)


def test_table_and_types(prof: TableProfile) -> None:
    assert prof.row_count == 6 and prof.column_count == 8
    assert [c.dtype for c in prof.columns] == [
        "bigint",
        "double",
        "string",
        "string",
        "date",
        "timestamp",
        "boolean",
        "array<bigint>",
    ]
    assert 1 <= prof.passes <= 3 and len(prof.pass_seconds) == prof.passes


def test_integer_column(prof: TableProfile) -> None:
    n = col(prof, "n")
    values = np.array([1, 2, 4, 5, 6], dtype=float)
    assert (n.null_count, n.null_ratio) == (1, pytest.approx(1 / 6))
    assert (n.min, n.max) == (1, 6)
    assert n.mean == pytest.approx(values.mean())
    assert n.std == pytest.approx(values.std(ddof=1))
    assert n.quantiles is not None and n.quantiles["p50"] == 4.0
    assert n.distinct_count == 5 and n.distinct_exact
    assert n.histogram is not None
    assert n.histogram.edges == pytest.approx([1, 2.25, 3.5, 4.75, 6])
    assert n.histogram.counts == [2, 0, 1, 2]
    assert n.empty_ratio is None and n.string_length is None


def test_float_column_ignores_nan_in_moments(prof: TableProfile) -> None:
    f = col(prof, "f")
    assert f.null_count == 1 and f.nan_count == 1
    assert f.mean == pytest.approx(np.mean([1.5, 2.5, 3.0, 4.0]))
    assert f.histogram is not None and sum(f.histogram.counts) == 4


def test_string_column(prof: TableProfile) -> None:
    s = col(prof, "s")
    assert s.null_count == 1
    assert (s.empty_count, s.empty_ratio) == (2, pytest.approx(2 / 6))
    assert s.string_length is not None
    assert (s.string_length.min, s.string_length.max) == (0, 15)
    assert s.string_length.mean == pytest.approx((15 + 0 + 2 + 9 + 12) / 5)
    assert s.named_patterns is not None
    assert s.named_patterns["email"] == pytest.approx(2 / 5)
    assert s.named_patterns["uuid"] == 0.0
    assert s.pattern_families is not None
    fams = {p.pattern: p.count for p in s.pattern_families}
    assert fams["a@a.a"] == 2
    assert s.top_values is not None and len(s.top_values) == 3
    assert s.histogram is None


def test_uuid_detection_and_top_values(prof: TableProfile) -> None:
    u = col(prof, "u")
    assert u.named_patterns is not None
    assert u.named_patterns["uuid"] == pytest.approx(4 / 5)
    assert u.top_values is not None
    assert (u.top_values[0].value, u.top_values[0].count) == (UUIDS[0], 2)
    assert u.top_values[0].share == pytest.approx(2 / 5)


def test_dates_and_timestamps(prof: TableProfile) -> None:
    d = col(prof, "d")
    assert (d.min, d.max) == ("2020-01-01", "2020-01-05")
    assert d.quantiles is not None and d.quantiles["p50"] == "2020-01-03"
    assert d.histogram is not None and d.histogram.labels[0] == "2020-01-01"
    assert sum(d.histogram.counts) == 5
    t = col(prof, "t")
    assert t.min == "2024-03-01T00:00:00+00:00"
    assert t.max == "2024-03-01T04:00:00+00:00"
    assert t.histogram is not None and t.histogram.counts == [1, 1, 1, 2]
    assert t.mean is None


def test_boolean_and_nested(prof: TableProfile) -> None:
    b = col(prof, "b")
    assert b.top_values is not None
    assert [(v.value, v.count) for v in b.top_values] == [(True, 3), (False, 2)]
    assert b.distinct_count == 2 and b.null_count == 1
    nested = col(prof, "l")
    assert nested.null_count == 2 and nested.kind == "other"
    assert nested.distinct_count is None and nested.histogram is None


def test_exact_versus_approximate_distinct() -> None:
    n = 50_000
    df = pl.DataFrame({"k": np.arange(n), "low": np.arange(n) % 7})
    exact = profile(df)
    assert col(exact, "k").distinct_count == n and col(exact, "k").distinct_exact
    assert col(exact, "low").distinct_count == 7 and col(exact, "low").distinct_exact
    approx = profile(df, bins=4, exact_rows_limit=1_000, exact_distinct_limit=1_000)
    k = col(approx, "k")
    assert not k.distinct_exact and k.top_values is None
    assert k.histogram is not None and k.histogram.counts == [n // 4] * 4
    assert k.distinct_count is not None and abs(k.distinct_count - n) / n < 0.25
    assert col(approx, "low").distinct_exact  # low cardinality stays exact


def test_high_cardinality_strings_sample_families_but_count_patterns_fully() -> None:
    emails = [f"user{k}@example.com" for k in range(5_000)] + ["nope"] * 1_000
    p = profile(pl.DataFrame({"e": emails}), low_cardinality=10, pattern_sample_rows=600)
    e = col(p, "e")
    assert e.top_values is None
    assert e.patterns_sampled_rows is not None and e.patterns_sampled_rows <= 600
    assert e.pattern_families is not None and e.pattern_families[0].pattern == "a9@a.a"
    assert e.named_patterns is not None
    assert e.named_patterns["email"] == pytest.approx(5_000 / 6_000)


def test_pattern_families_maps_and_collapses() -> None:
    s = pl.Series(["AB-12", "x", None, "", "ÄÖü 9", "a\tb"])
    assert pattern_families(s).to_list() == ["a-9", "a", None, "", "a 9", "a a"]
    assert pattern_families(s.slice(2, 3)).to_list() == [None, "", "a 9"]


def test_categoricals_profile_as_strings() -> None:
    df = pl.DataFrame({"c": pl.Series(["x@y.io", "x@y.io", "", None], dtype=pl.Categorical)})
    c = col(profile(df), "c")
    assert c.kind == "string" and c.dtype == "categorical"
    assert (c.empty_count, c.distinct_count) == (1, 2)
    assert c.top_values is not None and c.top_values[0].value == "x@y.io"
    assert c.named_patterns is not None and c.named_patterns["email"] == pytest.approx(2 / 3)


def test_empty_frame() -> None:
    p = profile(
        pl.DataFrame({"x": pl.Series([], dtype=pl.Float64), "s": pl.Series([], dtype=pl.String)})
    )
    assert p.row_count == 0 and len(p.pass_seconds) == p.passes
    assert col(p, "x").null_ratio == 0.0 and col(p, "x").histogram is None


def test_json_round_trip(prof: TableProfile) -> None:
    again = TableProfile.model_validate_json(prof.model_dump_json())
    assert again == prof
    assert not any(
        isinstance(v, float) and math.isnan(v) for c in again.columns for v in (c.mean, c.std)
    )


def test_html_is_self_contained_and_escaped() -> None:
    evil = "<script>alert(1)</script>"
    df = pl.DataFrame({evil: [evil, "b & c", None], "x": [1.0, 2.0, 3.0]})
    page = to_html(profile(df), title="t<i>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "b &amp; c" in page and "t&lt;i&gt;" in page
    assert page.count('class="card"') == 2 and "<svg" in page and "<style>" in page
    assert "http" not in page  # nothing fetched from anywhere


def test_markdown(prof: TableProfile) -> None:
    md = to_markdown(prof)
    assert md.count("\n| ") == 1 + 8  # the header and one row per column
    assert "| n | bigint |" in md


def test_value_table_path_matches_full_scan_path() -> None:
    rng = np.random.default_rng(7)
    n = 2_001
    df = pl.DataFrame(
        {
            "i": rng.integers(0, 40, n),
            "f": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 30, n) / 4),
            "s": pl.Series(rng.integers(0, 30, n)).cast(pl.String).str.zfill(3) + " ",
            "d": pl.Series(rng.integers(18_000, 18_030, n)).cast(pl.Date),
        }
    ).with_columns(pl.when(pl.col("i") % 9 == 0).then(None).otherwise(pl.col("s")).alias("s"))
    via_table = profile(df, bins=5)
    via_scan = profile(df, bins=5, low_cardinality=0)
    for a, b in zip(via_table.columns, via_scan.columns, strict=True):
        assert a.top_values is not None and b.top_values is None
        assert (a.quantiles, a.min, a.max, a.histogram) == (b.quantiles, b.min, b.max, b.histogram)
        assert (a.empty_count, a.distinct_count) == (b.empty_count, b.distinct_count)
        if a.string_length is not None and b.string_length is not None:
            assert a.string_length.mean == pytest.approx(b.string_length.mean)
            assert (a.string_length.min, a.string_length.max) == (
                b.string_length.min,
                b.string_length.max,
            )


def test_quantiles_match_polars_nearest() -> None:
    rng = np.random.default_rng(3)
    x = np.where(rng.random(3_001) < 0.05, np.nan, rng.lognormal(size=3_001))
    df = pl.DataFrame({"x": x})
    got = col(profile(df, low_cardinality=0), "x").quantiles
    finite = pl.col("x").filter(pl.col("x").is_finite())
    want = df.select(
        finite.quantile(q, interpolation="nearest").alias(k) for k, q in QUANTILES.items()
    ).row(0, named=True)
    assert got == want


def test_sorted_columns_take_the_shortcut_with_identical_results() -> None:
    rng = np.random.default_rng(11)
    values = np.sort(np.round(rng.lognormal(2, 1, 5_000), 1))  # ties on bin edges too
    ordered = pl.DataFrame({"x": values, "t": pl.Series(np.sort(rng.integers(0, 10**9, 5_000)))})
    ordered = ordered.with_columns(pl.col("t").cast(pl.Datetime("us", "UTC")))
    shuffled = ordered.sample(fraction=1.0, shuffle=True, seed=5)
    a = profile(ordered, low_cardinality=0, bins=13)
    b = profile(shuffled, low_cardinality=0, bins=13)
    for name in ("x", "t"):
        assert col(a, name).quantiles == col(b, name).quantiles
        assert col(a, name).histogram == col(b, name).histogram
    assert sum(col(a, "x").histogram.counts) == 5_000  # type: ignore[union-attr]
