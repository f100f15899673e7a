"""The quality gate between a node's transform and its write: check, then fail, warn or split.

Rules run where the data is: Polars frames through ``lakesmith.quality.evaluate``, Spark
frames as Spark SQL (``lakesmith.engines.spark_quality``), with the same results.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from lakesmith.config import models
from lakesmith.errors import LakesmithError
from lakesmith.quality.evaluate import QualityResult, evaluate_flags
from lakesmith.quality.rules import ROW_CHECKS, RuleSet, load_rules


class QualityFailed(LakesmithError):
    """Error-severity rules failed and the node's on_error is 'fail'; nothing was written."""

    def __init__(self, message: str, *, hint: str, result: QualityResult) -> None:
        super().__init__(message, hint=hint)
        self.result = result


@dataclass(frozen=True)
class GateResult:
    """The rows to write and, when rows failed an error rule under quarantine, those rows.

    Both are frames of the engine that produced the output (Polars or Spark).
    """

    valid: Any
    quarantine: Any | None
    result: QualityResult


def rule_set(quality: models.NodeQuality, root: Path) -> RuleSet:
    if quality.rules_file:
        return load_rules(root / quality.rules_file)
    return RuleSet(rules=list(quality.rules or []))


def check(quality: models.NodeQuality, output: Any, root: Path, table: str) -> GateResult:
    """Evaluate the node's rules on its output and apply ``on_error``.

    Raises:
        QualityFailed: error rules failed and ``on_error`` is ``fail``.
    """
    rules = rule_set(quality, root)
    split: Callable[[Collection[str]], tuple[Any, Any]]
    if isinstance(output, pl.LazyFrame | pl.DataFrame):
        data: Any = output.collect() if isinstance(output, pl.LazyFrame) else output
        result, flags = evaluate_flags(rules, data)
        split = flags.split  # the verdicts just counted: no rule runs twice
    else:  # a Spark frame: only the spark engine makes them, so pyspark is installed
        from lakesmith.engines import spark_quality

        data = spark_quality.pin(output)  # the transform runs once for checks and writes
        result = spark_quality.evaluate(rules, data)
        split = partial(spark_quality.split, rules, data)
    error_rows = any(x.fail_count for x in result.rules if x.severity == "error")
    if quality.on_error == "warn" or (quality.on_error == "fail" and result.passed):
        return GateResult(data, None, result)
    if quality.on_error == "quarantine" and not error_rows:
        return GateResult(data, None, result)
    if quality.on_error == "fail":
        failed = ", ".join(f"{x.name} ({x.fail_count:,} rows)" for x in result.errors)
        raise QualityFailed(
            f"quality rules failed for {table}: {failed}; nothing was written",
            hint="fix the data or the rules, or set quality.on_error: quarantine (failing rows "
            "go to <table>_quarantine) or warn",
            result=result,
        )
    row_errors = {
        name
        for name, rule in rules.named()
        if isinstance(rule, ROW_CHECKS) and rules.severity(rule) == "error"
    }
    if not any(x.fail_count for x in result.rules if x.name in row_errors):
        return GateResult(data, None, result)  # only table-level rules failed: no row to move
    valid, quarantine = split(row_errors)
    return GateResult(valid, quarantine, result)
