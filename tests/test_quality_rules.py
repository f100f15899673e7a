"""Quality rules: Polars and SQL compilations agree with each other and a Python oracle."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from lakesmith.errors import ConfigError
from lakesmith.quality import rules as r
from lakesmith.quality.compiler import count_failures_sql, passes, to_polars, to_sql
from lakesmith.quality.evaluate import evaluate
from lakesmith.quality.flags import FAILED_RULES, split

ROW = st.fixed_dictionaries(
    {
        "id": st.one_of(st.none(), st.integers(0, 6)),
        "amount": st.one_of(st.none(), st.floats(-50, 150, allow_nan=False)),
        "status": st.one_of(st.none(), st.sampled_from(["new", "paid", "void", "PAID", ""])),
        "email": st.one_of(
            st.none(), st.sampled_from(["a@b.co", "bad", "x.y@mail.example.org", "@no.pe"])
        ),
        "day": st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2024, 12, 31))),
    }
)
SCHEMA = {
    "id": pl.Int64,
    "amount": pl.Float64,
    "status": pl.String,
    "email": pl.String,
    "day": pl.Date,
}
EMAIL = re.compile(r.PATTERNS["email"])


def _null_ok(value, check) -> bool:
    return value is None or check(value)


# (rule, oracle over one row dict and the whole column of rows for 'unique')
CASES: list[tuple[r._Rule, object]] = [
    (r.NotNull(check="not_null", column="status"), lambda row, rows: row["status"] is not None),
    (
        r.InRange(check="in_range", column="amount", min=0, max=100),
        lambda row, rows: _null_ok(row["amount"], lambda v: 0 <= v <= 100),
    ),
    (
        r.InRange(check="in_range", column="amount", min=0, inclusive=False),
        lambda row, rows: _null_ok(row["amount"], lambda v: v > 0),
    ),
    (
        r.InRange(check="in_range", column="day", min="2024-03-01", max="2024-09-30"),
        lambda row, rows: _null_ok(
            row["day"], lambda v: date(2024, 3, 1) <= v <= date(2024, 9, 30)
        ),
    ),
    (
        r.InSet(check="in_set", column="status", values=["new", "paid"]),
        lambda row, rows: _null_ok(row["status"], lambda v: v in ("new", "paid")),
    ),
    (
        r.Matches(check="matches", column="email", pattern="email"),
        lambda row, rows: _null_ok(row["email"], lambda v: EMAIL.search(v) is not None),
    ),
    (
        r.Expr(check="expr", expr="amount < 100 OR status = 'void'"),
        lambda row, rows: (
            _sql_or(
                _cmp(row["amount"], lambda v: v < 100), _cmp(row["status"], lambda v: v == "void")
            )
            is not False
        ),
    ),
    (
        r.Unique(check="unique", columns=["id"]),
        lambda row, rows: row["id"] is None or sum(x["id"] == row["id"] for x in rows) == 1,
    ),
    (
        r.NotNull(check="not_null", column="email", filter="status = 'paid'"),
        lambda row, rows: row["status"] != "paid" or row["email"] is not None,
    ),
]


def _cmp(value, check):
    return None if value is None else check(value)


def _sql_or(a, b):
    """SQL three-valued OR."""
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(ROW, min_size=0, max_size=30))
def test_polars_sql_and_oracle_agree_for_every_row_check(rows: list[dict]) -> None:
    frame = _frame(rows)
    con = duckdb.connect()
    con.register("t", frame.with_row_index("__i"))  # window results come back unordered
    for rule, oracle in CASES:
        pred = passes(rule)
        expected = [bool(oracle(row, rows)) for row in rows]  # type: ignore[operator]
        polars_says = frame.select(to_polars(pred, frame.schema).alias("ok"))["ok"].to_list()
        sql = to_sql(pred, "duckdb")
        sql_says = [x[0] for x in con.sql(f"SELECT {sql} FROM t ORDER BY __i").fetchall()]
        assert polars_says == expected, (rule, sql)
        assert sql_says == expected, (rule, sql)
    con.close()


@pytest.mark.parametrize("dialect", ["databricks", "spark", "duckdb"])
def test_sql_is_valid_in_each_dialect(dialect: str) -> None:
    named = [(f"r{i}", passes(rule)) for i, (rule, _) in enumerate(CASES)]
    query = count_failures_sql(named, "main.sales.orders", dialect)
    assert sqlglot.parse_one(query, read=dialect) is not None
    assert "SUM(CASE WHEN" in query


def test_one_scan_counts_match_the_sql_query() -> None:
    rows = [
        {"id": 1, "amount": 10.0, "status": "new", "email": "a@b.co", "day": date(2024, 5, 1)},
        {"id": 1, "amount": 500.0, "status": None, "email": "bad", "day": None},
        {"id": 2, "amount": None, "status": "paid", "email": None, "day": date(2024, 1, 1)},
    ]
    frame = _frame(rows)
    ruleset = r.RuleSet(
        rules=[rule.model_copy(update={"name": f"r{i}"}) for i, (rule, _) in enumerate(CASES)]
    )
    result = evaluate(ruleset, frame)
    named = [(n, passes(rule)) for n, rule in ruleset.named()]
    con = duckdb.connect()
    con.register("t", frame)
    sql_counts = con.sql(count_failures_sql(named, "t", "duckdb")).pl().row(0, named=True)
    assert sql_counts["__rows"] == result.rows == 3
    for rr in result.rules:
        assert rr.fail_count == sql_counts[rr.name], rr.name
    assert not result.passed
    unique = next(x for x in result.rules if x.check == "unique")
    assert unique.fail_count == 2 and unique.sample == [1, 1]


def test_large_sets_are_joins_and_agree_with_polars() -> None:
    allowed = [f"s{i:03d}" for i in range(0, 400, 2)]  # 200 values: a join, not an IN-list
    frame = pl.DataFrame({"code": [f"s{i:03d}" if i % 7 else None for i in range(400)]})
    rule = r.InSet(check="in_set", column="code", values=allowed, name="code_known")
    expected = sum(1 for c in frame["code"] if c is not None and c not in allowed)
    assert evaluate(r.RuleSet(rules=[rule]), frame).rules[0].fail_count == expected
    con = duckdb.connect()
    con.register("t", frame)
    query = count_failures_sql([("code_known", passes(rule))], "t", "duckdb")
    assert "LEFT JOIN" in query and " IN (" not in query
    assert con.sql(query).fetchall() == [(400, expected)]
    alone = to_sql(passes(rule), "duckdb")  # on its own: a semi-join subquery
    assert "SELECT" in alone
    ok = con.sql(f"SELECT {alone} FROM t").fetchall()
    assert sum(not x[0] for x in ok) == expected
    con.close()


def test_quarantine_splits_rows_and_names_the_broken_rules() -> None:
    frame = _frame(
        [
            {"id": 1, "amount": 10.0, "status": "new", "email": "a@b.co", "day": None},
            {"id": 2, "amount": 500.0, "status": "new", "email": "bad", "day": None},
            {"id": 3, "amount": None, "status": None, "email": None, "day": None},
        ]
    )
    ruleset = r.RuleSet(
        rules=[
            r.InRange(check="in_range", column="amount", min=0, max=100, name="amount_ok"),
            r.Matches(check="matches", column="email", pattern="email", name="email_ok"),
            r.NotNull(check="not_null", column="status", name="status_set"),
        ]
    )
    valid, quarantine = split(ruleset, frame)
    assert valid["id"].to_list() == [1]
    assert valid.columns == frame.columns
    assert quarantine["id"].to_list() == [2, 3]
    assert quarantine[FAILED_RULES].to_list() == [["amount_ok", "email_ok"], ["status_set"]]
    assert valid.height + quarantine.height == frame.height


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(ROW, min_size=0, max_size=30))
def test_quarantine_matches_the_oracle_row_by_row(rows: list[dict]) -> None:
    frame = _frame(rows).with_row_index("__i")
    ruleset = r.RuleSet(
        rules=[rule.model_copy(update={"name": f"r{i}"}) for i, (rule, _) in enumerate(CASES)]
    )
    broken = [
        [f"r{i}" for i, (_, oracle) in enumerate(CASES) if not oracle(row, rows)]  # type: ignore[operator]
        for row in rows
    ]
    valid, quarantine = split(ruleset, frame)
    assert valid["__i"].to_list() == [i for i, b in enumerate(broken) if not b]
    assert quarantine["__i"].to_list() == [i for i, b in enumerate(broken) if b]
    assert quarantine[FAILED_RULES].to_list() == [b for b in broken if b]


def test_dataset_level_checks_and_tolerance() -> None:
    now = datetime(2025, 1, 2, tzinfo=UTC)
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "customer_id": [10, 11, 99, None],
            "amount": [5.0, -1.0, 7.0, 8.0],
            "ts": [now - timedelta(hours=h) for h in (30, 20, 10, 5)],
        }
    )
    customers = pl.LazyFrame({"id": [10, 11, 12]})
    ruleset = r.RuleSet(
        dataset="orders",
        rules=[
            r.RowCount(check="row_count", min=5, name="enough_rows", severity="warn"),
            r.Freshness(check="freshness", column="ts", max_age_hours=6, name="fresh"),
            r.Freshness(check="freshness", column="ts", max_age_hours=4, name="too_strict"),
            r.ForeignKey(
                check="foreign_key",
                columns=["customer_id"],
                ref_table="sales.customers",
                ref_columns=["id"],
                name="customer_exists",
            ),
            r.Query(check="query", sql="SELECT * FROM orders WHERE amount < 0", name="no_neg"),
            r.InRange(
                check="in_range",
                column="amount",
                min=0,
                name="tolerated",
                tolerance=r.Tolerance(max_ratio=0.25),
            ),
        ],
    )
    result = evaluate(
        ruleset, orders, resolve_table=lambda name: {"sales.customers": customers}[name], now=now
    )
    by = {x.name: x for x in result.rules}
    assert not by["enough_rows"].success and by["enough_rows"].severity == "warn"
    assert by["fresh"].success and not by["too_strict"].success
    assert by["customer_exists"].fail_count == 1  # 99; the null key passes
    assert by["no_neg"].fail_count == 1 and not by["no_neg"].success
    assert by["tolerated"].fail_count == 1 and by["tolerated"].success
    assert {x.name for x in result.errors} == {"too_strict", "customer_exists", "no_neg"}
    assert [x.name for x in result.warnings] == ["enough_rows"]


def test_bad_rules_file_lists_every_error(tmp_path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "version: 1\n"
        "rules:\n"
        "  - {check: not_nul, column: a}\n"
        "  - {check: in_range, column: b}\n"
        "  - {check: matches, column: c, pattern: postcode}\n"
        "  - {check: in_set, column: d, values: [x], severty: warn}\n"
    )
    with pytest.raises(ConfigError) as info:
        r.load_rules(path)
    text = str(info.value)
    assert "rules.yaml:3" in text and "'not_nul'" in text and "Did you mean 'not_null'?" in text
    assert "in_range needs min, max or both" in text
    assert "unknown pattern 'postcode'" in text
    assert "unknown key 'severty'" in text and "Did you mean 'severity'?" in text


def test_rule_names_default_and_must_be_unique() -> None:
    ruleset = r.RuleSet(
        rules=[
            r.NotNull(check="not_null", column="a"),
            r.Unique(check="unique", columns=["a", "b"]),
            r.RowCount(check="row_count", min=1),
        ]
    )
    assert [n for n, _ in ruleset.named()] == ["not_null_a", "unique_a_b", "row_count_2"]
    with pytest.raises(ValueError, match="repeated"):
        r.RuleSet(
            rules=[
                r.NotNull(check="not_null", column="a"),
                r.NotNull(check="not_null", column="a"),
            ]
        )
