"""Validation report for a generated identity-graph dataset.

`validate_dataset` answers every check with Polars lazy queries, in a few batches:

0. the keys of the small parent tables (households, individuals, campaigns) and each
   household's created_at, so that foreign keys and "not before the household was created"
   become row-level expressions (``is_in``, a positional look-up) instead of joins over the big
   tables;
1. one ``select`` of row-level counts per table (each table read once for them), the
   per-person engagement aggregate (materialised: it is small), the two queries that read the
   identifier values, and the group-bys and small joins;
2. what is answered from the aggregate (viewership patterns, events per person) and from the
   responses joined to their exposures;
3. only when something was flagged: sorting an unsorted primary key, comparing identifier
   values whose hashes collide, counting null identifiers by type. A clean dataset whose keys
   arrive in increasing order never runs it.

The checks rely on the generator's ID conventions: household_id 1..N, individual_id =
household_id*10 + member (member 0 is the householder), mapping_id = individual_id*100 + k,
event_id = individual_id*10000 + k, pattern_id = attribute_id = individual_id, campaign_id
1..C, exposure_id = individual_id*1000 + k, response_id = exposure_id*10 + 1, outcome_id =
response_id*10 + 1; an ip is one value per household shared by its members. The conventions are
checked themselves (consistency rule ``id_convention``), so a check that leans on them cannot
pass silently on data that breaks them.

Sections:
    schema: every table present with the contract's columns and types.
    keys: primary keys unique and not null.
    orphans: every foreign key in `schema.py` points at an existing row.
    identifiers: identifier values unique across the dataset, except an ``ip``, which is shared
        by the members of one household and may not appear in another household.
    temporal: each time rule counted on its own.
    consistency: derived values (viewership patterns, household sizes, responses) match their
        sources, and the ID conventions hold.
    distributions: observed values against the targets the spec implies, with a tolerance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import timedelta

import polars as pl
from polars.datatypes import DataTypeClass

from lakesmith.synth.schema import TABLES, TableDef
from lakesmith.synth.spec import IDENTIFIER_TYPES, SynthSpec

from .model import (
    ConsistencyCheck,
    DistributionCheck,
    IdentifierCheck,
    KeyCheck,
    OrphanCheck,
    SchemaCheck,
    TemporalCheck,
    ValidationReport,
)
from .targets import (
    conversion_check,
    education_check,
    engagement_checks,
    exposure_check,
    household_checks,
    identifier_checks,
    income_median_check,
    response_rate_checks,
)

AVG_DURATION_TOLERANCE = 1e-3
"""Absolute tolerance when comparing a stored average with the recomputed one (the generator
rounds avg_duration to 3 decimals)."""
_HASH_SEED = 0x5EED
_DAY_US = 86_400_000_000


def validate_dataset(
    spec: SynthSpec, tables: Mapping[str, pl.LazyFrame | pl.DataFrame]
) -> ValidationReport:
    """Check a generated dataset against the contract and the spec that produced it.

    Args:
        spec: the spec the dataset was generated from (targets, date window, seed).
        tables: table name -> frame, e.g. ``{n: pl.scan_delta(path / n) for n in TABLE_NAMES}``.
            A missing table is validated as an empty one and fails the schema section.

    Returns:
        The report; ``report.passed`` is True when every section passes.

    Example:
        >>> report = validate_dataset(spec, {n: pl.scan_delta(f"{root}/{n}") for n in TABLES})
        >>> report.passed, report.failures()[:3]
    """
    started = time.perf_counter()
    frames, schema_checks = _normalise(tables)
    v = _Validator(spec, frames)
    results = v.run()
    report = ValidationReport(
        dataset=f"{spec.catalog}.{spec.schema_}",
        seed=spec.seed,
        spec_hash=spec.spec_hash(),
        spec_households=spec.households,
        row_counts={name: _int(results[f"rows.{name}"].get("rows")) for name in TABLES},
        schema_checks=schema_checks,
        keys=v.keys(results),
        orphans=v.orphans(results),
        identifiers=v.identifiers(results),
        temporal=v.temporal(results),
        consistency=v.consistency(results),
        distributions=v.distributions(results),
        elapsed_seconds=0.0,
    )
    return report.model_copy(update={"elapsed_seconds": round(time.perf_counter() - started, 3)})


def _normalise(
    tables: Mapping[str, pl.LazyFrame | pl.DataFrame],
) -> tuple[dict[str, pl.LazyFrame], list[SchemaCheck]]:
    """Project every table onto the contract's columns and types; report the differences."""
    frames: dict[str, pl.LazyFrame] = {}
    checks: list[SchemaCheck] = []
    for name, tdef in TABLES.items():
        expected = expected_schema(tdef)
        given = tables.get(name)
        if given is None:
            frames[name] = pl.LazyFrame(schema=expected)
            checks.append(SchemaCheck(table=name, present=False, missing_columns=list(expected)))
            continue
        lf = given.lazy()
        actual = lf.collect_schema()
        exprs: list[pl.Expr] = []
        missing: list[str] = []
        mismatched: list[str] = []
        for col, dtype in expected.items():
            if col not in actual:
                missing.append(col)
                exprs.append(pl.lit(None, dtype).alias(col))
            elif actual[col] != dtype:
                if _plain(actual[col]) != dtype:
                    mismatched.append(f"{col}: {actual[col]} (expected {dtype})")
                exprs.append(pl.col(col).cast(dtype, strict=False))
            else:
                exprs.append(pl.col(col))
        frames[name] = lf.select(exprs)
        checks.append(
            SchemaCheck(
                table=name,
                present=True,
                missing_columns=missing,
                type_mismatches=mismatched,
                extra_columns=[c for c in actual if c not in expected],
            )
        )
    return frames, checks


def _plain(dtype: pl.DataType | DataTypeClass) -> pl.DataType | DataTypeClass:
    """Categorical and Enum strings (dictionary-encoded Arrow) count as strings."""
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return pl.String()
    if isinstance(dtype, pl.List):
        return pl.List(_plain(dtype.inner))
    return dtype


def expected_schema(tdef: TableDef) -> pl.Schema:
    """The Polars schema of a contract table."""
    frame = pl.DataFrame(pl.from_arrow(tdef.schema.empty_table()))
    return frame.schema


# --------------------------------------------------------------------------- the checks

Results = dict[str, dict[str, object]]


def _int(value: object) -> int:
    """A count from a result row (missing or null: 0)."""
    return int(value) if isinstance(value, int | float) else 0


def _float(value: object) -> float | None:
    """A statistic from a result row (missing, null or NaN: None)."""
    if not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


class _Validator:
    """Plans the lazy queries, runs them in a few batches and turns the answers into checks.

    Batch 0 reads the parent keys (small) and each household's created_at, so that foreign
    keys and "not before created_at" become row-level expressions (``is_in`` and a positional
    look-up) instead of joins over the big tables. Batch 1 reads every table once for its
    row-level counts, plus the per-person engagement aggregate (materialised: it is small) and
    the checks that need a group-by or a small join. Batch 2 answers the rest from the
    aggregates. Batch 3 runs only when an earlier batch flagged something.
    """

    def __init__(self, spec: SynthSpec, frames: dict[str, pl.LazyFrame]) -> None:
        self.spec = spec
        self.f = frames
        self.start = pl.lit(spec.start)
        self.end = pl.lit(spec.end + timedelta(days=1))  # exclusive
        self.stats: dict[str, dict[str, pl.Expr]] = {name: {} for name in TABLES}
        self.queries: dict[str, pl.LazyFrame] = {}
        self.table_queries: set[str] = set()  # answers kept as whole frames
        self.parent_keys: dict[str, pl.Series] = {}
        self.created_at: pl.Series | None = None  # by position when household ids are 1..N
        self.shared: dict[str, pl.LazyFrame] = {}

    # -- running

    def stat(self, table: str, **exprs: pl.Expr) -> None:
        """Row-level counts, answered by one ``select`` per table."""
        self.stats[table].update(exprs)

    def q(self, name: str, lf: pl.LazyFrame, *, table: bool = False) -> None:
        self.queries[name] = lf
        if table:
            self.table_queries.add(name)

    def run(self) -> Results:
        self._read_parent_keys()
        # batch 1: every table once, the engagement aggregate, group-bys and small joins
        self._plan_keys()
        self._plan_orphans()
        self._plan_identifiers()
        self._plan_temporal()
        self._plan_consistency()
        self._plan_distributions()
        shared = self._shared_plans()
        batch = {f"rows.{t}": self.f[t].select(**e) for t, e in self.stats.items()}
        batch.update({f"shared.{k}": lf for k, lf in shared.items()})
        batch.update(self.queries)
        self.table_queries.update(f"shared.{k}" for k in shared)
        answers = self._collect(batch)
        for key in shared:
            self.shared[key] = _table(answers, f"shared.{key}").lazy()
            del answers[f"shared.{key}"]
        # batch 2: from the materialised aggregates
        self.queries = {}
        self._plan_on_aggregates()
        answers.update(self._collect(self.queries))
        # batch 3: narrow follow-ups for what was flagged
        follow_up = self._plan_follow_up(answers)
        if follow_up:
            answers.update(self._collect(follow_up))
        return answers

    def _collect(self, queries: dict[str, pl.LazyFrame]) -> Results:
        names = list(queries)
        frames = _run_queries([queries[n] for n in names])
        out: Results = {}
        for name, frame in zip(names, frames, strict=True):
            if name in self.table_queries:
                out[name] = {"frame": frame}
            else:
                out[name] = frame.row(0, named=True) if frame.height else {}
        return out

    # -- batch 0

    def _read_parent_keys(self) -> None:
        """Keys of the parents the big tables point at, and created_at by household id."""
        parents = sorted(
            {
                (fk.parent, fk.parent_column)
                for t in TABLES.values()
                for fk in t.foreign_keys
                if fk.parent in _LOOKUP_PARENTS
            }
        )
        queries = [self.f[p].select(pl.col(c).drop_nulls()) for p, c in parents]
        queries.append(self.f["households"].select("household_id", "created_at"))
        *keys, households = pl.collect_all(queries)
        for (parent, column), frame in zip(parents, keys, strict=True):
            self.parent_keys[f"{parent}.{column}"] = frame.to_series()
        ids = households["household_id"]
        # household ids 1..N in order: created_at is looked up by position
        first_is_one = len(ids) > 0 and ids.null_count() == 0 and ids[0] == 1
        if first_is_one and (ids.diff().drop_nulls() == 1).all():
            self.created_at = households["created_at"]

    def _household_created(self) -> pl.Expr:
        """The created_at of each row's household (household_id = individual_id // 10)."""
        assert self.created_at is not None
        n = len(self.created_at)
        hid = pl.col("individual_id") // 10
        look_up = pl.lit(self.created_at).gather((hid - 1).clip(0, max(n - 1, 0)))
        return pl.when((hid >= 1) & (hid <= n)).then(look_up)

    # -- batch 1

    def _shared_plans(self) -> dict[str, pl.LazyFrame]:
        f = self.f
        return {
            "ce_agg": f["content_engagements"]
            .group_by("individual_id")
            .agg(
                n=pl.len(),
                last=pl.col("timestamp").max(),
                avg_duration=pl.col("duration_seconds").mean(),
            ),
            # each response with its exposure
            "resp_exp": f["response_events"]
            .select("response_id", "individual_id", "campaign_id", "exposure_id", "timestamp")
            .join(
                f["campaign_exposures"].select(
                    "exposure_id",
                    x_individual=pl.col("individual_id"),
                    x_campaign=pl.col("campaign_id"),
                    x_timestamp=pl.col("timestamp"),
                    channel=pl.col("channel"),
                ),
                on="exposure_id",
            ),
        }

    def _plan_keys(self) -> None:
        for name, tdef in TABLES.items():
            pk = pl.col(tdef.primary_key)
            # no non-increasing step (and no null) proves the key unique without a sort
            self.stat(
                name, rows=pl.len(), pk_nulls=pk.null_count(), pk_steps=(pk.diff() <= 0).sum()
            )

    def _plan_orphans(self) -> None:
        """Row-level ``is_in`` for the small parents of the big tables, anti-joins otherwise."""
        for name, tdef in TABLES.items():
            for fk in tdef.foreign_keys:
                col = pl.col(fk.column)
                self.stat(name, **{f"fk_null.{fk.column}": col.null_count()})
                if fk.parent in _LOOKUP_PARENTS:
                    keys = self.parent_keys[f"{fk.parent}.{fk.parent_column}"]
                    self.stat(
                        name, **{f"fk_orphan.{fk.column}": (~col.is_in(keys.implode())).sum()}
                    )
                    continue
                parent = self.f[fk.parent].select(pl.col(fk.parent_column).alias(fk.column))
                self.q(
                    f"fk.{name}.{fk.column}",
                    self.f[name]
                    .select(fk.column)
                    .filter(col.is_not_null())
                    .join(parent, on=fk.column, how="anti")
                    .select(orphans=pl.len()),
                )

    def _plan_identifiers(self) -> None:
        """Counts by type in the row-level scan; two queries read the values (the costly part).

        Equal values have equal hashes, so no equal neighbour among the sorted hashes of the
        non-ip values proves them unique, and an ip hash found in one household only proves
        that ip is not shared. Anything flagged (a null value hashes like every other null) is
        settled on the values themselves in batch 3.
        """
        kind, value = pl.col("identifier_type"), pl.col("identifier_value")
        is_ip = (kind == "ip").fill_null(False)
        exprs = {f"type_rows.{t}": (kind == t).sum() for t in IDENTIFIER_TYPES}
        self.stat(
            "identity_mappings",
            unknown_type=(~kind.is_in(IDENTIFIER_TYPES)).fill_null(True).sum(),
            **exprs,
        )
        im = self.f["identity_mappings"]
        hashed = value.hash(_HASH_SEED)
        ordered, n = hashed.sort(), pl.col("n")
        self.q(
            "ident.values",
            im.filter(~is_ip).select(
                nulls=value.null_count(), flagged=(ordered == ordered.shift(1)).sum()
            ),
        )
        self.q(
            "ident.ip",
            im.filter(is_ip)
            .select(household=pl.col("individual_id") // 10, h=hashed, null=value.is_null())
            .unique()
            .group_by("h")
            .agg(n=pl.len(), null=pl.col("null").any())
            .select(pairs=n.sum(), flagged=(n > 1).sum(), nulls=pl.col("null").sum()),
        )

    def _window(self, expr: pl.Expr) -> pl.Expr:
        return (expr < self.start) | (expr >= self.end)

    def _plan_temporal(self) -> None:
        f = self.f
        ts = pl.col("timestamp")
        midnight = pl.Datetime("us")
        campaigns = f["campaigns"].select(
            "campaign_id",
            c_start=pl.col("start_date").cast(midnight).dt.replace_time_zone("UTC"),
            c_end=pl.col("end_date").cast(midnight).dt.replace_time_zone("UTC")
            + pl.duration(days=1),
        )
        self.q(
            "t.exposure_in_campaign",
            f["campaign_exposures"]
            .select("campaign_id", "timestamp")
            .join(campaigns, on="campaign_id")
            .select(
                rows=ts.is_not_null().sum(),
                bad=((ts < pl.col("c_start")) | (ts >= pl.col("c_end"))).sum(),
            ),
        )
        conv = pl.col("converted_at")
        self.q(
            "t.outcome_after_response",
            f["outcome_metrics"]
            .select("response_id", "converted_at")
            .join(f["response_events"].select("response_id", r_ts=ts), on="response_id")
            .select(
                rows=(conv.is_not_null() & pl.col("r_ts").is_not_null()).sum(),
                bad=(conv < pl.col("r_ts")).sum(),
            ),
        )
        first, last = pl.col("first_seen"), pl.col("last_seen")
        self._rule(
            "identity_mappings",
            "identity_seen_order",
            first.is_not_null() & last.is_not_null(),
            first > last,
        )
        for rule, (table, column) in _CREATED_RULES.items():
            col = pl.col(column)
            if self.created_at is not None:
                created = self._household_created()
                self._rule(table, rule, col.is_not_null() & created.is_not_null(), col < created)
            else:  # household ids are not 1..N: join instead of a positional look-up
                households = f["households"].select("household_id", "created_at")
                self.q(
                    f"t.{rule}",
                    f[table]
                    .select(column, household_id=pl.col("individual_id") // 10)
                    .join(households, on="household_id")
                    .select(
                        rows=col.is_not_null().sum(),
                        bad=(col < pl.col("created_at")).sum(),
                    ),
                )
        for rule, (table, column) in _WINDOW_RULES.items():
            col = pl.col(column)
            self._rule(table, rule, col.is_not_null(), self._window(col))
        self._rule(
            "campaigns",
            "campaign_dates",
            pl.col("start_date").is_not_null() & pl.col("end_date").is_not_null(),
            pl.col("end_date") < pl.col("start_date"),
        )

    def _rule(self, table: str, rule: str, checked: pl.Expr, bad: pl.Expr) -> None:
        self.stat(table, **{f"t_rows.{rule}": checked.sum(), f"t_bad.{rule}": bad.sum()})

    def _plan_consistency(self) -> None:
        f = self.f
        members = (
            f["individuals"]
            .group_by("household_id")
            .agg(members=pl.len(), heads=pl.col("is_householder").sum())
        )
        self.q(
            "c.households",
            f["households"]
            .select("household_id", "size")
            .join(members, on="household_id", how="left")
            .select(
                rows=pl.len(),
                size=(pl.col("size").cast(pl.Int64) != pl.col("members").fill_null(0)).sum(),
                heads=(pl.col("heads").fill_null(0) != 1).sum(),
            ),
        )
        for table, expr in _ID_CONVENTIONS.items():
            self.stat(table, id_convention=expr.fill_null(True).sum())

    def _plan_distributions(self) -> None:
        f = self.f
        hh = f["households"]
        income = pl.col("annual_income")
        self.q("d.sizes", hh.group_by("size").agg(n=pl.len()), table=True)
        self.q("d.income", hh.select(n=income.is_not_null().sum(), median=income.median()))
        self.q(
            "d.education",
            f["individuals"]
            .filter(pl.col("is_householder"))
            .select("household_id", "education")
            .join(hh.select("household_id", "annual_income"), on="household_id")
            .group_by("education")
            .agg(n=pl.len(), median=income.median()),
            table=True,
        )
        self.q(
            "d.exposures", f["campaign_exposures"].group_by("channel").agg(n=pl.len()), table=True
        )
        self.stat("outcome_metrics", converted=pl.col("converted_at").is_not_null().sum())

    # -- batch 2

    def _plan_on_aggregates(self) -> None:
        s = self.shared
        n, ind = pl.col("n"), pl.col("individual_id")
        ts, x_ts = pl.col("timestamp"), pl.col("x_timestamp")
        self.q(
            "t.response_after_exposure",
            s["resp_exp"].select(
                rows=(ts.is_not_null() & x_ts.is_not_null()).sum(), bad=(ts < x_ts).sum()
            ),
        )
        self.q(
            "c.response_exposure",
            s["resp_exp"].select(
                rows=pl.len(),
                bad=(
                    (ind != pl.col("x_individual"))
                    | (pl.col("campaign_id") != pl.col("x_campaign"))
                ).sum(),
            ),
        )
        self.q("d.responses", s["resp_exp"].group_by("channel").agg(n=pl.len()), table=True)
        self._plan_viewership()
        events = n.fill_null(0)
        self.q(
            "d.events",
            self.f["individuals"]
            .select("individual_id")
            .join(s["ce_agg"].select("individual_id", "n"), on="individual_id", how="left")
            .select(
                n=pl.len(),
                median=events.median(),
                p99=events.quantile(0.99, interpolation="linear"),
            ),
        )

    def _plan_viewership(self) -> None:
        """One full join of the patterns with the engagement aggregate answers every rule."""
        n = pl.col("n")
        has = n.fill_null(0) > 0
        row = pl.col("_pattern").fill_null(False)
        freq, avg, ref = pl.col("frequency"), pl.col("avg_duration"), pl.col("ref_avg")
        recency = pl.col("recency_days")
        # whole days (floored) from the last event to the start of end_date
        expected_recency = (pl.lit(self.spec.end) - pl.col("last")).dt.total_microseconds() // (
            _DAY_US
        )
        prefs = pl.col("preferred_categories")
        categories = list(self.spec.engagement.categories)
        avg_off = avg.is_null() | ((avg - ref).abs() > AVG_DURATION_TOLERANCE)
        joined = (
            self.f["viewership_patterns"]
            .select(
                "individual_id",
                "frequency",
                "recency_days",
                "preferred_categories",
                "avg_duration",
                _pattern=pl.lit(True),
            )
            .filter(pl.col("individual_id").is_not_null())
            .join(
                self.shared["ce_agg"].select(
                    "individual_id", "n", "last", ref_avg=pl.col("avg_duration")
                ),
                on="individual_id",
                how="full",
                coalesce=True,
            )
        )
        self.q(
            "c.viewership",
            joined.select(
                rows=row.sum(),
                with_events=(n.is_not_null() & pl.col("individual_id").is_not_null()).sum(),
                frequency=(row & (freq.is_null() | (freq != n.fill_null(0)))).sum(),
                # no events: the average may be null or 0
                avg_duration=(
                    row & pl.when(has).then(avg_off).otherwise(avg.fill_null(0) != 0)
                ).sum(),
                recency=(row & has & (recency.is_null() | (recency != expected_recency))).sum(),
                categories=(
                    row
                    & has
                    & (
                        prefs.is_null()
                        | (prefs.list.len() == 0)
                        | ~prefs.list.eval(pl.element().is_in(categories)).list.all()
                    )
                ).sum(),
                missing=(~row & has).sum(),
            ),
        )

    # -- batch 3

    def _plan_follow_up(self, r: Results) -> dict[str, pl.LazyFrame]:
        """Narrow queries, planned only for what batches 1 and 2 flagged."""
        f = self.f
        out: dict[str, pl.LazyFrame] = {}
        for name, tdef in TABLES.items():
            got = r[f"rows.{name}"]
            if _int(got.get("pk_steps")) or _int(got.get("pk_nulls")):
                k = pl.col("k")
                out[f"pk2.{name}"] = (
                    f[name]
                    .select(k=pl.col(tdef.primary_key).drop_nulls().sort())
                    .select(dups=(k == k.shift(1)).sum())
                )
        kind, value = pl.col("identifier_type"), pl.col("identifier_value")
        values, ips = r["ident.values"], r["ident.ip"]
        if _int(values.get("nulls")) or _int(ips.get("nulls")):
            out["ident2.nulls"] = (
                f["identity_mappings"]
                .filter(value.is_null())
                .group_by("identifier_type")
                .agg(nulls=pl.len())
            )
            self.table_queries.add("ident2.nulls")
        if _int(values.get("flagged")):
            hashed = value.hash(_HASH_SEED)
            is_ip = (kind == "ip").fill_null(False)
            rows = f["identity_mappings"].filter(~is_ip & value.is_not_null())
            ordered = pl.col("h").sort()
            flagged = (
                rows.select(h=hashed).select(h=ordered.filter(ordered == ordered.shift(1))).unique()
            )
            rows = rows.with_columns(h=hashed).join(flagged, on="h", how="semi")
            dup_values = (
                rows.group_by("identifier_value")
                .agg(n=pl.len())
                .filter(pl.col("n") > 1)
                .select("identifier_value")
            )
            out["ident2.values"] = (
                rows.join(dup_values, on="identifier_value", how="semi")
                .group_by("identifier_type")
                .agg(values=value.n_unique(), rows=pl.len())
            )
            self.table_queries.add("ident2.values")
        if _int(ips.get("flagged")):
            ip_rows = f["identity_mappings"].filter((kind == "ip") & value.is_not_null())
            shared_ips = (
                ip_rows.group_by("identifier_value")
                .agg(households=(pl.col("individual_id") // 10).n_unique())
                .filter(pl.col("households") > 1)
                .select("identifier_value")
            )
            out["ident2.ip"] = ip_rows.join(shared_ips, on="identifier_value", how="semi").select(
                values=value.n_unique(), rows=pl.len()
            )
        return out

    # -- building the sections

    def keys(self, r: Results) -> list[KeyCheck]:
        out = []
        for name, tdef in TABLES.items():
            got = r[f"rows.{name}"]
            out.append(
                KeyCheck(
                    table=name,
                    column=tdef.primary_key,
                    rows=_int(got.get("rows")),
                    null_keys=_int(got.get("pk_nulls")),
                    duplicate_keys=_int(r.get(f"pk2.{name}", {}).get("dups")),
                )
            )
        return out

    def orphans(self, r: Results) -> list[OrphanCheck]:
        return [
            OrphanCheck(
                table=name,
                column=fk.column,
                parent=fk.parent,
                parent_column=fk.parent_column,
                rows=_int(r[f"rows.{name}"].get("rows")),
                null_refs=_int(r[f"rows.{name}"].get(f"fk_null.{fk.column}")),
                orphans=_int(
                    r[f"rows.{name}"].get(f"fk_orphan.{fk.column}")
                    if fk.parent in _LOOKUP_PARENTS
                    else r[f"fk.{name}.{fk.column}"].get("orphans")
                ),
            )
            for name, tdef in TABLES.items()
            for fk in tdef.foreign_keys
        ]

    def identifiers(self, r: Results) -> list[IdentifierCheck]:
        ident = r["rows.identity_mappings"]
        dups: dict[str, dict[str, object]] = {}
        if "ident2.values" in r:
            frame = _table(r, "ident2.values")
            dups = {row["identifier_type"]: row for row in frame.iter_rows(named=True)}
        if "ident2.ip" in r:
            dups["ip"] = r["ident2.ip"]
        nulls: dict[str, int] = {}
        if "ident2.nulls" in r:
            frame = _table(r, "ident2.nulls")
            nulls = {
                str(row["identifier_type"]): int(row["nulls"])
                for row in frame.iter_rows(named=True)
            }
        return [
            IdentifierCheck(
                identifier_type=t,
                scope="household" if t == "ip" else "dataset",
                rows=_int(ident.get(f"type_rows.{t}")),
                null_values=nulls.get(t, 0),
                duplicated_values=_int(dups.get(t, {}).get("values")),
                affected_rows=_int(dups.get(t, {}).get("rows")),
            )
            for t in IDENTIFIER_TYPES
        ]

    def temporal(self, r: Results) -> list[TemporalCheck]:
        out = []
        for rule, (table, description) in _TEMPORAL_RULES.items():
            if f"t.{rule}" in r:
                rows, bad = _int(r[f"t.{rule}"].get("rows")), _int(r[f"t.{rule}"].get("bad"))
            else:
                got = r[f"rows.{table}"]
                rows, bad = _int(got.get(f"t_rows.{rule}")), _int(got.get(f"t_bad.{rule}"))
            out.append(
                TemporalCheck(
                    rule=rule,
                    table=table,
                    description=description,
                    rows_checked=rows,
                    violations=bad,
                )
            )
        return out

    def consistency(self, r: Results) -> list[ConsistencyCheck]:
        vp = r["c.viewership"]
        rows = _int(vp.get("rows"))
        hh = r["c.households"]
        checks = [
            ("viewership_frequency", "viewership_patterns", rows, vp.get("frequency"),
             "frequency = number of the individual's engagement events"),
            ("viewership_avg_duration", "viewership_patterns", rows, vp.get("avg_duration"),
             "avg_duration = mean duration_seconds of the individual's events"),
            ("viewership_recency", "viewership_patterns", rows, vp.get("recency"),
             "recency_days = whole days from the individual's last event to end_date 00:00"),
            ("viewership_categories", "viewership_patterns", rows, vp.get("categories"),
             "preferred_categories non-empty and drawn from the spec's categories"),
            ("viewership_missing", "viewership_patterns", _int(vp.get("with_events")),
             vp.get("missing"), "every individual with engagement events has a pattern row"),
            ("household_size", "households", _int(hh.get("rows")), hh.get("size"),
             "size = number of the household's individuals"),
            ("householder", "households", _int(hh.get("rows")), hh.get("heads"),
             "exactly one householder per household"),
            ("response_matches_exposure", "response_events",
             _int(r["c.response_exposure"].get("rows")), r["c.response_exposure"].get("bad"),
             "individual_id and campaign_id equal those of the exposure"),
            ("identifier_type_known", "identity_mappings",
             _int(r["rows.identity_mappings"].get("rows")),
             r["rows.identity_mappings"].get("unknown_type"),
             "identifier_type is one of " + ", ".join(IDENTIFIER_TYPES)),
        ]  # fmt: skip
        for table, text in _ID_CONVENTION_TEXT.items():
            got = r[f"rows.{table}"]
            checks.append(
                ("id_convention", table, _int(got.get("rows")), got.get("id_convention"), text)
            )
        return [
            ConsistencyCheck(
                rule=rule,
                table=table,
                description=description,
                rows_checked=checked,
                mismatches=_int(bad),
            )
            for rule, table, checked, bad, description in checks
        ]

    def distributions(self, r: Results) -> list[DistributionCheck]:
        spec = self.spec
        sizes = {
            int(row["size"]): int(row["n"])
            for row in _table(r, "d.sizes").iter_rows(named=True)
            if row["size"] is not None
        }
        out = household_checks(spec, sizes)
        income = r["d.income"]
        out.append(income_median_check(spec, _int(income.get("n")), _float(income.get("median"))))
        edu = {
            str(row["education"]): (int(row["n"]), _float(row["median"]))
            for row in _table(r, "d.education").iter_rows(named=True)
        }
        out.append(education_check(spec, edu))
        ident = r["rows.identity_mappings"]
        by_type = {t: _int(ident.get(f"type_rows.{t}")) for t in IDENTIFIER_TYPES}
        by_type["ip"] = _int(r["ident.ip"].get("pairs"))
        out += identifier_checks(
            spec,
            by_type,
            individuals=_int(r["rows.individuals"].get("rows")),
            households=_int(r["rows.households"].get("rows")),
        )
        exposures = _counts(_table(r, "d.exposures"), "channel")
        responses = _counts(_table(r, "d.responses"), "channel")
        out.append(
            exposure_check(
                spec,
                _int(r["rows.individuals"].get("rows")),
                _int(r["rows.campaign_exposures"].get("rows")),
            )
        )
        out += response_rate_checks(spec, exposures, responses)
        out.append(
            conversion_check(
                spec,
                _int(r["rows.response_events"].get("rows")),
                _int(r["rows.outcome_metrics"].get("converted")),
            )
        )
        ev = r["d.events"]
        out += engagement_checks(
            spec, _int(ev.get("n")), _float(ev.get("median")), _float(ev.get("p99"))
        )
        return out


def _run_queries(queries: list[pl.LazyFrame]) -> list[pl.DataFrame]:
    """One batch. Common-subplan elimination is off: on 1M households (60M rows, 2 cores) it
    shared no scan between these queries and only added caching (a batch took up to 2x longer
    with it, in memory and from Delta alike)."""
    return pl.collect_all(queries, optimizations=pl.QueryOptFlags(comm_subplan_elim=False))


def _table(r: Results, name: str) -> pl.DataFrame:
    frame = r[name]["frame"]
    assert isinstance(frame, pl.DataFrame)
    return frame


def _counts(frame: pl.DataFrame, key: str) -> dict[str, int]:
    return {str(row[key]): int(row["n"]) for row in frame.iter_rows(named=True)}


_WINDOW_RULES: dict[str, tuple[str, str]] = {
    "engagement_in_window": ("content_engagements", "timestamp"),
    "exposure_in_window": ("campaign_exposures", "timestamp"),
    "response_in_window": ("response_events", "timestamp"),
    "conversion_in_window": ("outcome_metrics", "converted_at"),
}

_LOOKUP_PARENTS = frozenset({"households", "individuals", "campaigns"})
"""Parents whose keys are read first and checked with ``is_in``: their children are the big
tables, and the key sets are small. Other foreign keys (responses, outcomes) use anti-joins."""

_CREATED_RULES: dict[str, tuple[str, str]] = {
    "engagement_after_created": ("content_engagements", "timestamp"),
    "identity_after_created": ("identity_mappings", "first_seen"),
    "exposure_after_created": ("campaign_exposures", "timestamp"),
}
"""rule -> (table, timestamp column) for the not-before-the-household's-created_at rules."""

_TEMPORAL_RULES: dict[str, tuple[str, str]] = {
    "exposure_in_campaign": (
        "campaign_exposures",
        "timestamp within its campaign's [start_date, end_date] (end date inclusive)",
    ),
    "response_after_exposure": ("response_events", "timestamp not before its exposure's"),
    "outcome_after_response": (
        "outcome_metrics",
        "converted_at (when set) not before its response's timestamp",
    ),
    "identity_seen_order": ("identity_mappings", "first_seen <= last_seen"),
    "engagement_after_created": (
        "content_engagements",
        "timestamp not before the household's created_at",
    ),
    "identity_after_created": (
        "identity_mappings",
        "first_seen not before the household's created_at",
    ),
    "exposure_after_created": (
        "campaign_exposures",
        "timestamp not before the household's created_at",
    ),
    "engagement_in_window": ("content_engagements", "timestamp in [start_date, end_date + 1 day)"),
    "exposure_in_window": ("campaign_exposures", "timestamp in [start_date, end_date + 1 day)"),
    "response_in_window": ("response_events", "timestamp in [start_date, end_date + 1 day)"),
    "conversion_in_window": (
        "outcome_metrics",
        "converted_at (when set) in [start_date, end_date + 1 day)",
    ),
    "campaign_dates": ("campaigns", "end_date >= start_date"),
}

_ID_CONVENTIONS: dict[str, pl.Expr] = {
    "individuals": (pl.col("individual_id") // 10 != pl.col("household_id"))
    | (pl.col("is_householder") != (pl.col("individual_id") % 10 == 0)),
    "identity_mappings": pl.col("mapping_id") // 100 != pl.col("individual_id"),
    "content_engagements": pl.col("event_id") // 10_000 != pl.col("individual_id"),
    "viewership_patterns": pl.col("pattern_id") != pl.col("individual_id"),
    "audience_attributes": pl.col("attribute_id") != pl.col("individual_id"),
    "campaign_exposures": pl.col("exposure_id") // 1000 != pl.col("individual_id"),
    "response_events": pl.col("response_id") != pl.col("exposure_id") * 10 + 1,
    "outcome_metrics": pl.col("outcome_id") != pl.col("response_id") * 10 + 1,
}

_ID_CONVENTION_TEXT: dict[str, str] = {
    "individuals": "household_id = individual_id // 10; householder = member 0",
    "identity_mappings": "individual_id = mapping_id // 100",
    "content_engagements": "individual_id = event_id // 10000",
    "viewership_patterns": "pattern_id = individual_id",
    "audience_attributes": "attribute_id = individual_id",
    "campaign_exposures": "individual_id = exposure_id // 1000",
    "response_events": "response_id = exposure_id * 10 + 1",
    "outcome_metrics": "outcome_id = response_id * 10 + 1",
}


# --------------------------------------------------------------------------- targets
# Pure functions from observed counts to checks: the tests feed them numpy samples.
