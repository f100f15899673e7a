"""Each row-level rule's verdict on each row of an in-memory frame, computed once.

The quality gate checks a node's output and, under ``on_error: quarantine``, splits it on the
same rules. Counts, failing samples and the split all read these verdicts, so every predicate
runs once over the rows instead of once to count and again to split. A ``unique`` rule
without a filter is first checked in aggregate (distinct keys against keyed rows): only one
with duplicates pays for a per-row flag.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from . import rules as r
from .compiler import passes, to_polars

FAILED_RULES = "_failed_rules"
_BITS = 63


@dataclass(frozen=True)
class Flags:
    """A frame and its rules' verdicts.

    Attributes:
        data: the rows.
        rows: how many.
        failing: failing rows of every row-level rule, by name.
        newest: the newest value of each freshness rule's column, by name.
        passes: a Boolean column per row-level rule some row fails: True where the row passes.
    """

    data: pl.DataFrame
    rows: int
    failing: dict[str, int]
    newest: dict[str, Any]
    passes: pl.DataFrame

    def sample(self, name: str, columns: Sequence[str], size: int) -> list[Any]:
        """The first ``size`` failing values of a rule (a list per row for several columns).

        A lazy filter + head stops at the first failing rows; ``arg_true`` would list all.
        """
        failing = pl.LazyFrame({"passes": self.passes[name]}).with_row_index()
        at = failing.filter(~pl.col("passes")).head(size).collect()["index"]
        rows = self.data.select(columns)[at]
        return [row[0] if len(row) == 1 else list(row) for row in rows.iter_rows()]

    def split(self, names: Collection[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Rows passing every rule in ``names``, and the rest with the names they broke.

        A row's broken rules are bits of an integer (one bit per rule); names are attached
        by joining the few distinct bit patterns of the quarantined rows to their name lists,
        instead of building a list for every row.
        """
        broken = [n for n in self.passes.columns if n in names]
        if not broken:
            return self.data, _no_quarantine(self.data)
        groups = [broken[i : i + _BITS] for i in range(0, len(broken), _BITS)]
        keys = [f"__failed_{g}" for g in range(len(groups))]
        bits = self.passes.select(
            pl.sum_horizontal(
                (~pl.col(n)).cast(pl.UInt64) * (1 << i) for i, n in enumerate(group)
            ).alias(key)
            for group, key in zip(groups, keys, strict=True)
        )
        ok = bits.select(pl.all_horizontal(pl.col(k) == 0 for k in keys)).to_series()
        bad = bits.filter(~ok)
        patterns = bad.unique()
        labels = patterns.with_columns(
            pl.Series(
                FAILED_RULES,
                [
                    [
                        n
                        for key, group in zip(keys, groups, strict=True)
                        for i, n in enumerate(group)
                        if row[key] >> i & 1
                    ]
                    for row in patterns.iter_rows(named=True)
                ],
                dtype=pl.List(pl.String),
            )
        )
        quarantine = (
            self.data.filter(~ok)
            .hstack(bad)
            .join(labels, on=keys, how="left", maintain_order="left")
            .drop(keys)
        )
        return self.data.filter(ok), quarantine


def flag(rules: r.RuleSet, data: pl.DataFrame) -> Flags:
    """Evaluate every row-level rule on every row once; count failures, freshness, rows."""
    named = rules.named()
    row_rules = [(n, rule) for n, rule in named if isinstance(rule, r.ROW_CHECKS)]
    keyed = {n: rule for n, rule in row_rules if isinstance(rule, r.Unique) and not rule.filter}
    freshness = {n: rule for n, rule in named if isinstance(rule, r.Freshness)}
    stats = data.select(
        pl.len().alias("__rows"),
        *(e for n, rule in keyed.items() for e in distinct_keys(rule.columns, n)),
        *(pl.col(rule.column).max().alias(f"__max_{n}") for n, rule in freshness.items()),
    ).row(0, named=True)
    clean = {n for n in keyed if stats[f"__distinct_{n}"] == stats[f"__keyed_{n}"]}
    checked = [(n, rule) for n, rule in row_rules if n not in clean]
    # with_columns, not select: a constant predicate still gets one value per row
    verdicts = data.with_columns(
        to_polars(passes(rule), data.schema).alias(n) for n, rule in checked
    ).select(n for n, _ in checked)
    counts = verdicts.select((~pl.all()).sum()).row(0, named=True) if checked else {}
    failing = {n: int(counts.get(n) or 0) for n, _ in row_rules}
    return Flags(
        data=data,
        rows=int(stats["__rows"]),
        failing=failing,
        newest={n: stats[f"__max_{n}"] for n in freshness},
        passes=verdicts.select(n for n in verdicts.columns if failing[n]),
    )


def split(
    rules: r.RuleSet, frame: pl.LazyFrame | pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows passing every row-level rule, and the quarantine with the rules each row broke."""
    data = frame if isinstance(frame, pl.DataFrame) else frame.collect()
    return flag(rules, data).split(
        {n for n, rule in rules.named() if isinstance(rule, r.ROW_CHECKS)}
    )


def distinct_keys(columns: list[str], name: str) -> list[pl.Expr]:
    """Distinct non-null keys and keyed rows: equal means no row breaks ``unique``.

    Several columns are hashed first (a struct n_unique is far slower); a hash collision can
    only make the counts differ, which sends the rule to the exact count.
    """
    present = pl.all_horizontal([pl.col(c).is_not_null() for c in columns])
    key = pl.col(columns[0]) if len(columns) == 1 else pl.struct(columns).hash()
    return [
        key.filter(present).n_unique().alias(f"__distinct_{name}"),
        present.sum().alias(f"__keyed_{name}"),
    ]


def _no_quarantine(data: pl.DataFrame) -> pl.DataFrame:
    return data.head(0).with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(FAILED_RULES))
