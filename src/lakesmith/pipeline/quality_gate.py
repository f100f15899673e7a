"""The quality gate between a node's transform and its write: check, then fail, warn or split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lakesmith.config import models
from lakesmith.errors import LakesmithError
from lakesmith.quality.evaluate import QualityResult, evaluate, split
from lakesmith.quality.rules import RuleSet, load_rules


class QualityFailed(LakesmithError):
    """Error-severity rules failed and the node's on_error is 'fail'; nothing was written."""

    def __init__(self, message: str, *, hint: str, result: QualityResult) -> None:
        super().__init__(message, hint=hint)
        self.result = result


@dataclass(frozen=True)
class GateResult:
    valid: pl.DataFrame
    quarantine: pl.DataFrame | None
    result: QualityResult


def rule_set(quality: models.NodeQuality, root: Path) -> RuleSet:
    if quality.rules_file:
        return load_rules(root / quality.rules_file)
    return RuleSet(rules=list(quality.rules or []))


def check(
    quality: models.NodeQuality, output: pl.LazyFrame | pl.DataFrame, root: Path, table: str
) -> GateResult:
    """Evaluate the node's rules on its output and apply ``on_error``.

    Raises:
        QualityFailed: error rules failed and ``on_error`` is ``fail``.
    """
    rules = rule_set(quality, root)
    data = output.collect() if isinstance(output, pl.LazyFrame) else output
    result = evaluate(rules, data)
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
    errors_only = RuleSet(
        rules=[
            rule.model_copy(update={"name": name})
            for name, rule in rules.named()
            if rules.severity(rule) == "error"
        ]
    )
    valid, quarantine = split(errors_only, data)
    return GateResult(valid, quarantine, result)
