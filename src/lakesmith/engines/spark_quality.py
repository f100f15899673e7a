"""Quality rules on Spark frames: the same rule IR as the embedded engine, compiled to Spark SQL.

Results carry the same fields, counts and wording as ``lakesmith.quality.evaluate``, which
builds them for Polars frames; only the queries differ. Every row-level count comes from one
query (``count_failures_sql``); failing samples are fetched only for rules that failed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakesmith.errors import LakesmithError
from lakesmith.quality import rules as r
from lakesmith.quality.compiler import Pred, count_failures_sql, passes, to_sql
from lakesmith.quality.evaluate import (
    SAMPLE,
    QualityResult,
    assemble,
    query_inputs,
    rule_columns,
)
from lakesmith.quality.flags import FAILED_RULES

from .spark_engine import quote
from .spark_sql import run_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DIALECT = "spark"

log = logging.getLogger(__name__)


def evaluate(
    rules: r.RuleSet,
    frame: DataFrame,
    *,
    resolve_table: Callable[[str], DataFrame] | None = None,
    now: datetime | None = None,
) -> QualityResult:
    """Run every rule against a Spark frame; see ``lakesmith.quality.evaluate.evaluate``.

    Its queries read a temporary view of ``frame``, dropped before returning: a view would
    keep a pinned frame's data for the rest of the session.
    """
    view = _view(frame)
    try:
        return _evaluate(rules, frame, view, resolve_table, now)
    finally:
        frame.sparkSession.catalog.dropTempView(view)


def _evaluate(
    rules: r.RuleSet,
    frame: DataFrame,
    view: str,
    resolve_table: Callable[[str], DataFrame] | None,
    now: datetime | None,
) -> QualityResult:
    named = rules.named()
    preds = {n: passes(rule) for n, rule in named if isinstance(rule, r.ROW_CHECKS)}
    counts = _counts(frame, view, preds)
    freshness = {n: rule for n, rule in named if isinstance(rule, r.Freshness)}
    newest: dict[str, Any] = {}
    if freshness:
        maxima = ", ".join(f"max({quote(x.column)}) AS {quote(n)}" for n, x in freshness.items())
        newest = _rows(frame.sparkSession.sql(f"SELECT {maxima} FROM {view}"))[0]
    rows = int(counts["__rows"])
    failing = [n for n in preds if counts[n]]
    by_name = dict(named)
    samples = {n: _sample(frame, view, preds[n], rule_columns(by_name[n])) for n in failing}
    return assemble(
        rules,
        rows,
        failing={n: int(counts[n]) for n in preds},
        newest=newest,
        orphans=lambda rule: _orphans(frame, rule, _parent(resolve_table, rule)),
        query_rows=lambda rule: _query_rows(frame, rule, rules.dataset, resolve_table),
        samples=samples,
        now=now,
    )


def pin(frame: DataFrame) -> DataFrame:
    """The frame computed once and kept by the executors: the checks, the split and the
    writes that follow read it instead of running the node's transform again each time
    (and a nondeterministic transform cannot give them different rows).

    A local checkpoint, not ``persist``: serverless compute refuses DataFrame caching
    (NOT_SUPPORTED_WITH_SERVERLESS), and Spark Connect has local checkpoints since 4.0.
    It is released with the frame: Spark Connect removes the cached relation when the
    Python object goes, classic Spark's context cleaner when the JVM collects the RDD.
    Compute that refuses checkpoints too (a NOT_SUPPORTED or UNSUPPORTED condition) gets
    the frame as it is, with a warning: correct, but the transform runs once per use.
    """
    from pyspark.errors import PySparkException

    try:
        return frame.localCheckpoint(eager=True)
    except PySparkException as exc:
        condition = exc.getCondition() or ""
        if "NOT_SUPPORTED" not in condition and "UNSUPPORTED" not in condition:
            raise
        log.warning(
            "cannot checkpoint a node's output here (%s): its transform runs again for the "
            "quality checks, the split and each write",
            condition,
        )
        return frame


def split(
    rules: r.RuleSet, frame: DataFrame, names: Collection[str] | None = None
) -> tuple[DataFrame, DataFrame]:
    """Rows passing every row-level rule (of ``names``, if given), and the rest with the
    names of the rules they broke.

    Both are lazy: one projection computes each rule's pass flag, two filters split on them.
    No temporary view: the frames outlive this call, and so would its hold on ``frame``.
    """
    from pyspark.sql import functions as F

    row_rules = [
        (n, rule)
        for n, rule in rules.named()
        if isinstance(rule, r.ROW_CHECKS) and (names is None or n in names)
    ]
    columns = [quote(c) for c in frame.columns]
    if not row_rules:
        return frame, frame.limit(0).withColumn(FAILED_RULES, F.array().cast("array<string>"))
    flags = [f"__p{i}" for i in range(len(row_rules))]
    flagged = frame.selectExpr(
        *columns,
        *(
            f"{to_sql(passes(rule), DIALECT)} AS {flag}"
            for (_, rule), flag in zip(row_rules, flags, strict=True)
        ),
    )
    ok = " AND ".join(flags)
    broken = ", ".join(
        f"IF({flag}, NULL, {_string(name)})"
        for (name, _), flag in zip(row_rules, flags, strict=True)
    )
    valid = flagged.where(ok).selectExpr(*columns)
    quarantine = flagged.where(f"NOT ({ok})").selectExpr(
        *columns, f"filter(array({broken}), x -> x IS NOT NULL) AS {FAILED_RULES}"
    )
    return valid, quarantine


def _counts(frame: DataFrame, view: str, preds: dict[str, Pred]) -> dict[str, Any]:
    spark = frame.sparkSession
    if not preds:
        return {"__rows": frame.count()}
    return _rows(spark.sql(count_failures_sql(list(preds.items()), view, DIALECT)))[0]


def _sample(frame: DataFrame, view: str, pred: Pred, columns: list[str]) -> list[Any]:
    """A few failing values of one rule, shaped as the embedded engine shapes them."""
    cols = columns or frame.columns[:3]
    selected = ", ".join(quote(c) for c in cols)
    query = (
        f"SELECT {selected} FROM (SELECT {selected}, {to_sql(pred, DIALECT)} AS __p FROM {view}) "
        f"WHERE NOT __p LIMIT {SAMPLE}"
    )
    rows = _rows(frame.sparkSession.sql(query))
    return [row[cols[0]] if len(cols) == 1 else [row[c] for c in cols] for row in rows]


def _parent(resolve: Callable[[str], DataFrame] | None, rule: r.ForeignKey) -> DataFrame:
    if resolve is None:
        raise LakesmithError(
            f"foreign_key rule on {rule.columns} needs table {rule.ref_table}",
            hint="evaluate with resolve_table (pipelines and the CLI pass the catalog)",
        )
    return resolve(rule.ref_table)


def _orphans(frame: DataFrame, rule: r.ForeignKey, parent: DataFrame) -> int:
    """Rows whose non-null key has no parent: an anti-join, never an IN-list."""
    from pyspark.sql import functions as F

    ref_cols = rule.ref_columns or rule.columns
    keys = parent.select(
        [F.col(quote(p)).alias(c) for p, c in zip(ref_cols, rule.columns, strict=True)]
    ).distinct()
    present = frame.dropna(subset=rule.columns)
    return present.join(keys, on=rule.columns, how="left_anti").count()


def _query_rows(
    frame: DataFrame,
    rule: r.Query,
    dataset: str | None,
    resolve: Callable[[str], DataFrame] | None,
) -> int:
    frames, tables = query_inputs(frame, dataset, resolve)
    return run_sql(frame.sparkSession, rule.sql, frames, tables).count()


def _view(frame: DataFrame) -> str:
    name = f"__ls_q{uuid.uuid4().hex[:12]}"
    frame.createOrReplaceTempView(name)
    return name


def _rows(frame: DataFrame) -> list[dict[str, Any]]:
    """Rows as Python values through Arrow: timestamps stay UTC-aware (``collect`` would
    shift them into the machine's zone)."""
    return frame.toArrow().to_pylist()


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
