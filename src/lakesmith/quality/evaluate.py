"""Evaluate a rule set on a frame: every row-level count in one pass over the rows.

An in-memory frame gets each rule's verdict on each row once (``flags``), which the quarantine
split reuses; a lazy frame is scanned once for all counts. Failing samples are gathered only
for rules that failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import polars as pl
from pydantic import BaseModel, Field

from . import rules as r
from .compiler import passes, to_polars
from .flags import Flags, distinct_keys, flag

SAMPLE = 5


class RuleResult(BaseModel):
    name: str
    check: str
    columns: list[str]
    severity: r.Severity
    success: bool
    rows: int
    fail_count: int
    fail_ratio: float
    expected: str
    actual: str
    sample: list[Any] = Field(default_factory=list)


class QualityResult(BaseModel):
    dataset: str | None
    rows: int
    rules: list[RuleResult]

    @property
    def errors(self) -> list[RuleResult]:
        return [x for x in self.rules if not x.success and x.severity == "error"]

    @property
    def warnings(self) -> list[RuleResult]:
        return [x for x in self.rules if not x.success and x.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.errors


def rule_columns(rule: Any) -> list[str]:
    if getattr(rule, "column", None):
        return [rule.column]
    return list(getattr(rule, "columns", None) or [])


def within_tolerance(tolerance: r.Tolerance | None, failed: int, rows: int) -> bool:
    if tolerance is None:
        return failed == 0
    ratio = failed / rows if rows else 0.0
    ok_count = tolerance.max_count is None or failed <= tolerance.max_count
    ok_ratio = tolerance.max_ratio is None or ratio <= tolerance.max_ratio
    return ok_count and ok_ratio


def expected_text(rule: Any) -> str:
    match rule:
        case r.NotNull():
            return "no nulls"
        case r.Unique(columns=cols):
            return f"({', '.join(cols)}) unique"
        case r.InRange(min=lo, max=hi, inclusive=inc):
            lo_s = "" if lo is None else f"{lo} {'<=' if inc else '<'} "
            hi_s = "" if hi is None else f" {'<=' if inc else '<'} {hi}"
            return f"{lo_s}value{hi_s}"
        case r.InSet(values=values):
            return f"in {values}"
        case r.Matches():
            return f"matches {rule.pattern or rule.regex}"
        case r.Expr(expr=text):
            return text
        case r.RowCount(min=lo, max=hi):
            return f"{lo if lo is not None else 0} <= rows <= {hi if hi is not None else '∞'}"
        case r.Freshness(column=c, max_age_hours=h):
            return f"newest {c} at most {h} h old"
        case r.ForeignKey(columns=cols, ref_table=t):
            return f"({', '.join(cols)}) present in {t}"
        case r.Query():
            return "query returns no rows"
    return ""


def evaluate(
    rules: r.RuleSet,
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    resolve_table: Callable[[str], pl.LazyFrame] | None = None,
    now: datetime | None = None,
) -> QualityResult:
    """Run every rule against ``frame``.

    Args:
        rules: the rule set.
        frame: the data: an in-memory frame gets each rule's per-row verdicts (``flags``), a
            lazy one is scanned once for all row-level counts.
        resolve_table: table name -> frame, for foreign keys and queries.
        now: the clock for freshness (default: now, UTC).
    """
    if isinstance(frame, pl.DataFrame):
        return evaluate_flags(rules, frame, resolve_table=resolve_table, now=now)[0]
    lf = frame
    schema = lf.collect_schema()
    named = rules.named()
    row_rules = [(n, rule) for n, rule in named if isinstance(rule, r.ROW_CHECKS)]
    preds = {n: to_polars(passes(rule), schema) for n, rule in row_rules}
    # unique without a filter: distinct keys vs keyed rows in the same scan (cheap); the
    # row-level duplicate mask is only computed when they differ
    keyed = {n: rule for n, rule in row_rules if isinstance(rule, r.Unique) and not rule.filter}
    aggregates = [pl.len().alias("__rows")]
    aggregates += [(~p).sum().alias(n) for n, p in preds.items() if n not in keyed]
    for n, rule in keyed.items():
        aggregates += distinct_keys(rule.columns, n)
    aggregates += [
        pl.col(rule.column).max().alias(f"__max_{n}")
        for n, rule in named
        if isinstance(rule, r.Freshness)
    ]
    counts = lf.select(aggregates).collect().row(0, named=True)
    for n, rule in keyed.items():
        same = counts[f"__distinct_{n}"] == counts[f"__keyed_{n}"]
        counts[n] = 0 if same else _duplicate_rows(lf, rule.columns)
    failing = [n for n in preds if counts[n]]
    samples = _samples(lf, {n: preds[n] for n in failing}, dict(row_rules)) if failing else {}
    newest = {n: counts[f"__max_{n}"] for n, rule in named if isinstance(rule, r.Freshness)}
    failed = {n: int(counts[n]) for n in preds}
    return _result(
        rules,
        lf,
        rows=int(counts["__rows"]),
        failing=failed,
        newest=newest,
        samples=samples,
        resolve_table=resolve_table,
        now=now,
    )


def evaluate_flags(
    rules: r.RuleSet,
    data: pl.DataFrame,
    *,
    resolve_table: Callable[[str], pl.LazyFrame] | None = None,
    now: datetime | None = None,
) -> tuple[QualityResult, Flags]:
    """Run every rule against an in-memory frame and keep each row's verdicts.

    The verdicts split the frame afterwards (``Flags.split``) without evaluating any rule
    again: the quality gate's quarantine reads them. Arguments as for ``evaluate``.
    """
    flags = flag(rules, data)
    by_name = dict(rules.named())
    samples = {
        n: flags.sample(n, rule_columns(by_name[n]) or data.columns[:3], SAMPLE)
        for n, failed in flags.failing.items()
        if failed
    }
    result = _result(
        rules,
        data.lazy(),
        rows=flags.rows,
        failing=flags.failing,
        newest=flags.newest,
        samples=samples,
        resolve_table=resolve_table,
        now=now,
    )
    return result, flags


def _result(
    rules: r.RuleSet,
    lf: pl.LazyFrame,
    *,
    rows: int,
    failing: Mapping[str, int],
    newest: Mapping[str, Any],
    samples: Mapping[str, list[Any]],
    resolve_table: Callable[[str], pl.LazyFrame] | None,
    now: datetime | None,
) -> QualityResult:
    """``assemble`` with the embedded engine's foreign-key and query counts."""
    return assemble(
        rules,
        rows,
        failing=failing,
        newest=newest,
        orphans=lambda rule: count_orphans(lf, rule, _require(resolve_table, rule)),
        query_rows=lambda rule: _query_rows(lf, rule, rules.dataset, resolve_table),
        samples=samples,
        now=now,
    )


def assemble(
    rules: r.RuleSet,
    rows: int,
    *,
    failing: Mapping[str, int],
    newest: Mapping[str, Any],
    orphans: Callable[[r.ForeignKey], int],
    query_rows: Callable[[r.Query], int],
    samples: Mapping[str, list[Any]],
    now: datetime | None = None,
) -> QualityResult:
    """Every rule's result from what an engine counted: one wording for every engine.

    Args:
        rules: the rule set.
        rows: rows in the dataset.
        failing: failing rows of each row-level rule, by name.
        newest: the newest value of each freshness rule's column, by name.
        orphans: counts a foreign-key rule's rows without a parent.
        query_rows: counts the rows a query rule returns.
        samples: failing values of the failing row-level rules.
        now: the clock for freshness (default: now, UTC).
    """
    results: list[RuleResult] = []
    for name, rule in rules.named():
        failed, actual = 0, ""
        if name in failing:
            failed = failing[name]
            actual = f"{failed:,} failing rows"
        elif isinstance(rule, r.RowCount):
            ok = (rule.min is None or rows >= rule.min) and (rule.max is None or rows <= rule.max)
            failed, actual = (0 if ok else 1), f"{rows:,} rows"
        elif isinstance(rule, r.Freshness):
            value = newest[name]
            age = age_hours(value, now or datetime.now(UTC))
            failed = 0 if age is not None and age <= rule.max_age_hours else 1
            actual = "no values" if age is None else f"newest {value} ({age:.1f} h old)"
        elif isinstance(rule, r.ForeignKey):
            failed = orphans(rule)
            actual = f"{failed:,} rows without a parent"
        elif isinstance(rule, r.Query):
            failed = query_rows(rule)
            actual = f"{failed:,} rows returned"
        success = within_tolerance(rules.tolerance(rule), failed, rows)
        results.append(
            RuleResult(
                name=name,
                check=rule.check,
                columns=rule_columns(rule),
                severity=rules.severity(rule),
                success=success,
                rows=rows,
                fail_count=failed,
                fail_ratio=round(failed / rows if rows else 0.0, 6),
                expected=expected_text(rule),
                actual=actual,
                sample=[] if success else list(samples.get(name, [])),
            )
        )
    return QualityResult(dataset=rules.dataset, rows=rows, rules=results)


def _duplicate_rows(lf: pl.LazyFrame, columns: list[str]) -> int:
    """Rows whose (non-null) key appears more than once."""
    present = pl.all_horizontal([pl.col(c).is_not_null() for c in columns])
    groups = lf.filter(present).group_by(columns).len().filter(pl.col("len") > 1)
    return int(groups.select(pl.col("len").sum()).collect().item() or 0)


def _samples(
    lf: pl.LazyFrame, failing: dict[str, pl.Expr], rules_by_name: dict[str, Any]
) -> dict[str, list[Any]]:
    """A few failing values of every failing rule (each query stops at its first rows)."""
    names = list(failing)
    queries = []
    for n in names:
        cols = rule_columns(rules_by_name[n]) or lf.collect_schema().names()[:3]
        queries.append(lf.filter(~failing[n]).select(cols).head(SAMPLE))
    return {
        n: [row[0] if len(row) == 1 else list(row) for row in frame.iter_rows()]
        for n, frame in zip(names, pl.collect_all(queries, engine="streaming"), strict=True)
    }


def age_hours(newest: Any, now: datetime) -> float | None:
    if newest is None:
        return None
    if isinstance(newest, datetime):
        stamp = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    else:  # a date
        stamp = datetime(newest.year, newest.month, newest.day, tzinfo=UTC)
    return (now - stamp).total_seconds() / 3600


def _require(resolve: Callable[[str], pl.LazyFrame] | None, rule: r.ForeignKey) -> pl.LazyFrame:
    if resolve is None:
        from lakesmith.errors import LakesmithError

        raise LakesmithError(
            f"foreign_key rule on {rule.columns} needs table {rule.ref_table}",
            hint="evaluate with resolve_table (pipelines and the CLI pass the catalog)",
        )
    return resolve(rule.ref_table)


def count_orphans(lf: pl.LazyFrame, rule: r.ForeignKey, parent: pl.LazyFrame) -> int:
    """Rows whose non-null key has no parent: an anti-join, never an IN-list."""
    ref_cols = rule.ref_columns or rule.columns
    keys = parent.select(
        [pl.col(p).alias(c) for p, c in zip(ref_cols, rule.columns, strict=True)]
    ).unique()
    present = lf.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in rule.columns]))
    return int(present.join(keys, on=rule.columns, how="anti").select(pl.len()).collect().item())


def _query_rows(
    lf: pl.LazyFrame,
    rule: r.Query,
    dataset: str | None,
    resolve: Callable[[str], pl.LazyFrame] | None,
) -> int:
    from lakesmith.engines.duckdb_sql import run_sql

    frames, tables = query_inputs(lf, dataset, resolve)
    return run_sql(rule.sql, frames, tables).select(pl.len()).collect().item()


Frame = TypeVar("Frame")


def query_inputs(
    frame: Frame, dataset: str | None, resolve: Callable[[str], Frame] | None
) -> tuple[dict[str, Frame], Callable[[str], Frame]]:
    """What a query rule may read: the checked frame as ``dataset`` (and by the rule set's
    dataset name), and other tables through ``resolve``; without ``resolve``, naming another
    table raises ``TableNotFound``."""
    frames = {"dataset": frame}
    if dataset:
        frames[dataset] = frame

    def tables(name: str) -> Frame:
        if resolve is None:
            from lakesmith.errors import TableNotFound

            raise TableNotFound(f"query rule refers to table {name}", hint="name it 'dataset'")
        return resolve(name)

    return frames, tables
