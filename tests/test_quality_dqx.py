"""DQX import: imported rules fail the same rows as DQX would (a plain-Python oracle of DQX)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from lakesmith.cli.main import app
from lakesmith.errors import ConfigError
from lakesmith.quality import rules as r
from lakesmith.quality.dqx import import_dqx
from lakesmith.quality.evaluate import evaluate
from lakesmith.quality.rules import load_rules

CHECKS = r"""
# a realistic DQX checks file (current argument names)
- name: id_not_null
  criticality: error
  check: {function: is_not_null, arguments: {column: id}}
- name: status_allowed
  criticality: warn
  check:
    function: is_in_list
    arguments: {column: status, allowed: [active, inactive, closed, pending]}
- name: status_allowed_any_case
  check:
    function: is_in_list
    arguments: {column: status, allowed: [active, inactive, closed, pending], case_sensitive: false}
- name: status_required
  check:
    function: is_not_null_and_is_in_list
    arguments: {column: status, allowed: [active, closed, pending]}
- name: status_not_closed
  check: {function: is_not_in_list, arguments: {column: status, forbidden: [closed]}}
- name: amount_in_range
  check: {function: is_in_range, arguments: {column: amount, min_limit: 0, max_limit: 500}}
- name: amount_outside_review_band
  check: {function: is_not_in_range, arguments: {column: amount, min_limit: 100, max_limit: 200}}
- name: active_amount_not_negative
  criticality: warn
  filter: status = 'active'
  check: {function: is_not_less_than, arguments: {column: amount, limit: 0}}
- name: amount_cap
  check: {function: is_not_greater_than, arguments: {column: amount, limit: 999}}
- name: amount_not_zero
  check: {function: is_not_equal_to, arguments: {column: amount, value: 0}}
- name: email_format
  check: {function: regex_match, arguments: {column: email, regex: '^[^@]+@[^@]+\.[a-z]{2,}$'}}
- name: email_not_internal
  check: {function: regex_match, arguments: {column: email, regex: '@x\.com$', negate: true}}
- name: code_not_blank
  check: {function: is_not_empty, arguments: {column: code, trim_strings: true}}
- name: code_present
  check: {function: is_not_null_and_not_empty, arguments: {column: code}}
- name: code_missing_or_blank
  check: {function: is_null_or_empty, arguments: {column: code}}
- name: ip_valid
  check: {function: is_valid_ipv4_address, arguments: {column: ip}}
- name: ip_in_office
  check: {function: is_ipv4_address_in_cidr, arguments: {column: ip, cidr_block: 192.168.1.0/24}}
- name: amount_small_or_missing
  check: {function: sql_expression, arguments: {expression: amount IS NULL OR amount < 500}}
- name: not_closed_sql
  check: {function: sql_expression, arguments: {expression: "status = 'closed'", negate: true}}
- name: id_unique
  check: {function: is_unique, arguments: {columns: [id]}}
- name: status_unique_nulls_equal
  check: {function: is_unique, arguments: {columns: [status], nulls_distinct: false}}
- name: fresh_by_base
  check:
    function: is_data_fresh
    arguments: {column: created, max_age_minutes: 1440, base_timestamp: 2025-01-02 10:00:00}
- name: customer_exists
  check:
    function: foreign_key
    arguments: {columns: [customer_id], ref_columns: [id], ref_table: customers}
- name: active_customer_exists
  filter: status = 'active'
  check:
    function: foreign_key
    arguments: {columns: [customer_id], ref_columns: [id], ref_table: customers}
- name: one_id_per_status
  check:
    function: is_aggr_not_greater_than
    arguments: {column: id, aggr_type: count, group_by: [status], limit: 1}
- name: total_amount_cap
  check:
    function: is_aggr_not_greater_than
    arguments: {column: amount, aggr_type: sum, limit: 1000}
- name: at_least_100_rows
  check:
    function: sql_query
    arguments: {query: "SELECT COUNT(*) < 100 AS condition FROM {{ input_view }}"}
- name: no_negative_amount_per_id
  check:
    function: sql_query
    arguments:
      query: SELECT id, MIN(amount) < 0 AS condition FROM {{ input_view }} GROUP BY id
      merge_columns: [id]
"""

ROWS: list[dict[str, Any]] = [
    {"id": 1, "status": "active", "amount": 10.0, "email": "a@x.com", "ip": "10.0.0.1",
     "code": "A1", "customer_id": 100, "created": datetime(2025, 1, 2, 9)},
    {"id": 2, "status": "Inactive", "amount": -5.0, "email": "bad", "ip": "192.168.1.7",
     "code": "B2", "customer_id": 101, "created": datetime(2024, 12, 31)},
    {"id": 2, "status": None, "amount": None, "email": None, "ip": "300.1.1.1",
     "code": "a1", "customer_id": 999, "created": None},
    {"id": None, "status": None, "amount": 100.0, "email": "c@y.org", "ip": None,
     "code": None, "customer_id": None, "created": datetime(2025, 1, 1, 12)},
    {"id": 5, "status": "closed", "amount": 150.0, "email": "", "ip": "01.2.3.4",
     "code": "C3", "customer_id": 100, "created": datetime(2025, 1, 1, 9)},
    {"id": 6, "status": "", "amount": 0.0, "email": "d@z.io", "ip": "192.168.2.1",
     "code": "", "customer_id": 102, "created": datetime(2025, 1, 3)},
    {"id": 7, "status": "pending", "amount": 1000.0, "email": "e@x.com", "ip": "8.8.8.8",
     "code": "  ", "customer_id": 103, "created": datetime(2025, 1, 2, 10)},
    {"id": 8, "status": "active", "amount": -20.0, "email": "f@x", "ip": "192.168.1.255",
     "code": "A1", "customer_id": 104, "created": datetime(2020, 1, 1)},
]  # fmt: skip
CUSTOMERS = pl.DataFrame({"id": [100, 101, 102, 103]})
DQX_IPV4 = re.compile(
    r"^(25[0-5]|2[0-4]\d|1\d{2}|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d{2}|[1-9]?\d)){3}$"
)


def frame() -> pl.DataFrame:
    # Delta TIMESTAMPs read back UTC-aware, as Databricks TIMESTAMP literals are
    return pl.DataFrame(ROWS, schema_overrides={"created": pl.Datetime("us", "UTC")})


# --- the oracle: DQX's conditions in plain Python; True flags the row, None passes it ----------


def _flagged(row: dict[str, Any], rows: list[dict[str, Any]], name: str) -> bool:
    s, a, e, c, ip = row["status"], row["amount"], row["email"], row["code"], row["ip"]
    same = Counter(x["status"] for x in rows)
    ids = Counter(x["id"] for x in rows if x["id"] is not None)
    per_status = Counter(x["status"] for x in rows if x["id"] is not None)
    allowed = ["active", "inactive", "closed", "pending"]
    base = datetime(2025, 1, 2, 10) - timedelta(minutes=1440)
    total = sum(x["amount"] for x in rows if x["amount"] is not None)
    cid = row["customer_id"]
    min_by_id = {
        k: min(
            (x["amount"] for x in rows if x["id"] == k and x["amount"] is not None), default=None
        )
        for k in ids
    }
    checks: dict[str, Callable[[], bool]] = {
        "id_not_null": lambda: row["id"] is None,
        "status_allowed": lambda: s is not None and s not in allowed,
        "status_allowed_any_case": lambda: s is not None and s.lower() not in allowed,
        "status_required": lambda: s is None or s not in ["active", "closed", "pending"],
        "status_not_closed": lambda: s is not None and s in ["closed"],
        "amount_in_range": lambda: a is not None and (a < 0 or a > 500),
        "amount_outside_review_band": lambda: a is not None and 100 <= a <= 200,
        "active_amount_not_negative": lambda: s == "active" and a is not None and a < 0,
        "amount_cap": lambda: a is not None and a > 999,
        "amount_not_zero": lambda: a is not None and a == 0,
        "email_format": lambda: e is not None and not re.search(r"^[^@]+@[^@]+\.[a-z]{2,}$", e),
        "email_not_internal": lambda: e is not None and bool(re.search(r"@x\.com$", e)),
        "code_not_blank": lambda: c is not None and c.strip() == "",
        "code_present": lambda: c is None or c == "",
        "code_missing_or_blank": lambda: c is not None and c != "",
        "ip_valid": lambda: ip is not None and not DQX_IPV4.match(ip),
        "ip_in_office": lambda: (
            ip is not None
            and (
                not DQX_IPV4.match(ip)
                or ipaddress.ip_address(ip) not in ipaddress.ip_network("192.168.1.0/24")
            )
        ),
        "amount_small_or_missing": lambda: a is not None and a >= 500,
        "not_closed_sql": lambda: s == "closed",
        "id_unique": lambda: row["id"] is not None and ids[row["id"]] > 1,
        "status_unique_nulls_equal": lambda: same[s] > 1,  # None == None here
        "fresh_by_base": lambda: row["created"] is not None and row["created"] < base,
        "customer_exists": lambda: cid is not None and cid not in {100, 101, 102, 103},
        "active_customer_exists": lambda: (
            s == "active" and cid is not None and cid not in {100, 101, 102, 103}
        ),
        "one_id_per_status": lambda: per_status[s] > 1,
        "total_amount_cap": lambda: total > 1000,
        "at_least_100_rows": lambda: len(rows) < 100,
        "no_negative_amount_per_id": lambda: (
            row["id"] is not None and (min_by_id[row["id"]] or 0) < 0
        ),
    }
    return checks[name]()


def oracle(name: str) -> int:
    return sum(_flagged(row, ROWS, name) for row in ROWS)


def failing_counts(ruleset: r.RuleSet) -> dict[str, int]:
    tables = {"customers": CUSTOMERS.lazy()}
    result = evaluate(ruleset, frame(), resolve_table=lambda t: tables[t])
    return {x.name: x.fail_count for x in result.rules}


# --- tests --------------------------------------------------------------------------------------


def test_imported_rules_fail_the_rows_dqx_flags() -> None:
    result = import_dqx(CHECKS, dataset="sales.orders")
    counts = failing_counts(result.ruleset)
    expected = {name: oracle(name) for name in counts}
    assert counts == expected
    assert len(counts) == CHECKS.count("- name:")
    assert all(expected.values()), "every check must flag a row, or the test proves little"


def test_exact_equivalents_are_used_where_lakesmith_has_them() -> None:
    checks = {name: rule.check for name, rule in import_dqx(CHECKS).ruleset.named()}
    assert checks["id_not_null"] == "not_null"
    assert checks["status_allowed"] == "in_set"
    assert checks["amount_in_range"] == checks["amount_cap"] == "in_range"
    assert checks["email_format"] == checks["ip_valid"] == "matches"
    assert checks["id_unique"] == "unique"
    assert checks["customer_exists"] == "foreign_key"
    # null semantics differ from the lakesmith check, so these go through SQL
    assert checks["status_required"] == checks["status_not_closed"] == "expr"
    assert checks["status_unique_nulls_equal"] == checks["active_customer_exists"] == "query"


def test_list_checks_keep_dqx_null_semantics() -> None:
    rules = import_dqx(
        """
        - check: {function: is_in_list, arguments: {column: s, allowed: [a]}}
        - check: {function: is_not_null_and_is_in_list, arguments: {column: s, allowed: [a]}}
        """
    ).ruleset
    data = pl.DataFrame({"s": ["a", None, "b"]})
    assert [x.fail_count for x in evaluate(rules, data).rules] == [1, 2]


def test_filter_criticality_and_metadata_carry_over() -> None:
    result = import_dqx(
        """
        - criticality: warn
          filter: amount > 0
          user_metadata: {owner: sales, tier: 1, contacts: [a, b]}
          check: {function: is_not_null, arguments: {column: id}}
        - check: {function: is_not_null, arguments: {column: email}}
        - criticality: error
          check: {function: is_unique, arguments: {columns: [id]}}
        """
    )
    first, second, third = result.ruleset.rules
    assert [result.ruleset.severity(x) for x in (first, second, third)] == [
        "warn",
        "error",
        "error",
    ]
    assert first.filter == "amount > 0" and second.filter is None
    assert first.tags == ["owner:sales", "tier:1"]
    assert any("contacts" in n.message for n in result.notes)


def test_unknown_criticality_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"\[0\] is_not_null: criticality 'fatal'"):
        import_dqx("- {criticality: fatal, check: {function: is_not_null, arguments: {column: a}}}")


def test_for_each_column_expands_to_one_rule_per_column() -> None:
    rules = import_dqx(
        """
        - name: required
          check: {function: is_not_null, for_each_column: [a, b, c]}
        - check: {function: is_unique, for_each_column: [[a, b], [c]]}
        - check: {function: is_not_in_list, for_each_column: [a, b], arguments: {forbidden: [0]}}
        - check: {function: is_not_null_and_not_empty, arguments: {col_names: [d, e]}}
        """
    ).ruleset
    named = dict(rules.named())
    assert [n for n, x in named.items() if x.check == "not_null"] == [
        "required",
        "required_2",
        "required_3",
    ]
    assert [x.column for n, x in named.items() if n.startswith("required")] == ["a", "b", "c"]
    assert [x.columns for x in rules.rules if isinstance(x, r.Unique)] == [["a", "b"], ["c"]]
    assert [x.expr for x in rules.rules if isinstance(x, r.Expr)] == [
        "a NOT IN (0)",
        "b NOT IN (0)",
        "d IS NOT NULL AND CAST(d AS STRING) <> ''",
        "e IS NOT NULL AND CAST(e AS STRING) <> ''",
    ]


def test_legacy_argument_and_function_names_are_read() -> None:
    result = import_dqx(
        """
        - check: {function: value_is_in_list, arguments: {col_name: s, allowed: [a, b]}}
        - check: {function: not_less_than, arguments: {col_name: n, limit: 1}}
        - check: {function: is_not_in_range, arguments: {col_name: n, min_limit: 1, max_limit: 2}}
        """
    )
    first, second, _ = result.ruleset.rules
    assert isinstance(first, r.InSet) and first.column == "s" and first.values == ["a", "b"]
    assert isinstance(second, r.InRange) and second.min == 1 and second.max is None
    assert [n.key for n in result.notes] == ["[2] is_not_in_range"]  # its meaning changed


def test_json_checks_are_read_too(tmp_path: Path) -> None:
    checks = [
        {"criticality": "warn", "check": {"function": "is_not_null", "for_each_column": ["a"]}},
        {"check": {"function": "is_aggr_not_less_than", "arguments": {"column": "*", "limit": 3}}},
    ]
    path = tmp_path / "checks.json"
    path.write_text(json.dumps(checks, indent=2))
    result = import_dqx(path)
    assert [x.check for x in result.ruleset.rules] == ["not_null", "row_count"]
    passed = evaluate(result.ruleset, pl.DataFrame({"a": [1, 2]}))
    assert [x.success for x in passed.rules] == [True, False]  # 2 rows < 3: the count is off
    assert any("row_count" in n.message for n in result.notes)


UNSUPPORTED = """\
- check: {function: is_not_null, arguments: {column: a}}
- check: {function: is_valid_ipv6_address, arguments: {column: ip}}
- check: {function: is_not_nul, arguments: {column: a}}
- check: {function: is_in_range, arguments: {column: a, min_limit: 1}}
- check: {function: is_not_null, arguments: {column: b}}
"""


def test_unsupported_checks_are_all_reported_with_position_and_hint(tmp_path: Path) -> None:
    path = tmp_path / "checks.yml"
    path.write_text(UNSUPPORTED)
    with pytest.raises(ConfigError) as caught:
        import_dqx(path)
    issues = caught.value.issues
    assert [(i.key, i.line) for i in issues] == [
        ("[1] is_valid_ipv6_address", 2),
        ("[2] is_not_nul", 3),
        ("[3] is_in_range", 4),
    ]
    assert all(i.file == path and i.hint for i in issues)
    text = str(caught.value)
    assert "3 configuration error(s)" in text
    assert "Did you mean 'is_not_null'?" in text
    assert "argument 'max_limit' is missing" in text


def test_skip_unsupported_keeps_the_rest_and_lists_what_it_skipped() -> None:
    result = import_dqx(UNSUPPORTED, skip_unsupported=True)
    kept = result.ruleset.rules
    assert [x.column for x in kept if isinstance(x, r.NotNull)] == ["a", "b"] and len(kept) == 2
    assert [n.key for n in result.skipped] == [
        "[1] is_valid_ipv6_address",
        "[2] is_not_nul",
        "[3] is_in_range",
    ]
    with pytest.raises(ConfigError, match="has no lakesmith equivalent"):
        import_dqx(UNSUPPORTED.splitlines()[1], skip_unsupported=True)


def test_cli_round_trip_writes_rules_that_load_back(tmp_path: Path) -> None:
    checks, out = tmp_path / "dqx_checks.yml", tmp_path / "rules.yml"
    checks.write_text(CHECKS)
    runner = CliRunner()
    result = runner.invoke(
        app, ["quality", "import-dqx", str(checks), "-o", str(out), "--dataset", "sales.orders"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and f"rules to {out}" in result.stderr
    loaded = load_rules(out)
    assert loaded == import_dqx(checks, dataset="sales.orders").ruleset
    assert failing_counts(loaded) == {name: oracle(name) for name, _ in loaded.named()}

    to_stdout = runner.invoke(app, ["quality", "import-dqx", str(checks)])
    assert to_stdout.exit_code == 0, to_stdout.output
    again = tmp_path / "again.yml"
    again.write_text(to_stdout.stdout)
    assert load_rules(again).rules == loaded.rules


def test_cli_reports_unsupported_checks_and_can_skip_them(tmp_path: Path) -> None:
    checks = tmp_path / "checks.yml"
    checks.write_text(UNSUPPORTED)
    runner = CliRunner()
    failed = runner.invoke(app, ["quality", "import-dqx", str(checks)])
    assert failed.exit_code == 2
    assert "[1] is_valid_ipv6_address" in failed.stderr and failed.stdout == ""

    skipped = runner.invoke(app, ["quality", "import-dqx", str(checks), "--skip-unsupported"])
    assert skipped.exit_code == 0, skipped.output
    assert skipped.stderr.count("skipped:") == 3
    assert "check: not_null" in skipped.stdout

    missing = runner.invoke(app, ["quality", "import-dqx", str(tmp_path / "nope.yml")])
    assert missing.exit_code == 2 and "cannot read file" in missing.stderr
