"""What a SQL query reads from each table it binds: the columns, and the filters its WHERE
clauses put on them.

The embedded engine hands DuckDB each input as an Arrow stream from a Polars scan, so DuckDB
cannot push its own projections and filters into the scan. This analysis does it on the
Polars side instead: a scan narrowed to the columns read and filtered by the query's simple
predicates lets Polars skip Delta partitions and files, and Parquet row groups, by their
statistics. DuckDB still runs the whole query; a pushed filter only drops rows the query's
WHERE would drop anyway.

A WHERE conjunct is pushed into a table when all of these hold, each needed for the result
to stay the query's:

- the table is read once in the whole query (a filter on the shared scan would also
  filter its other references);
- the conjunct's columns all come from that table, as a direct source of the SELECT the
  WHERE belongs to (not through a subquery, nor a correlated reference);
- it is null-rejecting (comparisons, ``IN``, ``BETWEEN``, ``IS NOT NULL`` and ``AND``/``OR``
  of those), so it may cross an outer join: rows a join pads with nulls fail it after the
  join as well;
- it compares a column with literals of its own kind (numbers with numbers, strings with
  strings, dates and timestamps with date/timestamp literals), where Polars and DuckDB agree,
  NaN included (both order it above every number).
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope

_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "EQ": operator.eq,
    "NEQ": operator.ne,
    "GT": operator.gt,
    "GTE": operator.ge,
    "LT": operator.lt,
    "LTE": operator.le,
}
"""sqlglot's comparison node names -> the operator, applied as ``column OP literal``."""

_MIRRORED = {"GT": "LT", "GTE": "LTE", "LT": "GT", "LTE": "GTE", "EQ": "EQ", "NEQ": "NEQ"}
"""``literal OP column`` is ``column MIRRORED[OP] literal``."""


class QueryReads:
    """The columns and filters of a DuckDB query's bound tables (``local name -> schema``).

    sqlglot qualifies every column (expanding ``*``) against the schemas; a query it cannot
    qualify, or a table with two columns equal but for case, is read whole and unfiltered.
    """

    def __init__(self, duck_sql: str, schemas: Mapping[str, Mapping[str, pl.DataType]]) -> None:
        from sqlglot import parse_one
        from sqlglot.errors import SqlglotError
        from sqlglot.optimizer.qualify import qualify
        from sqlglot.optimizer.scope import traverse_scope

        self._schemas = schemas
        self._by_lower = {t: {c.lower(): c for c in cols} for t, cols in schemas.items()}
        self._unsure = {t for t, cols in schemas.items() if len(self._by_lower[t]) != len(cols)}
        typed: dict[str, object] = {
            t: dict.fromkeys(self._by_lower[t], "INT") for t in schemas if t not in self._unsure
        }
        try:
            tree = qualify(parse_one(duck_sql, read="duckdb"), schema=typed, dialect="duckdb")
            self._scopes: list[Scope] | None = traverse_scope(tree)
        except SqlglotError:
            self._scopes = None

    def columns(self) -> dict[str, list[str]]:
        """The columns the query reads from each table, for the tables where that is
        certain; a table missing from the answer is read whole."""
        if self._scopes is None:
            return {}
        used: dict[str, set[str]] = {t: set() for t in self._schemas}
        for scope in self._scopes:
            for column in scope.columns:
                table = _source_table(scope, column)
                if table is None:
                    return {}  # a reference this analysis does not follow: read every table
                if table in used:
                    used[table].add(column.name.lower())
        answer: dict[str, list[str]] = {}
        for table, names in used.items():
            if table in self._unsure or not names.issubset(self._by_lower[table]):
                continue
            keep = [c for c in self._schemas[table] if c.lower() in names]
            answer[table] = keep or list(self._schemas[table])[:1]  # count(*) needs the rows
        return answer

    def filters(self) -> dict[str, pl.Expr]:
        """A Polars filter per table, from the WHERE conjuncts that can be pushed (above)."""
        from sqlglot import exp

        if self._scopes is None:
            return {}
        reads = Counter(
            source.name
            for scope in self._scopes
            for source in scope.sources.values()
            if isinstance(source, exp.Table)
        )
        pushed: dict[str, list[pl.Expr]] = {}
        for scope in self._scopes:
            where = scope.expression.args.get("where")
            if not isinstance(scope.expression, exp.Select) or where is None:
                continue
            for conjunct in _conjuncts(where.this):
                tables = {_direct_table(scope, c) for c in conjunct.find_all(exp.Column)}
                if len(tables) != 1 or None in tables:
                    continue
                (table,) = tables
                if table not in self._schemas or table in self._unsure or reads[table] != 1:
                    continue
                if (expr := self._predicate(conjunct, table)) is not None:
                    pushed.setdefault(table, []).append(expr)
        return {t: pl.all_horizontal(exprs) for t, exprs in pushed.items()}

    def _predicate(self, node: exp.Expr, table: str) -> pl.Expr | None:
        """``node`` as a Polars expression over ``table``, or None when it is not one of the
        null-rejecting shapes above."""
        from sqlglot import exp

        node = node.unnest()
        if isinstance(node, exp.And | exp.Or):
            left, right = self._predicate(node.this, table), self._predicate(node.expression, table)
            if left is None or right is None:
                return None
            return left & right if isinstance(node, exp.And) else left | right
        if isinstance(node, exp.Not) and isinstance(node.this, exp.Is):
            is_null = node.this
            if isinstance(is_null.expression, exp.Null) and isinstance(is_null.this, exp.Column):
                name = self._column(is_null.this, table)
                return None if name is None else pl.col(name).is_not_null()
            return None
        if (
            isinstance(node, exp.In)
            and isinstance(node.this, exp.Column)
            and not node.args.get("query")
        ):
            column = self._typed_column(node.this, table)
            if column is None:
                return None
            values = [_literal(v, column[1]) for v in node.expressions]
            if not values or any(v is None for v in values):
                return None
            return pl.col(column[0]).is_in(values)
        if isinstance(node, exp.Between) and isinstance(node.this, exp.Column):
            column = self._typed_column(node.this, table)
            if column is None:
                return None
            low = _literal(node.args["low"], column[1])
            high = _literal(node.args["high"], column[1])
            if low is None or high is None:
                return None
            return (pl.col(column[0]) >= low) & (pl.col(column[0]) <= high)
        kind = type(node).__name__
        if kind not in _COMPARISONS:
            return None
        column_side, literal_side = node.this, node.expression
        if not isinstance(column_side, exp.Column):
            column_side, literal_side, kind = literal_side, column_side, _MIRRORED[kind]
        if not isinstance(column_side, exp.Column):
            return None
        column = self._typed_column(column_side, table)
        if column is None:
            return None
        value = _literal(literal_side, column[1])
        return None if value is None else _COMPARISONS[kind](pl.col(column[0]), value)

    def _column(self, column: exp.Column, table: str) -> str | None:
        return self._by_lower[table].get(column.name.lower())

    def _typed_column(self, column: exp.Column, table: str) -> tuple[str, pl.DataType] | None:
        name = self._column(column, table)
        return None if name is None else (name, self._schemas[table][name])


def _conjuncts(condition: exp.Expr) -> list[exp.Expr]:
    from sqlglot import exp

    condition = condition.unnest()
    if isinstance(condition, exp.And):
        return [*_conjuncts(condition.this), *_conjuncts(condition.expression)]
    return [condition]


def _literal(node: exp.Expr, dtype: pl.DataType) -> Any:
    """The Python value of a literal comparable with a ``dtype`` column as DuckDB compares
    it, or None (not a literal, or of another kind: no push)."""
    from sqlglot import exp

    negative = isinstance(node, exp.Neg)
    if negative:
        node = node.this
        if not isinstance(node, exp.Literal) or node.is_string:
            return None
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        target = node.to.this
        if target == exp.DataType.Type.DATE:
            return _temporal(node.this.this, dtype, date_only=True)
        if target in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ):
            return _temporal(node.this.this, dtype, date_only=False)
        return None
    if isinstance(node, exp.Boolean):
        return node.this if dtype == pl.Boolean else None
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return node.this if dtype == pl.String else None
    if not dtype.is_numeric():
        return None
    text = node.this
    try:
        value: int | float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
    value = -value if negative else value
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return None  # beyond BIGINT: leave the comparison to DuckDB's own rules
    return value


def _temporal(text: str, dtype: pl.DataType, *, date_only: bool) -> date | datetime | None:
    """A DATE or TIMESTAMP literal for a Date or Datetime column. Timestamps without a zone
    are UTC (Spark's session zone on Databricks and DuckDB's here); one with an offset is
    left to DuckDB."""
    try:
        value = date.fromisoformat(text) if date_only else datetime.fromisoformat(text)
    except ValueError:
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return None
    if dtype == pl.Date:
        return value if date_only else None
    if not isinstance(dtype, pl.Datetime):
        return None
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return moment.replace(tzinfo=UTC) if dtype.time_zone is not None else moment


def _direct_table(scope: Scope, column: exp.Column) -> str | None:
    """The bound table a column of this SELECT comes from, when it is a direct source."""
    from sqlglot import exp

    source = scope.sources.get(column.table)
    return source.name if isinstance(source, exp.Table) else None


def _source_table(scope: Scope, column: exp.Column) -> str | None:
    """The name of the table a qualified column comes from ("" when it comes from a
    subquery, a CTE or a table function), looked up outwards for correlated references."""
    from sqlglot import exp

    current: Scope | None = scope
    while current is not None:
        source = current.sources.get(column.table)
        if source is not None:
            return source.name if isinstance(source, exp.Table) else ""
        current = current.parent
    return None
