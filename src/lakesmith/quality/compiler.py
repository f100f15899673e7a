"""Rules -> a small predicate IR -> Polars expressions or SQL in any sqlglot dialect.

Both backends walk the same tree, so a rule means the same thing on every engine. Every
row-level rule compiles to a *pass* predicate that is never null: the null-passes semantics
is written into the tree, not left to each engine's three-valued logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from . import rules as r

# --- the IR -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsNotNull:
    column: str


@dataclass(frozen=True)
class Compare:
    column: str
    op: str  # one of < <= > >=
    value: Any


@dataclass(frozen=True)
class InSet:
    column: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Regex:
    column: str
    pattern: str


@dataclass(frozen=True)
class Sql:
    text: str  # a Databricks SQL predicate


@dataclass(frozen=True)
class Duplicated:
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Coalesce:
    item: Pred
    default: bool


@dataclass(frozen=True)
class Not:
    item: Pred


@dataclass(frozen=True)
class And:
    items: tuple[Pred, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Pred, ...]


Pred = IsNotNull | Compare | InSet | Regex | Sql | Duplicated | Coalesce | Not | And | Or


def _unless_null(columns: list[str] | tuple[str, ...], pred: Pred) -> Pred:
    return Or((*(Not(IsNotNull(c)) for c in columns), pred))


def passes(rule: Any) -> Pred:
    """The predicate a row must satisfy for a row-level rule (filter included)."""
    match rule:
        case r.NotNull(column=c):
            pred: Pred = IsNotNull(c)
        case r.Unique(columns=cols):
            pred = _unless_null(cols, Not(Duplicated(tuple(cols))))
        case r.InRange(column=c, min=lo, max=hi, inclusive=inc):
            bounds = []
            if lo is not None:
                bounds.append(Compare(c, ">=" if inc else ">", lo))
            if hi is not None:
                bounds.append(Compare(c, "<=" if inc else "<", hi))
            pred = _unless_null([c], And(tuple(bounds)))
        case r.InSet(column=c, values=values):
            pred = _unless_null([c], InSet(c, tuple(values)))
        case r.Matches(column=c):
            pred = _unless_null([c], Regex(c, rule.expression))
        case r.Expr(expr=text):
            pred = Coalesce(Sql(text), True)
        case _:
            raise TypeError(f"{rule.check} is not a row-level check")
    if rule.filter:
        pred = Or((Not(Coalesce(Sql(rule.filter), False)), pred))
    return pred


# --- Polars backend ---------------------------------------------------------------------------


def _lit(value: Any, dtype: pl.DataType | None) -> pl.Expr:
    lit = pl.lit(value)
    if dtype is not None and isinstance(value, str) and dtype != pl.String:
        if isinstance(dtype, pl.Datetime):
            return lit.str.to_datetime(time_unit=dtype.time_unit, time_zone=dtype.time_zone)
        if dtype == pl.Date:
            return lit.str.to_date()
        return lit.cast(dtype)
    return lit


def _sql_expr(text: str) -> pl.Expr:
    import sqlglot

    return pl.sql_expr(sqlglot.transpile(text, read="databricks", write="postgres")[0])


def to_polars(pred: Pred, schema: pl.Schema | None = None) -> pl.Expr:
    """A Boolean Polars expression; ``schema`` types string literals for date columns."""

    def walk(p: Pred) -> pl.Expr:
        dtype = lambda c: schema.get(c) if schema is not None else None  # noqa: E731
        match p:
            case IsNotNull(column=c):
                return pl.col(c).is_not_null()
            case Compare(column=c, op=op, value=v):
                col, lit = pl.col(c), _lit(v, dtype(c))
                return {"<": col < lit, "<=": col <= lit, ">": col > lit, ">=": col >= lit}[op]
            case InSet(column=c, values=values):
                return pl.col(c).is_in(pl.Series(values).implode())
            case Regex(column=c, pattern=pattern):
                return pl.col(c).str.contains(pattern)
            case Sql(text=text):
                return _sql_expr(text)
            case Duplicated(columns=cols):
                return pl.struct(list(cols)).is_duplicated()
            case Coalesce(item=item, default=default):
                return walk(item).fill_null(default)
            case Not(item=item):
                return ~walk(item)
            case And(items=items):
                return pl.all_horizontal([walk(i) for i in items])
            case Or(items=items):
                return pl.any_horizontal([walk(i) for i in items])
        raise TypeError(p)

    return walk(pred)


# --- SQL backend ------------------------------------------------------------------------------


LARGE_SET = 64
"""Sets with more values than this are matched by a join, never by a long IN-list."""


def to_sql(
    pred: Pred, dialect: str = "databricks", sets: list[tuple[str, tuple[Any, ...]]] | None = None
) -> str:
    """The predicate as SQL in a sqlglot dialect ("databricks", "spark", "duckdb" ...).

    A large set becomes ``IN (SELECT ... FROM VALUES ...)``, which engines plan as a
    semi-join; given ``sets``, it becomes a test on a joined column instead (the caller joins
    ``_set_table(k, ...)`` for each entry appended), which works in every clause on every engine.
    """
    import sqlglot
    from sqlglot import exp

    def col(c: str) -> exp.Column:
        return exp.column(c, quoted=True)

    def walk(p: Pred) -> exp.Expr:
        match p:
            case IsNotNull(column=c):
                return exp.not_(exp.Is(this=col(c), expression=exp.null()))
            case Compare(column=c, op=op, value=v):
                node = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[op]
                return node(this=col(c), expression=exp.convert(v))
            case InSet(column=c, values=values) if len(values) > LARGE_SET:
                if sets is None:
                    return col(c).isin(query=exp.select("v").from_(_values(values)))
                sets.append((c, values))
                hit = exp.column(f"__set{len(sets) - 1}_hit", quoted=True)
                return exp.not_(exp.Is(this=hit, expression=exp.null()))
            case InSet(column=c, values=values):
                return col(c).isin(*values)
            case Regex(column=c, pattern=pattern):
                return exp.RegexpLike(this=col(c), expression=exp.Literal.string(pattern))
            case Sql(text=text):
                return exp.paren(sqlglot.parse_one(text, read="databricks"))
            case Duplicated(columns=cols):
                window = exp.Window(
                    this=exp.Count(this=exp.Star()),
                    partition_by=[col(c) for c in cols],
                )
                return exp.GT(this=window, expression=exp.Literal.number(1))
            case Coalesce(item=item, default=default):
                return exp.func("COALESCE", walk(item), exp.Boolean(this=default))
            case Not(item=item):
                return exp.not_(exp.paren(walk(item)))
            case And(items=items):
                return exp.and_(*(exp.paren(walk(i)) for i in items))
            case Or(items=items):
                return exp.or_(*(exp.paren(walk(i)) for i in items))
        raise TypeError(p)

    return walk(pred).sql(dialect=dialect)


def count_failures_sql(
    named: list[tuple[str, Pred]], table: str, dialect: str = "databricks"
) -> str:
    """One query, one scan: the row count and each rule's failing rows."""
    from sqlglot import exp

    def alias(name: str) -> str:
        return exp.to_identifier(name, quoted=True).sql(dialect=dialect)

    # predicates in an inner select: 'unique' is a window, which may not sit inside SUM
    sets: list[tuple[str, tuple[Any, ...]]] = []
    inner = ", ".join(
        f"{to_sql(p, dialect, sets)} AS {alias(f'__p{i}')}" for i, (_, p) in enumerate(named)
    )
    joins = "".join(f" LEFT JOIN {_set_table(k, sets[k], dialect)}" for k in range(len(sets)))
    cases = ", ".join(
        f"SUM(CASE WHEN {alias(f'__p{i}')} THEN 0 ELSE 1 END) AS {alias(n)}"
        for i, (n, _) in enumerate(named)
    )
    return (
        f"SELECT COUNT(*) AS {alias('__rows')}, {cases} "
        f"FROM (SELECT {inner} FROM {table}{joins}) AS t"
    )


def _values(values: tuple[Any, ...]) -> Any:
    from sqlglot import exp

    return exp.values([(v,) for v in values], alias="s", columns=["v"])


def _set_table(k: int, entry: tuple[str, tuple[Any, ...]], dialect: str) -> str:
    """``(distinct set values, TRUE) ON column = value``: a left join keeps every row once."""
    from sqlglot import exp

    column, values = entry
    key, hit = exp.to_identifier(f"__set{k}_key", quoted=True), f"__set{k}_hit"
    table = (
        exp.select(exp.column("v").as_(key), exp.true().as_(hit, quoted=True))
        .from_(_values(values))
        .distinct()
        .subquery(f"__set{k}")
    )
    on = exp.EQ(this=exp.column(column, quoted=True), expression=exp.column(key))
    return f"{table.sql(dialect=dialect)} ON {on.sql(dialect=dialect)}"
