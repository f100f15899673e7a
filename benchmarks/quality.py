"""Quality on 10M rows: 10 rules in one scan (target <= 0.8 s) and a full profile (<= 2 s).

Runs with no arguments; input cached in benchmarks/.data/ (gitignored). Ends with one JSON line.

The pipeline's quality gate on the same rules: ``gate_quarantine_vs_check_only`` is what the
quarantine split adds to the check; ``gate_two_passes_vs_one`` compares the gate with its former
shape (evaluate, then split evaluating every rule again), above 1 means the one pass is faster.

Comparison baselines, when the ``bench`` extra is installed (``make bench`` installs it): the same
10 rules as a pandera schema (Polars backend, lazy validation) and as a Great Expectations 1.x
suite (pandas datasource). Each baseline must find exactly lakesmith's failing rows, rule by
rule, before its time is reported; ``*_vs_lakesmith`` above 1 means lakesmith is faster.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import polars as pl

from lakesmith.quality import rules as r
from lakesmith.quality.evaluate import evaluate
from lakesmith.quality.flags import flag, split

ROWS = 10_000_000
DATA = Path(__file__).parent / ".data" / "quality_10m.parquet"
RUNS = 3
GX_SLOW_RUN_S = 60.0  # a Great Expectations run slower than this is not repeated


def make_data() -> pl.DataFrame:
    if DATA.is_file():
        return pl.read_parquet(DATA)
    rng = np.random.default_rng(7)
    ids = np.arange(ROWS, dtype=np.int64)
    domains = np.array(["gmail.com", "yahoo.com", "example.org", "bad"])
    frame = pl.DataFrame(
        {
            "order_id": ids,
            "customer_id": pl.Series(rng.integers(0, 200_000, ROWS)).scatter(
                np.nonzero(rng.random(ROWS) < 0.001)[0], None
            ),
            "amount": np.round(rng.lognormal(3.5, 1.0, ROWS), 2),
            "quantity": rng.integers(-1, 20, ROWS),
            "status": rng.choice(["NEW", "PAID", "SHIPPED", "VOID", "??"], ROWS),
            "email": pl.Series(rng.integers(0, 10**6, ROWS)).cast(pl.String)
            + "@"
            + pl.Series(domains[rng.integers(0, 4, ROWS)]),
            "ordered_at": pl.datetime_range(
                pl.datetime(2025, 1, 1, time_zone="UTC"),
                pl.datetime(2025, 12, 31, time_zone="UTC"),
                interval="3s",
                eager=True,
            ).head(ROWS),
        }
    )
    DATA.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(DATA)
    return frame


T = TypeVar("T")

RULES = r.RuleSet(
    dataset="orders",
    rules=[
        r.NotNull(check="not_null", column="customer_id", tolerance=r.Tolerance(max_ratio=0.01)),
        r.NotNull(check="not_null", column="email"),
        r.Unique(check="unique", columns=["order_id"]),
        r.InRange(check="in_range", column="amount", min=0, max=10_000),
        r.InRange(check="in_range", column="quantity", min=0, max=100),
        r.InSet(check="in_set", column="status", values=["NEW", "PAID", "SHIPPED", "VOID"]),
        r.Matches(check="matches", column="email", pattern="email"),
        r.Expr(check="expr", expr="amount < 5000 OR status = 'VOID'", name="big_orders_void"),
        r.RowCount(check="row_count", min=1_000_000),
        r.Freshness(check="freshness", column="ordered_at", max_age_hours=24 * 400),
    ],
)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


# --- comparison baselines: the same rules in pandera and Great Expectations ----------------------
# The rule names are lakesmith's (rule_name), so the failing-row counts compare rule by rule.
# Shared semantics (lakesmith.quality.rules): a null passes every rule except not_null, and a
# table-level rule (row_count, freshness) counts 1 failing row when it fails.

EMAIL = r.PATTERNS["email"]
STATUSES = ["NEW", "PAID", "SHIPPED", "VOID"]
MAX_AGE = timedelta(hours=24 * 400)


def pandera_counts(frame: pl.DataFrame, now: datetime) -> dict[str, int]:
    """Failing rows per rule from pandera's Polars backend, all failures collected (lazy=True)."""
    import pandera.polars as pa

    # pandera columns are non-nullable by default: nullable=True wherever lakesmith lets nulls
    # pass; its checks skip nulls (ignore_na=True), as lakesmith's do. Its not_nullable also
    # counts float NaN (customer_id is an integer column, so there are none).
    not_nullable = {"customer_id": "not_null_customer_id", "email": "not_null_email"}
    rows = pa.DataFrameSchema(
        {
            "customer_id": pa.Column(nullable=False),
            "email": pa.Column(
                checks=pa.Check.str_matches(EMAIL, error="matches_email"), nullable=False
            ),
            # Column(unique=True) counts repeated nulls as duplicates; lakesmith lets nulls
            # pass unique, so the check is written out
            "order_id": pa.Column(
                checks=pa.Check(
                    lambda d: d.lazyframe.select(
                        pl.col(d.key).is_null() | ~pl.col(d.key).is_duplicated()
                    ),
                    error="unique_order_id",
                ),
                nullable=True,
            ),
            "amount": pa.Column(
                checks=pa.Check.in_range(0, 10_000, error="in_range_amount"), nullable=True
            ),
            "quantity": pa.Column(
                checks=pa.Check.in_range(0, 100, error="in_range_quantity"), nullable=True
            ),
            "status": pa.Column(
                checks=pa.Check.isin(STATUSES, error="in_set_status"), nullable=True
            ),
        },
        # Kleene OR: a null operand gives null or true, and null passes (ignore_na), as in SQL
        checks=pa.Check(
            lambda d: d.lazyframe.select((pl.col("amount") < 5000) | (pl.col("status") == "VOID")),
            error="big_orders_void",
        ),
    )
    # Table-level rules are scalar checks in a second schema: with Polars 2, pandera 0.35
    # cannot concatenate a failed scalar check (Boolean failure case) with column failure
    # cases (String) and raises polars SchemaError instead of SchemaErrors.
    table = pa.DataFrameSchema(
        checks=[
            pa.Check(
                lambda d: d.lazyframe.select(pl.len()).collect().item() >= 1_000_000,
                error="row_count_8",
            ),
            pa.Check(
                lambda d: (
                    now - d.lazyframe.select(pl.col("ordered_at").max()).collect().item() <= MAX_AGE
                ),
                error="freshness_ordered_at",
            ),
        ]
    )
    names = [*not_nullable.values()]
    names += [c.error for col in rows.columns.values() for c in col.checks]
    names += [c.error for c in [*(rows.checks or ()), *(table.checks or ())]]
    counts: Counter[str] = Counter()
    for schema in (rows, table):
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases.group_by("column", "check").len()
            for column, check, n in cases.iter_rows():
                counts[not_nullable[column] if check == "not_nullable" else check] += n
    return {n: counts[n] for n in names}


def gx_suite(now: datetime) -> Any:
    """The rules as a Great Expectations 1.x suite; ``meta["rule"]`` is the lakesmith name."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    status = Column("status")
    return gx.ExpectationSuite(
        name="orders",
        expectations=[
            # column map expectations skip nulls (pandas NaN/None/NA) before testing values
            gxe.ExpectColumnValuesToNotBeNull(
                column="customer_id", meta={"rule": "not_null_customer_id"}
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="email", meta={"rule": "not_null_email"}),
            gxe.ExpectColumnValuesToBeUnique(column="order_id", meta={"rule": "unique_order_id"}),
            gxe.ExpectColumnValuesToBeBetween(
                column="amount", min_value=0, max_value=10_000, meta={"rule": "in_range_amount"}
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="quantity", min_value=0, max_value=100, meta={"rule": "in_range_quantity"}
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="status", value_set=STATUSES, meta={"rule": "in_set_status"}
            ),
            gxe.ExpectColumnValuesToMatchRegex(
                column="email", regex=EMAIL, meta={"rule": "matches_email"}
            ),
            # GX has no multi-column row predicate on pandas (UnexpectedRowsExpectation is SQL
            # only). `amount < 5000 OR status = 'VOID'` is false exactly when status is a
            # non-null value other than VOID and amount is a non-null value >= 5000: a
            # conditional range check. The is_not_null condition is needed because pandas
            # keeps null != 'VOID' rows, where SQL's unknown makes the rule pass.
            gxe.ExpectColumnValuesToBeBetween(
                column="amount",
                max_value=5000,
                strict_max=True,
                row_condition=status.is_not_null() & (status != "VOID"),
                meta={"rule": "big_orders_void"},
            ),
            gxe.ExpectTableRowCountToBeBetween(min_value=1_000_000, meta={"rule": "row_count_8"}),
            gxe.ExpectColumnMaxToBeBetween(
                column="ordered_at", min_value=now - MAX_AGE, meta={"rule": "freshness_ordered_at"}
            ),
        ],
    )


def gx_counts(batch_definition: Any, data: Any, suite: Any) -> dict[str, int]:
    """Failing rows per rule: a batch of the pandas frame, validated with unexpected counts.

    ``get_batch`` is part of the timed call: GX fingerprints (hashes) each new frame there.
    """
    batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
    outcome = batch.validate(suite, result_format={"result_format": "BASIC"})
    counts: dict[str, int] = {}
    for res in outcome.results:
        rule = res.expectation_config.meta["rule"]
        if res.exception_info.get("raised_exception"):
            raise RuntimeError(f"Great Expectations failed on {rule}: {res.exception_info}")
        unexpected = res.result.get("unexpected_count")
        counts[rule] = int(unexpected) if unexpected is not None else int(not res.success)
    return counts


def _agree(library: str, counts: dict[str, int], lakesmith: dict[str, int]) -> None:
    """Raise unless ``counts`` equals lakesmith's on every rule the library expressed."""
    unknown = sorted(set(counts) - set(lakesmith))
    diffs = {
        n: (c, lakesmith[n]) for n, c in counts.items() if n in lakesmith and c != lakesmith[n]
    }
    if unknown or diffs:
        raise AssertionError(
            f"{library} does not answer like lakesmith; (theirs, lakesmith) per rule: {diffs}"
            + (f"; rules lakesmith does not have: {unknown}" if unknown else "")
        )


def _lakesmith_s(frame: pl.DataFrame, names: set[str], all_rules_s: float) -> float:
    """Lakesmith's time on the rules a baseline could express (all of them: the full run)."""
    kept = [rule for n, rule in RULES.named() if n in names]
    if len(kept) == len(RULES.rules):
        return all_rules_s
    subset = r.RuleSet(dataset=RULES.dataset, rules=kept)
    return statistics.median(timed(lambda: evaluate(subset, frame))[0] for _ in range(RUNS))


def baselines(
    frame: pl.DataFrame, lakesmith: dict[str, int], lakesmith_s: float
) -> dict[str, object]:
    """pandera and Great Expectations on the same rules; each skipped if not installed."""
    figures: dict[str, object] = {}
    now = datetime.now(UTC)
    skipped = []
    try:
        import pandera.polars  # noqa: F401
    except ImportError as exc:
        skipped.append(_skipped("pandera", exc))
    else:
        runs = [timed(lambda: pandera_counts(frame, now)) for _ in range(RUNS)]
        counts = runs[0][1]
        _agree("pandera", counts, lakesmith)
        seconds = statistics.median(t for t, _ in runs)
        figures["pandera_rules"] = len(counts)
        figures["pandera_s"] = round(seconds, 3)
        figures["pandera_vs_lakesmith"] = round(
            seconds / _lakesmith_s(frame, set(counts), lakesmith_s), 1
        )
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage events from a benchmark
    try:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
    except ImportError as exc:
        skipped.append(_skipped("great_expectations", exc))
        return figures | {"baselines_skipped": skipped}
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("lakesmith_bench").add_dataframe_asset("orders")
    batch_definition = asset.add_batch_definition_whole_dataframe("all_rows")
    suite = gx_suite(now)
    # GX validates pandas: the conversion is timed on its own, outside GX's figure
    to_pandas_s, data = timed(frame.to_pandas)
    runs = [timed(lambda: gx_counts(batch_definition, data, suite))]
    if runs[0][0] <= GX_SLOW_RUN_S:
        runs += [timed(lambda: gx_counts(batch_definition, data, suite)) for _ in range(RUNS - 1)]
    counts = runs[0][1]
    _agree("great_expectations", counts, lakesmith)
    seconds = statistics.median(t for t, _ in runs)
    base_s = _lakesmith_s(frame, set(counts), lakesmith_s)
    figures["gx_rules"] = len(counts)
    figures["gx_input"] = "pandas frame converted from Polars outside the timed region"
    figures["gx_runs"] = len(runs)
    figures["gx_s"] = round(seconds, 3)
    figures["gx_to_pandas_s"] = round(to_pandas_s, 3)
    figures["gx_vs_lakesmith"] = round(seconds / base_s, 1)
    figures["gx_vs_lakesmith_incl_to_pandas"] = round((seconds + to_pandas_s) / base_s, 1)
    return figures | ({"baselines_skipped": skipped} if skipped else {})


def gate_figures(frame: pl.DataFrame) -> dict[str, object]:
    """The pipeline's quality gate on the same rules, as a node runs it.

    Quarantine against check-only (``on_error: warn``: the same evaluation, no split), and
    against the gate's former two passes: evaluate, then split recomputing every rule's
    verdicts. The baseline runs today's functions, so the difference is the second pass alone;
    it must quarantine exactly the gate's rows with the same reasons before it is timed.
    """
    from lakesmith.config.models import NodeQuality
    from lakesmith.pipeline.quality_gate import check

    def gate(on_error: Literal["warn", "quarantine"]) -> Callable[[], Any]:
        quality = NodeQuality(rules=RULES.rules, on_error=on_error)
        return lambda: check(quality, frame, Path.cwd(), "orders")

    errors = {
        n
        for n, rule in RULES.named()
        if isinstance(rule, r.ROW_CHECKS) and RULES.severity(rule) == "error"
    }

    def two_passes() -> pl.DataFrame:
        evaluate(RULES, frame)
        return flag(RULES, frame).split(errors)[1]

    one = gate("quarantine")().quarantine
    if not one.equals(two_passes()):
        raise AssertionError("the two-pass baseline quarantines other rows than the gate")
    check_s = statistics.median(timed(gate("warn"))[0] for _ in range(RUNS))
    gate_s = statistics.median(timed(gate("quarantine"))[0] for _ in range(RUNS))
    two_s = statistics.median(timed(two_passes)[0] for _ in range(RUNS))
    return {
        "gate_check_only_s": round(check_s, 3),
        "gate_quarantine_s": round(gate_s, 3),
        "gate_quarantine_rows_per_s": round(frame.height / gate_s),
        "gate_quarantined_rows": one.height,
        "gate_quarantine_vs_check_only": round(gate_s / check_s, 2),
        "gate_two_passes_s": round(two_s, 3),
        "gate_two_passes_vs_one": round(two_s / gate_s, 2),
    }


def _skipped(package: str, exc: ImportError) -> str:
    print(
        f"note: {package} baseline skipped ({exc}); `make bench` installs the bench extra "
        "(uv sync --frozen --extra dev --extra bench)",
        file=sys.stderr,
    )
    return package


def main() -> None:
    frame = make_data()
    print(f"{frame.height:,} rows, {len(RULES.rules)} rules", file=sys.stderr)
    runs = [timed(lambda: evaluate(RULES, frame)) for _ in range(RUNS)]
    seconds = statistics.median(t for t, _ in runs)
    result = runs[0][1]
    lazy_runs = [timed(lambda: evaluate(RULES, pl.scan_parquet(DATA)))[0] for _ in range(RUNS)]
    split_s, (valid, quarantine) = timed(lambda: split(RULES, frame))
    figures: dict[str, object] = {
        "rows": frame.height,
        "rules": len(RULES.rules),
        "rules_in_memory_s": round(seconds, 3),
        "rules_rows_per_s": round(frame.height / seconds),
        "rules_from_parquet_s": round(statistics.median(lazy_runs), 3),
        "target_s": 0.8,
        "failed_rules": [x.name for x in result.rules if not x.success],
        "quarantine_split_s": round(split_s, 3),
        "quarantined_rows": quarantine.height,
        "valid_rows": valid.height,
    }
    print("quality gate: check-only, quarantine, two-pass baseline", file=sys.stderr)
    figures.update(gate_figures(frame))
    try:
        from lakesmith.quality.profile import profile

        profile_runs = [timed(lambda: profile(frame))[0] for _ in range(RUNS)]
        figures["profile_s"] = round(statistics.median(profile_runs), 3)
        figures["profile_target_s"] = 2.0
    except ImportError:
        figures["profile_s"] = None
    lakesmith_counts = {x.name: x.fail_count for x in result.rules}
    figures.update(baselines(frame, lakesmith_counts, seconds))
    print(json.dumps({"benchmark": "quality", "figures": figures}))


if __name__ == "__main__":
    main()
