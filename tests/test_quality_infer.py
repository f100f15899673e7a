"""Rule inference: suggested rules hold on their source and catch the rows they should."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from conftest import Project
from lakesmith.cli.main import app
from lakesmith.quality import rules as r
from lakesmith.quality.evaluate import evaluate
from lakesmith.quality.infer import (
    Suggestion,
    infer_rules,
    key_columns,
    suggest,
    to_json,
    to_ruleset,
    to_yaml,
)
from lakesmith.quality.profile import profile
from lakesmith.quality.rules import load_rules

STATUSES = ["new", "paid", "shipped", "cancelled"]
N_CUSTOMERS = 200


def make_customers(n: int = N_CUSTOMERS) -> pl.DataFrame:
    rng = random.Random(1)
    return pl.DataFrame(
        {
            "customer_id": list(range(1, n + 1)),
            "email": [f"user{i}@example.com" for i in range(1, n + 1)],
            "name": [f"Customer {i}" for i in range(1, n + 1)],
            "segment": [rng.choice(["retail", "smb", "enterprise"]) for _ in range(n)],
        }
    )


def make_orders(n: int = 2_000, *, customers: int = N_CUSTOMERS, seed: int = 7) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame(
        {
            "order_id": list(range(10_000, 10_000 + n)),
            "customer_id": [rng.randint(1, customers) for _ in range(n)],
            "status": [rng.choice(STATUSES) for _ in range(n)],
            "amount": [round(rng.uniform(5, 500), 2) for _ in range(n)],
            "quantity": [rng.randint(1, 40) for _ in range(n)],
            "order_date": [
                date(2024, 1, 1) + timedelta(days=rng.randint(0, 365)) for _ in range(n)
            ],
            "coupon": [rng.choice([None, "SPRING", "VIP10"]) for _ in range(n)],
            "contact": [
                None if rng.random() < 0.1 else f"c{rng.randint(1, 99)}@mail.example.org"
                for _ in range(n)
            ],
        }
    )


@pytest.fixture(scope="module")
def customers() -> pl.DataFrame:
    return make_customers()


@pytest.fixture(scope="module")
def orders() -> pl.DataFrame:
    return make_orders()


@pytest.fixture(scope="module")
def suggested(orders: pl.DataFrame, customers: pl.DataFrame) -> list[Suggestion]:
    return infer_rules(orders, table="sales.orders", related={"sales.customers": customers.lazy()})


def by_key(suggestions: list[Suggestion]) -> dict[tuple[str, str], Suggestion]:
    out: dict[tuple[str, str], Suggestion] = {}
    for s in suggestions:
        rule = s.rule
        column = getattr(rule, "column", None) or ",".join(getattr(rule, "columns", None) or [])
        out[(rule.check, column)] = s
    return out


def run(ruleset: r.RuleSet, frame: pl.DataFrame, customers: pl.DataFrame) -> list[str]:
    """Names of the rules that fail on ``frame``."""
    result = evaluate(ruleset, frame, resolve_table=lambda _: customers.lazy())
    return [x.name for x in result.rules if not x.success]


def test_suggests_the_expected_rules_with_sensible_bounds(
    suggested: list[Suggestion], orders: pl.DataFrame
) -> None:
    found = by_key(suggested)
    for key in [
        ("row_count", ""),
        ("not_null", "order_id"),
        ("unique", "order_id"),
        ("not_null", "customer_id"),
        ("foreign_key", "customer_id"),
        ("in_set", "status"),
        ("in_range", "amount"),
        ("in_range", "quantity"),
        ("in_range", "order_date"),
        ("in_set", "coupon"),
        ("matches", "contact"),
    ]:
        assert key in found, f"missing {key}; got {sorted(found)}"
    assert ("not_null", "coupon") not in found and ("not_null", "contact") not in found
    assert ("unique", "customer_id") not in found  # a child key repeats
    assert ("in_range", "order_id") not in found  # keys grow; a range on them is noise
    assert ("in_set", "customer_id") not in found

    amount = found[("in_range", "amount")].rule
    assert isinstance(amount, r.InRange)
    assert amount.min == 0  # non-negative data keeps a 0 floor
    assert isinstance(amount.max, int | float)
    top = orders.select(pl.col("amount").max()).item()
    assert top <= amount.max <= 1.3 * top
    quantity = found[("in_range", "quantity")].rule
    assert isinstance(quantity, r.InRange)
    assert isinstance(quantity.max, int) and 40 <= quantity.max <= 60
    status = found[("in_set", "status")].rule
    assert isinstance(status, r.InSet) and sorted(map(str, status.values)) == sorted(STATUSES)
    contact = found[("matches", "contact")].rule
    assert isinstance(contact, r.Matches) and contact.pattern == "email"
    assert contact.tolerance is None
    fk = found[("foreign_key", "customer_id")].rule
    assert isinstance(fk, r.ForeignKey) and fk.ref_table == "sales.customers"
    assert fk.ref_columns is None and fk.tolerance is None
    row_count = found[("row_count", "")].rule
    assert isinstance(row_count, r.RowCount) and row_count.min == orders.height // 2
    date_range = found[("in_range", "order_date")].rule
    assert isinstance(date_range, r.InRange)
    assert str(date_range.min) <= "2024-01-01" and str(date_range.max) > "2024-12-31"

    for s in suggested:
        assert s.rule.severity == "warn"
        assert s.evidence and 0 < s.confidence <= 1
    assert found[("not_null", "order_id")].evidence == "0 nulls in 2,000 rows"
    assert "0 orphans" in found[("foreign_key", "customer_id")].evidence
    # confidence follows the evidence: a key with 2,000 rows beats a range and the row count
    assert found[("unique", "order_id")].confidence > found[("in_range", "amount")].confidence
    assert found[("in_range", "amount")].confidence > found[("row_count", "")].confidence


def test_suggested_rules_pass_on_their_source(
    suggested: list[Suggestion], orders: pl.DataFrame, customers: pl.DataFrame
) -> None:
    assert run(to_ruleset(suggested, "sales.orders"), orders, customers) == []


def _bad(orders: pl.DataFrame, **values: object) -> pl.DataFrame:
    row = orders.head(1).with_columns(
        pl.lit(v, dtype=orders.schema[k]).alias(k) for k, v in values.items()
    )
    return pl.concat([orders, row.with_columns(order_id=pl.lit(1, dtype=pl.Int64))])


@pytest.mark.parametrize(
    ("values", "fails"),
    [
        ({"amount": 100_000.0}, "in_range_amount"),
        ({"amount": -1.0}, "in_range_amount"),
        ({"status": "lost"}, "in_set_status"),
        ({"customer_id": 99_999}, "foreign_key_customer_id"),
        ({"order_date": date(1900, 1, 1)}, "in_range_order_date"),
        ({"contact": "not an email"}, "matches_contact"),
    ],
)
def test_bad_rows_fail_the_rule_inferred_for_them(
    suggested: list[Suggestion],
    orders: pl.DataFrame,
    customers: pl.DataFrame,
    values: dict[str, object],
    fails: str,
) -> None:
    assert run(to_ruleset(suggested), _bad(orders, **values), customers) == [fails]


def test_a_near_miss_foreign_key_is_not_proposed(customers: pl.DataFrame) -> None:
    # 2 % of the orders point past the last customer: below the 99.9 % containment threshold
    orders = make_orders(customers=int(N_CUSTOMERS * 1.02))
    orphans = orders.filter(pl.col("customer_id") > N_CUSTOMERS).height
    assert 0 < orphans < 0.05 * orders.height
    found = by_key(
        infer_rules(orders, table="sales.orders", related={"sales.customers": customers})
    )
    assert ("foreign_key", "customer_id") not in found


def test_a_few_orphans_within_threshold_get_a_tolerance(customers: pl.DataFrame) -> None:
    orders = make_orders(n=4_000).with_columns(
        customer_id=pl.when(pl.col("order_id") == 10_000)
        .then(pl.lit(N_CUSTOMERS + 1))
        .otherwise(pl.col("customer_id"))
    )
    suggested = infer_rules(
        orders, table="sales.orders", related={"sales.customers": customers.lazy()}
    )
    fk = by_key(suggested)[("foreign_key", "customer_id")]
    assert "1 orphan" in fk.evidence
    assert fk.rule.tolerance is not None and fk.rule.tolerance.max_ratio == 0.0003
    assert run(to_ruleset(suggested), orders, customers) == []


def test_id_column_pairs_with_a_table_named_after_it() -> None:
    parents = pl.LazyFrame({"id": list(range(30)), "label": ["x"] * 30})
    children = pl.DataFrame({"line_id": list(range(90)), "product_id": list(range(30)) * 3})
    wanted = key_columns(profile(children), "shop.lines", {"shop.products": ["id", "label"]})
    assert wanted == {"shop.products": ["id"]}
    found = by_key(infer_rules(children, table="shop.lines", related={"shop.products": parents}))
    fk = found[("foreign_key", "product_id")].rule
    assert isinstance(fk, r.ForeignKey) and fk.ref_columns == ["id"]
    # a table's own key never points elsewhere
    assert key_columns(profile(children), "shop.products", {"shop.lines": ["product_id"]}) == {}


def test_floats_and_tiny_tables_are_never_unique() -> None:
    rng = random.Random(3)
    frame = pl.DataFrame(
        {
            "reading_id": [rng.random() for _ in range(500)],  # distinct floats, id-like name
            "price": [rng.random() * 100 for _ in range(500)],
        }
    )
    checks = {(s.rule.check, getattr(s.rule, "column", None)) for s in suggest(profile(frame))}
    assert not any(check == "unique" for check, _ in checks)
    tiny = pl.DataFrame({"order_id": list(range(8))})
    assert "unique" not in {s.rule.check for s in suggest(profile(tiny))}


def test_keys_over_approximate_distinct_counts_are_confirmed_exactly() -> None:
    rows = 1_200_000  # above the profiler's exact limit: its distinct count is an estimate
    frame = pl.DataFrame({"event_id": pl.int_range(rows, eager=True)})
    assert profile(frame).columns[0].distinct_exact is False
    assert "unique" not in {s.rule.check for s in suggest(profile(frame))}  # cannot confirm
    found = by_key(infer_rules(frame))
    assert found[("unique", "event_id")].evidence.startswith(
        "1,200,000 distinct values in 1,200,000 non-null rows (counted exactly)"
    )
    dupes = pl.concat([frame, frame.head(1)])
    assert ("unique", "event_id") not in by_key(infer_rules(dupes))


def test_outliers_widen_the_range_and_lower_the_confidence() -> None:
    rng = random.Random(5)
    values = [rng.uniform(10, 100) for _ in range(999)]
    clean = by_key(infer_rules(pl.DataFrame({"x": values})))[("in_range", "x")]
    dirty = pl.DataFrame({"x": [*values, 1_000_000.0]})
    found = by_key(infer_rules(dirty))[("in_range", "x")]
    assert isinstance(found.rule, r.InRange) and found.rule.max == 1_000_000
    assert "outlier" in found.evidence and "outlier" not in clean.evidence
    assert found.confidence < clean.confidence
    assert evaluate(r.RuleSet(rules=[found.rule]), dirty).passed


def test_non_positive_data_keeps_a_zero_ceiling() -> None:
    frame = pl.DataFrame({"refund": [-float(i % 50) for i in range(500)]})
    rule = by_key(suggest(profile(frame)))[("in_range", "refund")].rule
    assert isinstance(rule, r.InRange) and rule.max == 0 and rule.min is not None
    assert isinstance(rule.min, int | float) and rule.min < -49


def test_nan_columns_get_no_range() -> None:
    frame = pl.DataFrame({"x": [float(i) for i in range(99)] + [float("nan")]})
    assert "in_range" not in {s.rule.check for s in suggest(profile(frame))}


def test_profile_alone_gives_rules_that_pass(orders: pl.DataFrame) -> None:
    suggested = suggest(profile(orders, top_k=20), table="sales.orders")
    assert "foreign_key" not in {s.rule.check for s in suggested}
    result = evaluate(to_ruleset(suggested), orders)
    assert [x.name for x in result.rules if not x.success] == []


def test_a_pattern_with_a_few_misses_gets_the_tolerance_it_needs() -> None:
    emails = [f"u{i}@example.com" for i in range(995)] + ["n/a"] * 5
    frame = pl.DataFrame({"email": emails})
    found = by_key(infer_rules(frame))
    rule = found[("matches", "email")].rule
    assert isinstance(rule, r.Matches) and rule.tolerance is not None
    assert rule.tolerance.max_ratio == 0.005
    assert "5 do not" in found[("matches", "email")].evidence
    assert evaluate(to_ruleset(list(found.values())), frame).passed
    assert ("unique", "email") not in found  # "n/a" repeats


def test_yaml_has_a_comment_per_rule_and_loads_back(
    suggested: list[Suggestion], tmp_path: Path
) -> None:
    text = to_yaml(suggested, "sales.orders")
    comments = [line for line in text.splitlines() if line.startswith("  # confidence ")]
    assert len(comments) == len(suggested)
    assert "  # confidence 0.99 — 0 nulls in 2,000 rows" in comments
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    loaded = load_rules(path)
    assert loaded == to_ruleset(suggested, "sales.orders")
    assert loaded.dataset == "sales.orders"


def test_json_form_keeps_rules_evidence_and_confidence(suggested: list[Suggestion]) -> None:
    data = json.loads(to_json(suggested, "sales.orders"))
    assert data["dataset"] == "sales.orders"
    back = [Suggestion.model_validate(item) for item in data["suggestions"]]
    assert [s.rule for s in back] == [s.rule for s in suggested]
    assert all(item["evidence"] and 0 < item["confidence"] <= 1 for item in data["suggestions"])


def test_no_rows_no_rules() -> None:
    assert suggest(profile(pl.DataFrame({"a": []}, schema={"a": pl.Int64}))) == []


# --- CLI -------------------------------------------------------------------------------------


def _warehouse(project: Project, **tables: pl.DataFrame) -> None:
    """Land each frame as a parquet file and load it with a pipeline node."""
    nodes = []
    for i, (name, frame) in enumerate(tables.items()):
        project.parquet(f"{i}.parquet", frame)
        nodes.append(
            f"  - name: load_{i}\n"
            f"    inputs: {{raw: {{connection: files, path: {i}.parquet}}}}\n"
            f"    write: {{table: {name.replace('__', '.')}, mode: overwrite}}\n"
        )
    project.pipeline("name: main\nnodes:\n" + "".join(nodes))
    assert project.run().status == "succeeded"


def test_cli_suggest_writes_rules_that_quality_check_passes(
    project: Project, tmp_path: Path
) -> None:
    orders, customers = make_orders(n=300, customers=40), make_customers(40)
    # another schema's customers table is not a candidate parent
    _warehouse(
        project,
        sales__orders=orders,
        sales__customers=customers,
        other__customers=customers.head(5),
    )
    runner = CliRunner()
    rules_file = tmp_path / "orders_rules.yml"
    root = str(project.root)

    result = runner.invoke(
        app, ["quality", "suggest", "sales.orders", "-p", root, "-o", str(rules_file)]
    )
    assert result.exit_code == 0, result.output
    assert "suggested rules" in result.stderr and result.stdout == ""
    rules = load_rules(rules_file)
    assert rules.dataset == "sales.orders"
    fks = [x for x in rules.rules if isinstance(x, r.ForeignKey)]
    assert [(x.columns, x.ref_table) for x in fks] == [(["customer_id"], "sales.customers")]
    assert all(x.severity == "warn" for x in rules.rules)

    check = runner.invoke(app, ["quality", "check", str(rules_file), "-p", root, "--json"])
    assert check.exit_code == 0, check.output
    assert all(x["success"] for x in json.loads(check.stdout)["rules"])

    as_json = runner.invoke(app, ["quality", "suggest", "sales.orders", "-p", root, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert len(json.loads(as_json.stdout)["suggestions"]) == len(rules.rules)


def test_cli_suggest_reports_a_missing_table(project: Project) -> None:
    _warehouse(project, sales__customers=make_customers(5))
    result = CliRunner().invoke(app, ["quality", "suggest", "sales.nope", "-p", str(project.root)])
    assert result.exit_code == 2
    assert "sales.nope" in result.stderr
