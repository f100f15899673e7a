"""Import Databricks Labs DQX checks (YAML or JSON) as a lakesmith rule set.

DQX checks are PySpark column functions; lakesmith rules are engine-neutral. One table maps each
DQX function to a small converter that returns the lakesmith rule with the same meaning: the
equivalent check where one exists, else an ``expr`` (a Databricks SQL row predicate) or a
``query``. A check with no faithful translation is reported with its position, never dropped.

Why ``NOT condition`` keeps the null semantics: DQX flags a row when a check's *condition* is
true and lets a null condition pass; lakesmith fails a row when its predicate is false and lets a
null predicate pass. The predicate written for a condition C is NOT C (simplified by De Morgan,
which holds in SQL's three-valued logic), so nulls pass or fail exactly where DQX lets them.
lakesmith's dataset-level checks (foreign_key, row_count, query) ignore ``filter``, so a DQX
filter on a dataset-level check is folded into the SQL of a ``query``.

Sources: databrickslabs/dqx ``src/databricks/labs/dqx/check_funcs.py`` and
``docs/dqx/docs/reference/quality_checks.mdx`` (v0.9 to v0.12); the legacy names of v0.1
(``col_name``, ``col_names``, ``value_is_in_list`` ...) are read too. Timestamps compare at full
precision where DQX truncates ``current_timestamp() + offset`` to whole seconds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from lakesmith.config.suggest import did_you_mean
from lakesmith.errors import ConfigError, ConfigIssue

from .rules import Rule, RuleSet, rule_name

_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
IPV4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"
"""DQX's DQPattern.IPV4_ADDRESS with ``\\d`` as ``[0-9]`` (Java's ``\\d`` is ASCII only)."""

ROW_CHECKS = frozenset({"not_null", "unique", "in_range", "in_set", "matches", "expr"})
TOP_KEYS = frozenset({"criticality", "name", "filter", "check", "user_metadata"})
COLUMNS_FIRST = frozenset({"is_unique", "foreign_key", "compare_datasets"})
LEGACY_ARGS = {
    "col_name": "column",
    "col_name1": "column1",
    "col_name2": "column2",
    "min_limit_col_expr": "min_limit",
    "max_limit_col_expr": "max_limit",
}
LEGACY_FUNCTIONS = {
    "value_is_in_list": "is_in_list",
    "value_is_not_null_and_is_in_list": "is_not_null_and_is_in_list",
    "not_less_than": "is_not_less_than",
    "not_greater_than": "is_not_greater_than",
    "not_in_future": "is_not_in_future",
    "not_in_near_future": "is_not_in_near_future",
}
CHANGED_SINCE_LEGACY = frozenset(
    {"is_not_in_range", "is_older_than_n_days", "is_older_than_col2_for_n_days"}
)
_GEO = (
    "is_geometry is_geography is_point is_linestring is_polygon is_multipoint "
    "is_multilinestring is_multipolygon is_geometrycollection is_ogc_valid is_non_empty_geometry "
    "is_not_null_island has_dimension has_x_coordinate_between has_y_coordinate_between "
    "is_area_not_less_than is_area_not_greater_than is_area_equal_to is_area_not_equal_to "
    "is_num_points_not_less_than is_num_points_not_greater_than is_num_points_equal_to "
    "is_num_points_not_equal_to"
).split()
_AS_SQL = "rewrite it as a DQX sql_expression (or a lakesmith expr/query rule) and import again"
UNSUPPORTED: dict[str, str] = {
    "is_valid_ipv6_address": f"DQX validates IPv6 in a Python UDF; {_AS_SQL}",
    "is_ipv6_address_in_cidr": f"DQX checks IPv6 ranges in a Python UDF; {_AS_SQL}",
    "has_valid_json_schema": f"needs Spark's from_json with a corrupt-record column; {_AS_SQL}",
    "does_not_contain_pii": "PII detection runs Presidio models; lakesmith has no equivalent",
    "compare_datasets": "compare the tables with a lakesmith query rule (a FULL OUTER JOIN)",
    "is_data_fresh_per_time_window": "write a query rule that counts rows per time window",
    "has_valid_schema": "declare the schema in the table's contract instead",
    "has_no_outliers": "write a query rule with the median-absolute-deviation bounds",
    **{g: f"needs Databricks spatial (ST_*) functions; {_AS_SQL}" for g in _GEO},
}


class _Unsupported(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class _Limit:
    sql: str
    literal: Any = None  # a number or ISO date text usable in in_range; None for expressions


@dataclass
class _Check:
    """One DQX check being translated; remembers which arguments were read and any notes."""

    function: str
    args: dict[str, Any]
    filter: str | None
    notes: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=lambda: {"msg", "name"})

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        value = self.args.get(key)
        return default if value is None else value

    def need(self, key: str) -> Any:
        value = self.get(key)
        if value is None or value == [] or value == "":
            raise _Unsupported(f"argument '{key}' is missing", f"DQX {self.function} needs '{key}'")
        return value

    def column(self, key: str = "column") -> tuple[str, str | None]:
        """The column as SQL (parenthesised if an expression) and its plain name, if it is one."""
        value = self.need(key)
        if not isinstance(value, str):
            raise _Unsupported(f"'{key}' must be a column name or SQL expression, not {value!r}")
        plain = _plain(value)
        return (value if plain else f"({value})"), plain

    def limit(self, key: str) -> _Limit:
        return _limit(self.need(key))

    def values(self, key: str) -> list[Any]:
        value = self.need(key)
        if not isinstance(value, list):
            raise _Unsupported(f"'{key}' must be a list, not {value!r}")
        return value

    def where(self, prefix: str = " WHERE ") -> str:
        return f"{prefix}({self.filter})" if self.filter else ""


@dataclass(frozen=True)
class ImportResult:
    """The imported rule set and a note for each check that could not be mapped exactly.

    Notes with severity ``"error"`` are checks skipped under ``skip_unsupported``.
    """

    ruleset: RuleSet
    notes: list[ConfigIssue]

    @property
    def skipped(self) -> list[ConfigIssue]:
        return [n for n in self.notes if n.severity == "error"]

    def to_yaml(self, header: str = "") -> str:
        """The rule set as a lakesmith rules file (``load_rules`` reads it back)."""
        doc = self.ruleset.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        doc["rules"] = [_ordered(r) for r in doc["rules"]]
        text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
        return "".join(f"# {line}\n" for line in header.splitlines()) + text


def import_dqx(
    source: str | Path | list[Any],
    *,
    dataset: str | None = None,
    skip_unsupported: bool = False,
) -> ImportResult:
    """Translate DQX checks into a lakesmith ``RuleSet``.

    Args:
        source: a DQX checks file (YAML or JSON), its text, or the checks as a list of dicts.
        dataset: the table the rules check (``dataset`` in the rules file).
        skip_unsupported: keep the checks that translate and report the rest as notes, instead
            of raising.

    Returns:
        The rule set and the notes (inexact mappings, and skipped checks).

    Raises:
        ConfigError: the input is not a DQX checks list, or some checks cannot be translated
            (every one is listed with its index and function), unless ``skip_unsupported``.

    Examples:
        >>> result = import_dqx("- check: {function: is_not_null, arguments: {column: id}}")
        >>> result.ruleset.rules[0].check, result.ruleset.rules[0].column
        ('not_null', 'id')
    """
    checks, file, lines = _load(source)
    models: list[Any] = []
    notes: list[ConfigIssue] = []
    problems: list[ConfigIssue] = []
    for index, entry in enumerate(checks):
        check = entry.get("check") if isinstance(entry, dict) else None
        label = f"[{index}] {check.get('function')}" if isinstance(check, dict) else f"[{index}]"
        where: dict[str, Any] = {"file": file, "line": lines[index] if index < len(lines) else None}
        try:
            function = _function(entry)
            for model, check_notes in _translate(entry, function, index):
                models.append(model)
                notes += [
                    ConfigIssue(n, key=label, severity="warning", **where) for n in check_notes
                ]
        except _Unsupported as exc:
            problems.append(ConfigIssue(str(exc), key=label, hint=exc.hint, **where))
    if problems and not skip_unsupported:
        raise ConfigError(problems)
    if not models:
        raise ConfigError(problems or [ConfigIssue("no checks to import", file=file)])
    models, renamed = _unique_names(models)
    notes += [ConfigIssue(n, severity="warning", file=file) for n in renamed]
    return ImportResult(RuleSet(dataset=dataset, rules=models), notes + problems)


# --- converters: one per DQX function ---------------------------------------------------------


def _expr(text: str) -> dict[str, Any]:
    return {"check": "expr", "expr": text}


def _not_null(c: _Check) -> dict[str, Any]:
    sql, plain = c.column()
    return {"check": "not_null", "column": plain} if plain else _expr(f"{sql} IS NOT NULL")


def _text(c: _Check) -> str:
    sql, _ = c.column()
    text = f"CAST({sql} AS STRING)"
    return f"TRIM({text})" if c.get("trim_strings", False) else text


def _in_list(c: _Check, key: str, negate: bool = False, not_null: bool = False) -> dict[str, Any]:
    sql, plain = c.column()
    values, exact_case = c.values(key), c.get("case_sensitive", True)
    simple = all(isinstance(v, str | int | float | bool) for v in values)
    if plain and exact_case and simple and not negate and not not_null:
        return {"check": "in_set", "column": plain, "values": values}
    lhs = sql if exact_case else f"lower({sql})"
    listed = ", ".join(
        _lit(v.lower() if isinstance(v, str) and not exact_case else v) for v in values
    )
    test = f"{lhs} {'NOT IN' if negate else 'IN'} ({listed})"
    return _expr(f"{sql} IS NOT NULL AND {test}" if not_null else test)


def _range(c: _Check, lo_key: str | None, hi_key: str | None) -> dict[str, Any]:
    sql, plain = c.column()
    lo, hi = (c.limit(k) if k else None for k in (lo_key, hi_key))
    if plain and all(b is None or b.literal is not None for b in (lo, hi)):
        bounds = {"min": lo.literal if lo else None, "max": hi.literal if hi else None}
        return {
            "check": "in_range",
            "column": plain,
            **{k: v for k, v in bounds.items() if v is not None},
        }
    parts = [f"{sql} >= {lo.sql}" if lo else "", f"{sql} <= {hi.sql}" if hi else ""]
    return _expr(" AND ".join(p for p in parts if p))


def _not_in_range(c: _Check) -> dict[str, Any]:
    sql, _ = c.column()
    return _expr(f"{sql} < {c.limit('min_limit').sql} OR {sql} > {c.limit('max_limit').sql}")


def _equal(c: _Check, negate: bool) -> dict[str, Any]:
    sql, _ = c.column()
    value = c.limit("value")
    tol_abs, tol_rel = c.get("abs_tolerance", 0), c.get("rel_tolerance", 0)
    if (tol_abs or tol_rel) and isinstance(value.literal, int | float):
        diff = f"abs({sql} - {value.sql})"
        near = [f"{diff} <= {tol_abs}"] if tol_abs else []
        near += [f"{diff} <= {tol_rel} * greatest(abs({sql}), abs({value.sql}))"] if tol_rel else []
        same = f"({' OR '.join(near)})"
        return _expr(f"NOT {same}" if negate else same)
    return _expr(f"{sql} {'<>' if negate else '='} {value.sql}")


def _regex(c: _Check) -> dict[str, Any]:
    sql, plain = c.column()
    regex, negate = str(c.need("regex")), c.get("negate", False)
    if re.search(r"\(\?<?[=!]|\\[1-9]|\\[pP]\{", regex):
        c.notes.append("the regex uses Java-only syntax (lookaround, backreference or \\p{})")
    if plain and not negate:
        return {"check": "matches", "column": plain, "regex": regex}
    test = f"{sql} RLIKE {_lit(regex)}"
    return _expr(f"NOT ({test})" if negate else test)


def _ipv4(c: _Check) -> dict[str, Any]:
    sql, plain = c.column()
    return (
        {"check": "matches", "column": plain, "regex": IPV4}
        if plain
        else _expr(f"{sql} RLIKE {_lit(IPV4)}")
    )


def _ipv4_cidr(c: _Check) -> dict[str, Any]:
    sql, _ = c.column()
    block = str(c.need("cidr_block"))
    if not re.fullmatch(IPV4[1:-1] + "/(3[0-2]|[12]?[0-9])", block):
        raise _Unsupported(f"'{block}' is not an IPv4 CIDR block", "write it as a.b.c.d/prefix")
    net = ipaddress.ip_network(block, strict=False)
    size = 2 ** (32 - net.prefixlen)
    octets = [
        f"try_cast(split_part({sql}, '.', {i + 1}) AS BIGINT) * {256 ** (3 - i)}" for i in range(4)
    ]
    network = int(net.network_address) // size
    return _expr(f"{sql} RLIKE {_lit(IPV4)} AND floor(({' + '.join(octets)}) / {size}) = {network}")


def _valid_time(c: _Check, key: str) -> dict[str, Any]:
    sql, _ = c.column()
    fmt = c.get(key)
    parsed = f"try_to_timestamp({sql}{', ' + _lit(fmt) if fmt else ''})"
    return _expr(f"{sql} IS NULL OR {parsed} IS NOT NULL")


def _json_keys(c: _Check) -> dict[str, Any]:
    sql, _ = c.column()
    keys = f"array({', '.join(_lit(k) for k in c.values('keys'))})"
    found = f"json_object_keys({sql})"
    if c.get("require_all", True):
        test = f"size(array_except({keys}, {found})) = 0"
        c.notes.append("nulls pass; DQX flags them when size(NULL) is -1 (non-ANSI Spark)")
    else:
        test = f"arrays_overlap({found}, {keys})"
    return _expr(f"{sql} IS NULL OR (try_parse_json({sql}) IS NOT NULL AND {test})")


def _now(c: _Check, key: str, default: str) -> str:
    value = c.get(key)
    return default if value is None else _limit(value).sql


def _future(c: _Check, near: bool) -> dict[str, Any]:
    sql, _ = c.column()
    now = _now(c, "curr_timestamp", "current_timestamp()")
    until = f"{now} + INTERVAL {int(c.get('offset', 0))} SECONDS"
    return _expr(f"{sql} <= {now} OR {sql} >= {until}" if near else f"{sql} <= {until}")


def _older(c: _Check, key: str, than: Callable[[_Check], str]) -> dict[str, Any]:
    sql, _ = c.column(key)
    days = int(c.get("days", 0) if key == "column1" else c.need("days"))
    op = ">=" if c.get("negate", False) else "<"
    return _expr(f"to_date({sql}) {op} date_sub({than(c)}, {days})")


def _fresh(c: _Check) -> dict[str, Any]:
    sql, _ = c.column()
    base = _now(c, "base_timestamp", "current_timestamp()")
    return _expr(f"{sql} >= {base} - INTERVAL {int(c.need('max_age_minutes'))} MINUTES")


def _sql_expression(c: _Check) -> dict[str, Any]:
    text = str(c.need("expression"))
    c.used.add("columns")
    return _expr(f"NOT ({text})" if c.get("negate", False) else text)


def _unique(c: _Check) -> dict[str, Any]:
    cols = [str(x) for x in c.values("columns")]
    plain = [_plain(x) for x in cols]
    distinct = c.get("nulls_distinct", True)
    if distinct and not c.filter and all(plain):
        return {"check": "unique", "columns": plain}
    keep = [f"{x} IS NOT NULL" for x in cols] if distinct else []
    keep += [f"({c.filter})"] if c.filter else []
    where = f" WHERE {' AND '.join(keep)}" if keep else ""
    return _query(
        f"SELECT * FROM (SELECT *, COUNT(*) OVER (PARTITION BY {', '.join(cols)}) AS __n\n"
        f"  FROM dataset{where}) AS t\nWHERE __n > 1"
    )


def _foreign_key(c: _Check) -> dict[str, Any]:
    cols, refs = [str(x) for x in c.values("columns")], [str(x) for x in c.values("ref_columns")]
    if len(cols) != len(refs):
        raise _Unsupported("'columns' and 'ref_columns' differ in length", "pair them by position")
    table, frame = c.get("ref_table"), c.get("ref_df_name")
    if bool(table) == bool(frame):
        raise _Unsupported("give exactly one of 'ref_table' or 'ref_df_name'")
    if frame:
        c.notes.append(f"reference DataFrame '{frame}' is read as table '{frame}'")
    negate, plain = c.get("negate", False), [_plain(x) for x in cols]
    ref_plain = [_plain(x) for x in refs]
    if not negate and not c.filter and all(plain) and all(ref_plain):
        same = ref_plain == plain
        return {"check": "foreign_key", "columns": plain, "ref_table": table or frame} | (
            {} if same else {"ref_columns": ref_plain}
        )
    keys = ", ".join(f"{x} AS __k{i}" for i, x in enumerate(cols))
    present = " AND ".join(f"d.__k{i} IS NOT NULL" for i in range(len(cols)))
    match = " AND ".join(f"{r} = d.__k{i}" for i, r in enumerate(refs))
    return _query(
        f"SELECT * FROM (SELECT *, {keys} FROM dataset{c.where()}) AS d\n"
        f"WHERE {present}\n  AND {'' if negate else 'NOT '}EXISTS "
        f"(SELECT 1 FROM {table or frame} AS r WHERE {match})"
    )


def _sql_query(c: _Check) -> dict[str, Any]:
    query = str(c.need("query"))
    placeholder = str(c.get("input_placeholder", "input_view"))
    source = f"(SELECT * FROM dataset{c.where()})" if c.filter else "dataset"

    def fill(m: re.Match[str]) -> str:
        if m.group(1) == placeholder:
            return source
        c.notes.append(f"reference DataFrame '{m.group(1)}' is read as table '{m.group(1)}'")
        return m.group(1)

    query = re.sub(r"\{\{\s*(\w+)\s*\}\}", fill, query)
    flag, merge = str(c.get("condition_column", "condition")), list(c.get("merge_columns", []))
    verdict = "NOT " if c.get("negate", False) else ""
    also = c.where(" AND ")
    if not merge:
        return _query(
            f"SELECT * FROM dataset\nWHERE {verdict}(SELECT MAX({flag}) FROM ({query}) AS q){also}"
        )
    keys = ", ".join(f"{m} AS __m{i}" for i, m in enumerate(merge))
    on = " AND ".join(f"{m} = v.__m{i}" for i, m in enumerate(merge))
    return _query(
        f"SELECT d.* FROM dataset AS d\nJOIN (SELECT {keys}, MAX({flag}) AS __violation\n"
        f"  FROM ({query}) AS q GROUP BY {', '.join(merge)}) AS v ON {on}\n"
        f"WHERE {verdict}v.__violation{also}"
    )


def _aggregate(c: _Check, fails: str) -> dict[str, Any]:
    column, kind = str(c.get("column", "*")), str(c.get("aggr_type", "count")).lower()
    limit, group = c.limit("limit"), [str(g) for g in c.get("group_by", [])]
    params = [_lit(v) for v in (c.get("aggr_params") or {}).values()]
    row_count = kind == "count" and column == "*" and not group and not c.filter
    if row_count and isinstance(limit.literal, int) and fails != "=":
        c.notes.append("row_count fails once; DQX marks every row when the count is off")
        bounds = {">": {"max": limit.literal}, "<": {"min": limit.literal}}
        return {
            "check": "row_count",
            **bounds.get(fails, {"min": limit.literal, "max": limit.literal}),
        }
    if kind == "count_distinct":
        metric = f"COUNT(DISTINCT {column})"
    else:
        metric = f"{kind}({', '.join([column, *params])})"
    if not group:
        sub = f"(SELECT {metric} FROM dataset{c.where()})"
        return _query(f"SELECT * FROM dataset\nWHERE {sub} {fails} {limit.sql}{c.where(' AND ')}")
    keys = ", ".join(f"{g} AS __g{i}" for i, g in enumerate(group))
    on = " AND ".join(f"{g} <=> a.__g{i}" for i, g in enumerate(group))
    return _query(
        f"SELECT d.* FROM dataset AS d\nJOIN (SELECT {keys}, {metric} AS __metric\n"
        f"  FROM dataset{c.where()} GROUP BY {', '.join(group)}) AS a ON {on}\n"
        f"WHERE a.__metric {fails} {limit.sql}{c.where(' AND ')}"
    )


def _query(sql: str) -> dict[str, Any]:
    return {"check": "query", "sql": sql}


def _col_date(c: _Check) -> str:
    return f"to_date({c.column('column2')[0]})"


Converter = Callable[[_Check], dict[str, Any]]
CONVERTERS: dict[str, Converter] = {
    "is_not_null": _not_null,
    "is_null": lambda c: _expr(f"{c.column()[0]} IS NULL"),
    "is_not_empty": lambda c: _expr(f"{_text(c)} <> ''"),
    "is_empty": lambda c: _expr(f"{_text(c)} = ''"),
    "is_not_null_and_not_empty": lambda c: _expr(
        f"{c.column()[0]} IS NOT NULL AND {_text(c)} <> ''"
    ),
    "is_null_or_empty": lambda c: _expr(f"{c.column()[0]} IS NULL OR {_text(c)} = ''"),
    "is_in_list": lambda c: _in_list(c, "allowed"),
    "is_not_null_and_is_in_list": lambda c: _in_list(c, "allowed", not_null=True),
    "is_not_in_list": lambda c: _in_list(c, "forbidden", negate=True),
    "is_not_null_and_not_empty_array": lambda c: _expr(
        f"{c.column()[0]} IS NOT NULL AND size({c.column()[0]}) > 0"
    ),
    "is_in_range": lambda c: _range(c, "min_limit", "max_limit"),
    "is_not_in_range": _not_in_range,
    "is_not_less_than": lambda c: _range(c, "limit", None),
    "is_not_greater_than": lambda c: _range(c, None, "limit"),
    "is_equal_to": lambda c: _equal(c, negate=False),
    "is_not_equal_to": lambda c: _equal(c, negate=True),
    "regex_match": _regex,
    "is_valid_ipv4_address": _ipv4,
    "is_ipv4_address_in_cidr": _ipv4_cidr,
    "is_valid_date": lambda c: _valid_time(c, "date_format"),
    "is_valid_timestamp": lambda c: _valid_time(c, "timestamp_format"),
    "is_valid_json": lambda c: _expr(
        f"{c.column()[0]} IS NULL OR try_parse_json({c.column()[0]}) IS NOT NULL"
    ),
    "has_json_keys": _json_keys,
    "is_not_in_future": lambda c: _future(c, near=False),
    "is_not_in_near_future": lambda c: _future(c, near=True),
    "is_older_than_n_days": lambda c: _older(
        c, "column", lambda c: _now(c, "curr_date", "current_date()")
    ),
    "is_older_than_col2_for_n_days": lambda c: _older(c, "column1", _col_date),
    "is_data_fresh": _fresh,
    "is_latitude": lambda c: _expr(f"try_cast({c.column()[0]} AS DOUBLE) BETWEEN -90.0 AND 90.0"),
    "is_longitude": lambda c: _expr(
        f"try_cast({c.column()[0]} AS DOUBLE) BETWEEN -180.0 AND 180.0"
    ),
    "sql_expression": _sql_expression,
    "is_unique": _unique,
    "foreign_key": _foreign_key,
    "sql_query": _sql_query,
    "is_aggr_not_greater_than": lambda c: _aggregate(c, ">"),
    "is_aggr_not_less_than": lambda c: _aggregate(c, "<"),
    "is_aggr_equal": lambda c: _aggregate(c, "<>"),
    "is_aggr_not_equal": lambda c: _aggregate(c, "="),
}
"""DQX function -> converter. Each returns the rule body; common fields are added by the caller."""


# --- the driver ---------------------------------------------------------------------------------


def _function(entry: Any) -> str:
    check = entry.get("check") if isinstance(entry, dict) else None
    if not isinstance(check, dict) or not isinstance(check.get("function"), str):
        raise _Unsupported(
            "not a DQX check", "each item needs check: {function: ..., arguments: {...}}"
        )
    function = LEGACY_FUNCTIONS.get(check["function"], check["function"])
    if function in UNSUPPORTED:
        raise _Unsupported("has no lakesmith equivalent", UNSUPPORTED[function])
    if function not in CONVERTERS:
        known = [*CONVERTERS, *UNSUPPORTED]
        raise _Unsupported(
            f"unknown DQX function.{did_you_mean(function, known)}",
            "custom DQX check functions cannot be imported; " + _AS_SQL,
        )
    return function


def _translate(entry: dict[str, Any], function: str, index: int) -> list[tuple[Any, list[str]]]:
    """One DQX check -> (lakesmith rule, notes) per column it applies to."""
    check = entry["check"]
    args = dict(check.get("arguments") or {})
    legacy = sorted(k for k in args if k in LEGACY_ARGS or k == "col_names")
    for old, new in LEGACY_ARGS.items():
        if old in args:
            args.setdefault(new, args.pop(old))
    each = check.get("for_each_column") or args.pop("col_names", None)
    targets: list[Any] = list(each) if isinstance(each, list) else [None]
    key = "columns" if function in COLUMNS_FIRST else "column"
    criticality = entry.get("criticality", "error")
    if criticality not in ("error", "warn"):
        raise _Unsupported(f"criticality '{criticality}' is not error or warn")
    filters = [f for f in (entry.get("filter"), args.pop("row_filter", None)) if f]
    shared = [f"key '{k}' is not a DQX check key; ignored" for k in entry if k not in TOP_KEYS]
    if legacy and function in CHANGED_SINCE_LEGACY:
        shared.append(
            f"legacy DQX format ({legacy[0]}): read with the current meaning of {function}"
        )
    tags, dropped = _tags(entry.get("user_metadata"))
    shared += [f"user_metadata '{k}' is not a scalar; not kept as a tag" for k in dropped]
    out = []
    for target in targets:
        if target is not None:
            args[key] = [target] if key == "columns" and isinstance(target, str) else target
        joined = " AND ".join(f"({f})" for f in filters) if len(filters) > 1 else None
        c = _Check(function, args, joined or next(iter(filters), None))
        body = CONVERTERS[function](c)
        c.notes += [f"argument '{k}' ignored" for k in args if k not in c.used]
        name = entry.get("name") or args.get("name")
        if not name and body["check"] in ("expr", "query"):
            name = _slug(f"{function}_{_target(args) or index}")
        if c.filter and body["check"] in ROW_CHECKS:
            body["filter"] = c.filter
        body |= {"name": name, "severity": criticality, "tags": tags}
        sqls = [(body.get(k), k == "sql") for k in ("expr", "filter", "sql")]
        c.notes += [
            f"sqlglot cannot parse {sql!r}; lakesmith's engines may reject it"
            for sql, query in sqls
            if sql and not _parses(sql, query=query)
        ]
        try:
            out.append((TypeAdapter(Rule).validate_python(body), shared + c.notes))
        except ValidationError as exc:
            raise _Unsupported(f"makes no valid lakesmith rule: {exc.errors()[0]['msg']}") from exc
    return out


def _unique_names(models: list[Any]) -> tuple[list[Any], list[str]]:
    """Repeated names (DQX allows them, lakesmith does not) get the first free numeric suffix."""
    names = [rule_name(m, i) for i, m in enumerate(models)]
    taken, seen = set(names), set()
    out, notes = [], []
    for model, name in zip(models, names, strict=True):
        if name in seen:
            new = next(
                f"{name}_{k}" for k in range(2, len(names) + 2) if f"{name}_{k}" not in taken
            )
            taken.add(new)
            notes.append(f"rule name '{name}' repeats; renamed to '{new}'")
            model = model.model_copy(update={"name": new})
        seen.add(name)
        out.append(model)
    return out, notes


def _load(source: str | Path | list[Any]) -> tuple[list[Any], Path | None, list[int]]:
    """The checks list, the file it came from and each check's line."""
    if isinstance(source, list):
        return source, None, []
    file = None
    if isinstance(source, Path) or (
        "\n" not in source and source.endswith((".yml", ".yaml", ".json"))
    ):
        file = Path(source)
        try:
            source = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                [ConfigIssue(f"cannot read file: {exc.strerror}", file=file)]
            ) from None
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        checks = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        issue = ConfigIssue(f"invalid YAML/JSON: {exc}", file=file, line=line)
        raise ConfigError([issue]) from None
    if not isinstance(checks, list) or not checks:
        hint = "a DQX checks file is a list of {criticality, check: {function, arguments}}"
        raise ConfigError(
            [ConfigIssue("expected a non-empty list of DQX checks", file=file, hint=hint)]
        )
    lines = (
        [n.start_mark.line + 1 for n in node.value] if isinstance(node, yaml.SequenceNode) else []
    )
    return checks, file, lines


# --- small helpers ------------------------------------------------------------------------------


def _plain(sql: str) -> str | None:
    """The column name if ``sql`` is a bare (or back-quoted) identifier, else None."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sql):
        return sql
    quoted = re.fullmatch(r"`([^`]+)`", sql)
    return quoted.group(1) if quoted else None


def _lit(value: Any) -> str:
    from sqlglot import exp

    return exp.convert(value).sql(dialect="databricks")


def _limit(value: Any) -> _Limit:
    """A DQX limit: numbers, dates and timestamps are literals; other text is a SQL expression."""
    if isinstance(value, bool):
        raise _Unsupported(f"limit {value!r} is not a number, date or SQL expression")
    if isinstance(value, int | float | Decimal):
        return _Limit(str(value), value)
    if isinstance(value, dt.date):
        text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
        return _Limit(_lit(value), text)
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return _Limit(text, int(text))
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?", text):
        return _Limit(text, float(text))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return _Limit(_lit(dt.date.fromisoformat(text)), text)
    return _Limit(f"({text})")


def _tags(metadata: Any) -> tuple[list[str], list[str]]:
    if not isinstance(metadata, dict):
        return [], []
    scalar = {k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool)}
    return [f"{k}:{v}" for k, v in scalar.items()], [str(k) for k in metadata if k not in scalar]


def _target(args: dict[str, Any]) -> str:
    value = args.get("column") or args.get("column1") or args.get("columns") or ""
    return "_".join(map(str, value)) if isinstance(value, list) else str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()


def _parses(sql: str, *, query: bool) -> bool:
    import sqlglot

    try:
        sqlglot.parse_one(sql if query else f"SELECT {sql}", read="databricks")
    except sqlglot.errors.SqlglotError:
        return False
    return True


def _ordered(rule: dict[str, Any]) -> dict[str, Any]:
    """name, check, the check's own keys, then severity, filter, tolerance, tags."""
    tail = ("severity", "filter", "tolerance", "tags")
    head = {k: rule[k] for k in ("name", "check") if k in rule}
    body = {k: v for k, v in rule.items() if k not in head and k not in tail}
    return head | body | {k: rule[k] for k in tail if k in rule}


class _Dumper(yaml.SafeDumper):
    """Multi-line SQL as ``|`` blocks, so queries stay readable in the rules file."""


_Dumper.add_representer(
    str,
    lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None),
)
