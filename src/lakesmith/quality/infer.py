"""Rule inference: a full-data profile in, review-ready ``warn`` rules with evidence out.

:func:`suggest` reads only a :class:`~lakesmith.quality.profile.TableProfile` and two
optional callbacks, so it is pure and cheap: ``contains`` confirms a foreign key with an
anti-join count, ``verify`` runs the candidate rules once on the source so that every rule
returned passes there. :func:`infer_rules` wires both to Polars frames (the CLI uses it).

Thresholds (see :class:`InferOptions`): ranges come from p01/p99 widened by a quarter of
their spread (never mean ± 3 sigma, which one outlier drags anywhere), rounded outward and
clamped to the observed min/max; sets need every value seen at least 3 times; named
patterns need 99 % of the values; foreign keys need 99.9 % of the keys in the parent.
Confidence starts from the "rule of three" (no failure in ``n`` rows bounds the failure
rate by ``3/n`` at 95 %) and is scaled down by what makes the evidence weaker.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from . import rules as r
from .profile import ColumnProfile, TableProfile

if TYPE_CHECKING:
    import polars as pl

Contains = Callable[[list[str], str, list[str]], int | None]
"""``(columns, ref_table, ref_columns) -> orphans``: rows whose non-null key has no parent
(``None`` when the keys cannot be compared)."""

Verify = Callable[[r.RuleSet], Mapping[str, int]]
"""Evaluate a rule set on the source: rule name -> failing rows."""

PROFILE_TO_RULE_PATTERN: dict[str, str] = {
    "email": "email",
    "uuid": "uuid",
    "url": "url",
    "ip": "ipv4",
    "phone": "phone",
}
# the profiler's url and phone regexes are looser than the rule patterns: their shares are
# only trusted once ``verify`` has run the rule itself
_LOOSE_PATTERNS = {"url", "phone"}
_INTEGER_TYPES = {"tinyint", "smallint", "int", "bigint"}
_ID_NAMES = {"id", "uuid", "guid", "key", "code", "sku"}
_ID_SUFFIXES = ("_id", "_uuid", "_guid", "_key", "_code", "_no", "_number", "_sk")


@dataclass(frozen=True)
class InferOptions:
    """The thresholds of :func:`suggest`.

    Attributes:
        margin: p01..p99 is widened by this share of its spread on each side.
        max_set_size: at most this many distinct values make an ``in_set``.
        min_set_support: every value of an ``in_set`` must be seen this many times.
        min_rows_unique: fewer non-null rows than this never make a key.
        min_rows_unique_plain: the same for emails and uuids in columns not named as keys
            (other columns are never proposed unique without an id-like name).
        min_pattern_share: share of the values a named pattern must match.
        min_containment: share of the keys that must exist in the parent table.
        row_count_floor: the ``row_count`` floor, as a share of the current rows.
        min_temporal_margin: temporal ranges are widened by at least this much.
        min_confidence: suggestions below this confidence are left out.
    """

    margin: float = 0.25
    max_set_size: int = 20
    min_set_support: int = 3
    min_rows_unique: int = 20
    min_rows_unique_plain: int = 100
    min_pattern_share: float = 0.99
    min_containment: float = 0.999
    row_count_floor: float = 0.5
    min_temporal_margin: timedelta = timedelta(days=365)
    min_confidence: float = 0.3


class Suggestion(BaseModel):
    """One proposed rule (always ``severity: warn``), why, and how sure we are."""

    model_config = ConfigDict(frozen=True)

    rule: r.Rule
    evidence: str = Field(description="the numbers behind the rule, in one sentence")
    confidence: float = Field(ge=0, le=1)


# --- public API --------------------------------------------------------------------------------


def suggest(
    profile: TableProfile,
    *,
    table: str | None = None,
    related: Mapping[str, TableProfile] | None = None,
    contains: Contains | None = None,
    verify: Verify | None = None,
    options: InferOptions | None = None,
) -> list[Suggestion]:
    """Propose ``warn`` rules that the profiled table satisfies.

    Without ``verify`` every rule is exact from the profile (checks that the profile can
    only estimate, such as keys over approximate distinct counts or the url and phone
    patterns, are left out). Foreign keys need ``related`` profiles (the candidate key
    columns are enough, see :func:`key_columns`) and ``contains``.

    Args:
        profile: a full-data profile of the table.
        table: its name (``schema.table``); pairs ``customer_id`` with a ``customers``
            table and keeps ``order_id`` of ``orders`` from pointing elsewhere.
        related: other tables' profiles by the name the rule should reference.
        contains: counts orphans of a candidate foreign key.
        verify: evaluates candidate rules on the source; failing ones are dropped (or,
            for patterns, get the tolerance they need).
        options: thresholds.

    Returns:
        Suggestions in column order, each rule with ``severity: warn``.

    Example:
        >>> import polars as pl
        >>> from lakesmith.quality.profile import profile
        >>> frame = pl.DataFrame({"order_id": range(1, 101), "status": ["new", "paid"] * 50})
        >>> [s.rule.check for s in suggest(profile(frame), table="sales.orders")]
        ['row_count', 'not_null', 'unique', 'not_null', 'in_set']
    """
    opts = options or InferOptions()
    rows = profile.row_count
    if rows == 0:
        return []
    out: list[Suggestion] = []
    floor = int(rows * opts.row_count_floor)
    if floor >= 1:
        out.append(
            _make(
                r.RowCount(check="row_count", min=floor),
                f"{rows:,} rows now; the floor is {opts.row_count_floor:.0%} of that",
                0.5,
            )
        )
    for col in profile.columns:
        out += _column_rules(col, rows, opts, can_verify=verify is not None)
        if related and contains:
            fk = _foreign_key(col, rows, table, related, contains, opts)
            if fk is not None:
                out.append(fk)
    if verify is not None:
        out = _confirm(out, verify, profile, opts)
    return [s for s in out if s.confidence >= opts.min_confidence]


def key_columns(
    profile: TableProfile, table: str | None, related: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """The columns of each related table that could be a parent key of this table.

    Profile only these to find foreign keys: ``customer_id`` here pairs with
    ``customer_id`` anywhere, and with ``id`` in a table named ``customer(s)``.

    Example:
        >>> from lakesmith.quality.profile import profile
        >>> import polars as pl
        >>> orders = profile(pl.DataFrame({"order_id": [1, 2], "customer_id": [7, 7]}))
        >>> key_columns(orders, "s.orders", {"s.customers": ["id", "name"], "s.x": ["y"]})
        {'s.customers': ['id']}
    """
    out: dict[str, list[str]] = {}
    for t, names in related.items():
        wanted: list[str] = []
        for col in profile.columns:
            for parent in _parent_columns(col.name, table, t):
                if parent in names and parent not in wanted:
                    wanted.append(parent)
        if wanted:
            out[t] = wanted
    return out


def infer_rules(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    table: str | None = None,
    related: Mapping[str, pl.LazyFrame | pl.DataFrame] | None = None,
    options: InferOptions | None = None,
) -> list[Suggestion]:
    """Profile ``frame`` (every row), suggest rules, and confirm them on the same data.

    Related tables are profiled only on their candidate key columns; foreign keys are
    confirmed with the anti-join the ``foreign_key`` check itself runs.

    Args:
        frame: the table's data.
        table: its name (``schema.table``).
        related: frames of the other tables of the same schema, by name.
        options: thresholds.

    Example:
        >>> import polars as pl
        >>> customers = pl.LazyFrame({"id": range(50)})
        >>> orders = pl.DataFrame({"order_id": range(100), "customer_id": [*range(50)] * 2})
        >>> found = infer_rules(orders, table="s.orders", related={"s.customers": customers})
        >>> [(s.rule.check, s.evidence) for s in found][-1]
        ('foreign_key', 'all 100 keys found in s.customers.id (0 orphans)')
    """
    import polars as pl

    from .evaluate import count_orphans, evaluate
    from .profile import profile as run_profile

    opts = options or InferOptions()
    lf = frame.lazy()
    prof = run_profile(frame, top_k=max(opts.max_set_size, 10))
    frames = {t: f.lazy() for t, f in (related or {}).items()}
    wanted = key_columns(prof, table, {t: f.collect_schema().names() for t, f in frames.items()})
    profiles = {
        t: run_profile(frames[t].select(cols), top_k=1, exact_rows_limit=2**62)
        for t, cols in wanted.items()
    }

    def contains(columns: list[str], ref_table: str, ref_columns: list[str]) -> int | None:
        rule = r.ForeignKey(
            check="foreign_key", columns=columns, ref_table=ref_table, ref_columns=ref_columns
        )
        try:
            return count_orphans(lf, rule, frames[ref_table])
        except pl.exceptions.PolarsError:  # key types that do not join
            return None

    def verify(rules: r.RuleSet) -> dict[str, int]:
        return {x.name: x.fail_count for x in evaluate(rules, frame).rules}

    return suggest(
        prof, table=table, related=profiles, contains=contains, verify=verify, options=opts
    )


def to_ruleset(suggestions: Sequence[Suggestion], dataset: str | None = None) -> r.RuleSet:
    """The suggested rules as a rule set, in order.

    Raises:
        LakesmithError: when there is no suggestion (a rule set needs a rule).
    """
    if not suggestions:
        from lakesmith.errors import LakesmithError

        raise LakesmithError(
            f"no rule could be inferred for {dataset or 'the table'}",
            hint="an empty table, or columns without a stable property; profile it with "
            "`lakesmith profile NAME` to see why",
        )
    return r.RuleSet(dataset=dataset, rules=[s.rule for s in suggestions])


def to_yaml(suggestions: Sequence[Suggestion], dataset: str | None = None) -> str:
    """A rules file, each rule under a ``# confidence 0.97 — evidence`` comment.

    It loads back with :func:`lakesmith.quality.rules.load_rules`.

    Raises:
        LakesmithError: when there is no suggestion.

    Example:
        >>> s = Suggestion(
        ...     rule=r.NotNull(check="not_null", column="id", severity="warn"),
        ...     evidence="0 nulls in 1,000 rows",
        ...     confidence=0.99,
        ... )
        >>> print(to_yaml([s], "sales.orders").split("rules:")[1])
        <BLANKLINE>
          # confidence 0.99 — 0 nulls in 1,000 rows
          - {check: not_null, column: id, severity: warn}
        <BLANKLINE>
    """
    import yaml

    to_ruleset(suggestions, dataset)  # validates: names unique, at least one rule
    lines = [
        "# Rules suggested by `lakesmith quality suggest` from a full profile"
        + (f" of {dataset}." if dataset else "."),
        "# All are warnings: review them, then make the ones that matter severity: error.",
        "version: 1",
    ]
    if dataset:
        lines.append(f"dataset: {_yaml_scalar(dataset)}")
    lines.append("rules:")
    for s in suggestions:
        evidence = " ".join(s.evidence.split())
        body = yaml.safe_dump(
            _rule_dict(s.rule), default_flow_style=True, sort_keys=False, width=2**16
        ).strip()
        lines += [f"  # confidence {s.confidence:.2f} — {evidence}", f"  - {body}"]
    return "\n".join(lines) + "\n"


def to_json(suggestions: Sequence[Suggestion], dataset: str | None = None) -> str:
    """The suggestions with their evidence and confidence, as JSON.

    Example:
        >>> rule = r.RowCount(check="row_count", min=5, severity="warn")
        >>> s = Suggestion(rule=rule, evidence="10 rows now", confidence=0.5)
        >>> json.loads(to_json([s], "s.t"))["suggestions"][0]
        {'rule': {'check': 'row_count', 'min': 5, 'severity': 'warn'}, 'evidence': '10 rows now', 'confidence': 0.5}
    """  # noqa: E501
    items = [
        {"rule": _rule_dict(s.rule), "evidence": s.evidence, "confidence": round(s.confidence, 2)}
        for s in suggestions
    ]
    return json.dumps({"dataset": dataset, "suggestions": items}, indent=2, ensure_ascii=False)


# --- per-column inference ----------------------------------------------------------------------


def _column_rules(
    col: ColumnProfile, rows: int, opts: InferOptions, *, can_verify: bool
) -> list[Suggestion]:
    non_null = rows - col.null_count
    if non_null == 0:
        return []
    out: list[Suggestion] = []
    if col.null_count == 0:
        out.append(
            _make(
                r.NotNull(check="not_null", column=col.name),
                f"0 nulls in {rows:,} rows",
                _support(rows),
            )
        )
    key = _unique(col, non_null, opts, can_verify=can_verify)
    if key is not None:
        out.append(key)
    in_set = _in_set(col, non_null, opts)
    if in_set is not None:
        out.append(in_set)
    elif key is None and not _fk_stem(col.name):
        bounds = _in_range(col, non_null, opts)
        if bounds is not None:
            out.append(bounds)
    if col.kind == "string" and in_set is None:
        pattern = _matches(col, non_null, opts, can_verify=can_verify)
        if pattern is not None:
            out.append(pattern)
        elif key is None and col.empty_count == 0:
            out.append(
                _make(
                    r.Matches(check="matches", column=col.name, regex=r"\S"),
                    f"no empty or blank strings in {non_null:,} values",
                    _support(non_null) * 0.9,
                    name=f"not_blank_{col.name}",
                )
            )
    return out


def _unique(
    col: ColumnProfile, non_null: int, opts: InferOptions, *, can_verify: bool
) -> Suggestion | None:
    if not (_is_integer(col) or col.kind == "string") or col.distinct_count is None:
        return None
    id_like = _id_like(col.name)
    if non_null < (opts.min_rows_unique if id_like else opts.min_rows_unique_plain):
        return None
    shares = col.named_patterns or {}
    natural = max(shares.get("email", 0.0), shares.get("uuid", 0.0)) >= opts.min_pattern_share
    if not (id_like or natural):
        return None  # a unique email or uuid is a natural key; unique names are a coincidence
    if col.distinct_exact:
        if col.distinct_count != non_null:
            return None
        evidence = f"{non_null:,} distinct values in {non_null:,} non-null rows"
    elif can_verify and col.distinct_count >= 0.8 * non_null:
        # a HyperLogLog estimate (off by several % on sequential ids): verify counts exactly
        evidence = f"about {col.distinct_count:,} distinct values in {non_null:,} non-null rows"
    else:
        return None
    factor = 1.0 if id_like else 0.7
    evidence += "; the name reads as a key" if id_like else "; the values look like natural keys"
    return _make(
        r.Unique(check="unique", columns=[col.name]), evidence, _support(non_null) * factor
    )


def _in_set(col: ColumnProfile, non_null: int, opts: InferOptions) -> Suggestion | None:
    if not (_is_integer(col) or col.kind == "string") or _fk_stem(col.name):
        return None  # a few customer ids today are not the only customers there will be
    if not col.distinct_exact or not col.distinct_count or col.distinct_count > opts.max_set_size:
        return None
    top = col.top_values or []
    if len(top) != col.distinct_count or sum(t.count for t in top) != non_null:
        return None  # the profile's top values do not cover every value
    rarest = min(top, key=lambda t: t.count)
    if rarest.count < opts.min_set_support or any(t.value is None for t in top):
        return None
    values = [t.value for t in top if t.value is not None]
    n = len(values)
    evidence = (
        f"{n} value{'s cover' if n > 1 else ' covers'} all {non_null:,} non-null rows; "
        f"the rarest, {rarest.value!r}, {rarest.count:,} times"
    )
    confidence = _support(non_null) * rarest.count / (rarest.count + n)
    return _make(r.InSet(check="in_set", column=col.name, values=values), evidence, confidence)


def _in_range(col: ColumnProfile, non_null: int, opts: InferOptions) -> Suggestion | None:
    if col.kind == "temporal":
        return _temporal_range(col, non_null, opts)
    if col.kind != "numeric" or col.nan_count or not col.quantiles:
        return None
    lo_obs, hi_obs = _float(col.min), _float(col.max)
    p01, p99 = _float(col.quantiles.get("p01")), _float(col.quantiles.get("p99"))
    if None in (lo_obs, hi_obs, p01, p99) or lo_obs == hi_obs:
        return None
    assert lo_obs is not None and hi_obs is not None and p01 is not None and p99 is not None
    if not all(math.isfinite(v) for v in (lo_obs, hi_obs)):
        return None
    spread = p99 - p01 if p99 > p01 else hi_obs - lo_obs
    pad = opts.margin * spread
    integer = _is_integer(col)
    step = _step(spread, integer=integer)
    lo = _round(min(p01 - pad, lo_obs), step, up=False)
    hi = _round(max(p99 + pad, hi_obs), step, up=True)
    notes = [f"bounds are p01/p99 ± {opts.margin:.0%} of their spread"]
    widened = [
        side for side, out in (("min", lo_obs < p01 - pad), ("max", hi_obs > p99 + pad)) if out
    ]
    if widened:
        notes.append(f"widened to the observed {' and '.join(widened)}")
    notes.append("rounded outward")
    if lo_obs >= 0 > lo:
        lo = 0
        notes.append("floored at 0")
    if hi_obs <= 0 < hi:
        hi = 0
        notes.append("capped at 0")
    evidence = (
        f"values {_fmt(lo_obs)} … {_fmt(hi_obs)} (p01 {_fmt(p01)}, p99 {_fmt(p99)}) in "
        f"{non_null:,} rows; " + ", ".join(notes)
    )
    # beyond a whole p01..p99 spread past the quantiles: an outlier the rule now admits
    outliers = [
        f"the {side} {_fmt(v)}"
        for side, v, out in (
            ("min", lo_obs, lo_obs < p01 - spread),
            ("max", hi_obs, hi_obs > p99 + spread),
        )
        if out
    ]
    confidence = _support(non_null) * 0.95
    if outliers:
        evidence += f"; {' and '.join(outliers)} look like outliers: clean them, then tighten"
        confidence *= 0.6
    if (col.distinct_count or 0) < 20:
        confidence *= 0.85
    return _make(
        r.InRange(check="in_range", column=col.name, min=_num(lo), max=_num(hi)),
        evidence,
        confidence,
    )


def _temporal_range(col: ColumnProfile, non_null: int, opts: InferOptions) -> Suggestion | None:
    """Calendar-year bounds at least ``min_temporal_margin`` beyond the data.

    They catch sentinels (1900-01-01, 9999-12-31) and unit mistakes, while a table that
    grows by the day stays inside for a year or more.
    """
    q = col.quantiles or {}
    lo_obs, hi_obs, p01, p99 = (_when(v) for v in (col.min, col.max, q.get("p01"), q.get("p99")))
    if lo_obs is None or hi_obs is None or p01 is None or p99 is None:
        return None
    pad = max((p99 - p01) * opts.margin, opts.min_temporal_margin)
    try:
        low = min(p01 - pad, lo_obs)
        lo: str | None = date(low.year, 1, 1).isoformat()
    except OverflowError:
        lo = None
    try:
        high = max(p99 + pad, hi_obs)
        hi: str | None = date(high.year + 1, 1, 1).isoformat()
    except (OverflowError, ValueError):
        hi = None
    if lo is None and hi is None:
        return None
    evidence = (
        f"values {_day(col.min)} … {_day(col.max)} in {non_null:,} rows; bounds are the "
        f"calendar years at least {opts.min_temporal_margin.days} days beyond p01/p99, to catch "
        "sentinel dates"
    )
    return _make(
        r.InRange(check="in_range", column=col.name, min=lo, max=hi),
        evidence,
        _support(non_null) * 0.7,
    )


def _matches(
    col: ColumnProfile, non_null: int, opts: InferOptions, *, can_verify: bool
) -> Suggestion | None:
    shares = col.named_patterns or {}
    best = max(shares, key=lambda p: shares[p], default=None)
    if best is None or best not in PROFILE_TO_RULE_PATTERN:
        return None
    share = shares[best]
    if share < opts.min_pattern_share or (best in _LOOSE_PATTERNS and not can_verify):
        return None
    misses = round((1 - share) * non_null)
    return _pattern_suggestion(col.name, PROFILE_TO_RULE_PATTERN[best], non_null, misses, None)


def _pattern_suggestion(
    column: str, pattern: str, non_null: int, misses: int, rows: int | None
) -> Suggestion:
    """A named-pattern rule; misses get a tolerance (a ratio of ``rows``) so that it passes."""
    share = 1 - misses / non_null
    tolerance = None
    if misses:
        ratio = _ceil_ratio(misses, rows or non_null)
        tolerance = r.Tolerance(max_ratio=ratio)
        evidence = (
            f"{_pct(share)} of {non_null:,} values match {pattern} ({misses:,} do not; "
            f"tolerance {_pct(ratio)})"
        )
    else:
        evidence = f"all {non_null:,} values match {pattern}"
    return _make(
        r.Matches(check="matches", column=column, pattern=pattern, tolerance=tolerance),
        evidence,
        _support(non_null) * share,
    )


# --- foreign keys ------------------------------------------------------------------------------


def _foreign_key(
    col: ColumnProfile,
    rows: int,
    table: str | None,
    related: Mapping[str, TableProfile],
    contains: Contains,
    opts: InferOptions,
) -> Suggestion | None:
    non_null = rows - col.null_count
    if non_null == 0 or not (_is_integer(col) or col.kind == "string"):
        return None
    candidates: list[tuple[bool, str, str]] = []  # (name matches, table, column)
    for t, prof in related.items():
        by_name = {c.name: c for c in prof.columns}
        for parent in _parent_columns(col.name, table, t):
            p = by_name.get(parent)
            if p is not None and _is_key(p, prof.row_count) and _joinable(col, p):
                candidates.append((_names_table(col.name, t), t, parent))
    candidates.sort(key=lambda c: (not c[0], c[1], c[2] != col.name))
    for matched, t, parent in candidates:
        orphans = contains([col.name], t, [parent])
        if orphans is None:
            continue
        share = 1 - orphans / non_null
        if share < opts.min_containment:
            continue
        tolerance = r.Tolerance(max_ratio=_ceil_ratio(orphans, rows)) if orphans else None
        where = f"{t}.{parent}"
        if orphans:
            evidence = (
                f"{_pct(share)} of {non_null:,} keys found in {where} ({orphans:,} orphan"
                f"{'s' if orphans > 1 else ''}; tolerance {_pct(_ceil_ratio(orphans, rows))})"
            )
        else:
            evidence = f"all {non_null:,} keys found in {where} (0 orphans)"
        if not matched:
            evidence += "; the table name does not match the column, check the pairing"
        rule = r.ForeignKey(
            check="foreign_key",
            columns=[col.name],
            ref_table=t,
            ref_columns=None if parent == col.name else [parent],
            tolerance=tolerance,
        )
        return _make(rule, evidence, _support(non_null) * share * (1.0 if matched else 0.8))
    return None


def _parent_columns(column: str, table: str | None, ref_table: str) -> list[str]:
    """Columns of ``ref_table`` that ``column`` may point to (none for this table's own key)."""
    stem = _fk_stem(column)
    if not stem or _base(ref_table) == _base(table) or _names(table, stem):
        return []
    return [column, "id"] if _names(ref_table, stem) else [column]


def _names_table(column: str, table: str) -> bool:
    stem = _fk_stem(column)
    return bool(stem) and _names(table, stem)


def _names(table: str | None, stem: str) -> bool:
    """Whether a table is named after ``stem``: customer -> customer(s), dim_customer, ..."""
    base = _base(table)
    if not base:
        return False
    forms = {stem, stem + "s", stem + "es"}
    if stem.endswith("y"):
        forms.add(stem[:-1] + "ies")
    return base in forms or any(base.endswith("_" + f) for f in forms)


def _fk_stem(column: str) -> str:
    """``customer`` of ``customer_id`` / ``customer_key`` / ``customerId``; else empty."""
    for suffix in ("_id", "_key"):
        if column.lower().endswith(suffix) and len(column) > len(suffix):
            return column[: -len(suffix)].lower()
    if re.fullmatch(r"[a-z][A-Za-z0-9]*Id", column):
        return re.sub(r"(?<!^)([A-Z])", r"_\1", column[:-2]).lower()
    return ""


def _is_key(col: ColumnProfile, rows: int) -> bool:
    non_null = rows - col.null_count
    return bool(non_null) and bool(col.distinct_exact) and col.distinct_count == non_null


def _joinable(child: ColumnProfile, parent: ColumnProfile) -> bool:
    if _is_integer(child):
        return _is_integer(parent)
    return child.kind == parent.kind == "string"


# --- confirmation ------------------------------------------------------------------------------


def _confirm(
    suggestions: list[Suggestion], verify: Verify, profile: TableProfile, opts: InferOptions
) -> list[Suggestion]:
    """Run the row-level rules on the source; keep what passes, give patterns a tolerance."""
    checked = [s for s in suggestions if not isinstance(s.rule, r.ForeignKey)]
    if not checked:
        return suggestions
    ruleset = r.RuleSet(rules=[s.rule.model_copy(update={"tolerance": None}) for s in checked])
    fails = verify(ruleset)
    by_rule = {id(s): name for s, (name, _) in zip(checked, ruleset.named(), strict=True)}
    columns = {c.name: c for c in profile.columns}
    out: list[Suggestion] = []
    for s in suggestions:
        failed = fails.get(by_rule[id(s)], 0) if id(s) in by_rule else 0
        rule = s.rule
        if isinstance(rule, r.Matches) and rule.pattern:
            non_null = profile.row_count - columns[rule.column].null_count
            if failed > (1 - opts.min_pattern_share) * non_null:
                continue
            s = _pattern_suggestion(rule.column, rule.pattern, non_null, failed, profile.row_count)
        elif failed:
            continue  # an estimate that did not hold (e.g. a key over approximate distincts)
        elif isinstance(rule, r.Unique) and s.evidence.startswith("about"):
            non_null = profile.row_count - columns[rule.columns[0]].null_count
            reason = s.evidence.split("; ", 1)[1]
            exact = f"{non_null:,} distinct values in {non_null:,} non-null rows (counted exactly)"
            s = s.model_copy(update={"evidence": f"{exact}; {reason}"})
        out.append(s)
    return out


# --- helpers -----------------------------------------------------------------------------------


def _make(rule: Any, evidence: str, confidence: float, *, name: str | None = None) -> Suggestion:
    update: dict[str, Any] = {"severity": "warn"}
    if name:
        update["name"] = name
    return Suggestion(
        rule=rule.model_copy(update=update),
        evidence=evidence,
        confidence=round(min(max(confidence, 0.0), 1.0), 3),
    )


def _support(n: int) -> float:
    """Rule of three: no failure in ``n`` rows bounds the failure rate by ``3/n`` (95 %)."""
    return 0.0 if n <= 0 else min(0.99, max(0.0, 1 - 3 / n))


def _id_like(name: str) -> bool:
    low = name.lower()
    return low in _ID_NAMES or low.endswith(_ID_SUFFIXES) or name.endswith(("Id", "ID"))


def _is_integer(col: ColumnProfile) -> bool:
    if col.kind != "numeric":
        return False
    return col.dtype in _INTEGER_TYPES or bool(re.fullmatch(r"decimal\(\d+,0\)", col.dtype))


def _base(table: str | None) -> str:
    return table.rsplit(".", 1)[-1].strip("`").lower() if table else ""


def _float(value: Any) -> float | None:
    return None if value is None or isinstance(value, str | bool) else float(value)


def _step(spread: float, *, integer: bool) -> float:
    """A round step, a tenth of the spread's order of magnitude (1 at least for integers)."""
    step = 10.0 ** (math.floor(math.log10(spread)) - 1) if spread > 0 else 1.0
    return max(step, 1.0) if integer else step


def _round(value: float, step: float, *, up: bool) -> float:
    digits = max(0, -math.floor(math.log10(step)))
    k = math.ceil(value / step) if up else math.floor(value / step)
    out = round(k * step, digits)
    while (out < value) if up else (out > value):  # float noise must never tighten a bound
        out = round(out + step if up else out - step, digits)
    return out


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _day(value: Any) -> str:
    return str(value)[:10] if value is not None else "?"


def _fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.4g}"


def _pct(share: float) -> str:
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _ceil_ratio(count: int, rows: int, digits: int = 4) -> float:
    """``count / rows`` rounded up to ``digits`` decimals, so that it still admits ``count``."""
    scale = 10**digits
    return -(-count * scale // rows) / scale


def _yaml_scalar(value: str) -> str:
    import yaml

    return yaml.safe_dump(value, default_style=None).removesuffix("\n...\n").strip()


_KEY_ORDER = ["check", "name", "column", "columns"]


def _rule_dict(rule: Any) -> dict[str, Any]:
    """The rule as a user writes it: check first, then what it applies to, severity last."""
    raw = rule.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    raw["check"] = rule.check
    first = {k: raw.pop(k) for k in _KEY_ORDER if k in raw}
    severity = {"severity": raw.pop("severity")} if "severity" in raw else {}
    return {**first, **raw, **severity}
