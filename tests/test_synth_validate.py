"""Validation report: hand-made datasets with one fault each, and distribution checks fed with
numpy samples drawn from (or away from) the spec."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from lakesmith.synth.report import to_html, to_markdown
from lakesmith.synth.schema import TABLES
from lakesmith.synth.spec import SynthSpec
from lakesmith.synth.validation import (
    DistributionCheck,
    ValidationReport,
    clipped_poisson,
    conversion_check,
    education_check,
    engagement_checks,
    expected_schema,
    household_checks,
    identifier_checks,
    income_median_check,
    income_median_target,
    response_rate_checks,
    summary_line,
    validate_dataset,
)

SPEC = SynthSpec()
Tables = dict[str, pl.DataFrame]
END = datetime(2025, 12, 31, tzinfo=UTC)


def ts(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- a tiny dataset

HOUSEHOLDS = {1: 2, 2: 1, 3: 3}  # household -> size
CREATED = {1: datetime(2020, 1, 1, tzinfo=UTC), 2: datetime(2021, 6, 1, tzinfo=UTC)}
CREATED[3] = datetime(2019, 3, 1, tzinfo=UTC)
EVENTS = {  # individual -> (category, timestamp, duration)
    10: [("news", ts(2, 1), 100), ("news", ts(5, 3), 200), ("sports", ts(9, 9), 301)],
    11: [("drama", ts(3, 3), 50), ("kids", ts(12, 30, 23, 59), 70)],
    30: [("music", ts(1, 1, 0, 0), 10)],
    31: [("food", ts(6, 6), 20), ("food", ts(7, 7), 40)],
}
EXPOSURES = [  # exposure_id, individual, campaign, timestamp, channel
    (10_000, 10, 1, ts(3, 10), "email"),
    (10_001, 10, 2, ts(6, 5), "search"),
    (11_000, 11, 1, ts(3, 31, 23, 0), "display"),  # last day of the campaign counts
    (30_000, 30, 2, ts(7, 1), "search"),
]


def _frame(name: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=expected_schema(TABLES[name]), orient="row")


def _members() -> list[tuple[int, int, int]]:
    return [(h * 10 + m, h, m) for h, size in HOUSEHOLDS.items() for m in range(size)]


def _viewership(events: dict[int, list[tuple[str, datetime, int]]]) -> list[dict]:
    """Derived the way the generator derives it, written out in plain Python."""
    rows = []
    for person, evs in events.items():
        last = max(t for _, t, _ in evs)
        counts = Counter(c for c, _, _ in evs)
        rows.append(
            {
                "pattern_id": person,
                "individual_id": person,
                "frequency": len(evs),
                "recency_days": math.floor((END - last) / timedelta(days=1)),
                "preferred_categories": [c for c, _ in counts.most_common(3)],
                "avg_duration": round(sum(d for _, _, d in evs) / len(evs), 3),
            }
        )
    return rows


def clean_tables() -> dict[str, pl.DataFrame]:
    """Three households that follow every convention and rule."""
    people = _members()
    identity = []
    for iid, h, _ in people:
        first = CREATED[h] + timedelta(days=30)
        for k, (kind, value) in enumerate(
            [
                ("email", f"user{iid}@example.net"),
                ("phone", f"+1-555-01{iid:02d}"),
                ("ip", f"10.0.0.{h}"),
            ]
        ):
            identity.append(
                {
                    "mapping_id": iid * 100 + k,
                    "individual_id": iid,
                    "identifier_type": kind,
                    "identifier_value": value,
                    "first_seen": first,
                    "last_seen": ts(6, 1),
                    "confidence": 0.9,
                    "is_deterministic": kind != "ip",
                }
            )
    return {
        "households": _frame(
            "households",
            [
                {
                    "household_id": h,
                    "state": "CA",
                    "region": "West",
                    "income_bracket": "75k-100k",
                    "annual_income": 80_000 + h,
                    "size": size,
                    "created_at": CREATED[h],
                }
                for h, size in HOUSEHOLDS.items()
            ],
        ),
        "individuals": _frame(
            "individuals",
            [
                {
                    "individual_id": iid,
                    "household_id": h,
                    "age": 40 if m == 0 else 12,
                    "gender": "female",
                    "education": "bachelors",
                    "employment": "employed",
                    "is_householder": m == 0,
                }
                for iid, h, m in people
            ],
        ),
        "identity_mappings": _frame("identity_mappings", identity),
        "content_engagements": _frame(
            "content_engagements",
            [
                {
                    "event_id": person * 10_000 + k,
                    "individual_id": person,
                    "content_id": 7,
                    "content_category": cat,
                    "timestamp": when,
                    "engagement_type": "view",
                    "duration_seconds": duration,
                    "device_type": "ctv",
                }
                for person, evs in EVENTS.items()
                for k, (cat, when, duration) in enumerate(evs)
            ],
        ),
        "viewership_patterns": _frame("viewership_patterns", _viewership(EVENTS)),
        "audience_attributes": _frame(
            "audience_attributes",
            [
                {
                    "attribute_id": iid,
                    "individual_id": iid,
                    "segment": "cord_cutter",
                    "affinity_scores": [{"key": "news", "value": 0.5}],
                    "classifications": ["parent"],
                }
                for iid, _, _ in people
            ],
        ),
        "campaigns": _frame(
            "campaigns",
            [
                {
                    "campaign_id": 1,
                    "name": "Spring <Sale> & more",
                    "start_date": date(2025, 3, 1),
                    "end_date": date(2025, 3, 31),
                    "target_criteria": "{}",
                    "channels": ["display", "email"],
                    "budget": 1e5,
                },
                {
                    "campaign_id": 2,
                    "name": "Summer",
                    "start_date": date(2025, 6, 1),
                    "end_date": date(2025, 7, 15),
                    "target_criteria": "{}",
                    "channels": ["search"],
                    "budget": 2e5,
                },
            ],
        ),
        "campaign_exposures": _frame(
            "campaign_exposures",
            [
                {
                    "exposure_id": xid,
                    "individual_id": person,
                    "campaign_id": camp,
                    "timestamp": when,
                    "channel": channel,
                    "frequency": 1,
                }
                for xid, person, camp, when, channel in EXPOSURES
            ],
        ),
        "response_events": _frame(
            "response_events",
            [
                {
                    "response_id": 100_001,
                    "individual_id": 10,
                    "campaign_id": 1,
                    "exposure_id": 10_000,
                    "response_type": "click",
                    "timestamp": ts(3, 10, 14),
                    "value": 2.0,
                },
                {
                    "response_id": 300_001,
                    "individual_id": 30,
                    "campaign_id": 2,
                    "exposure_id": 30_000,
                    "response_type": "visit",
                    "timestamp": ts(7, 1, 13),
                    "value": 1.5,
                },
            ],
        ),
        "outcome_metrics": _frame(
            "outcome_metrics",
            [
                {
                    "outcome_id": 1_000_011,
                    "response_id": 100_001,
                    "conversion_status": "converted",
                    "converted_at": ts(3, 11, 9),
                    "revenue": 85.0,
                    "attribution_weight": 0.5,
                },
                {
                    "outcome_id": 3_000_011,
                    "response_id": 300_001,
                    "conversion_status": "not_converted",
                    "converted_at": None,
                    "revenue": 0.0,
                    "attribution_weight": 1.0,
                },
            ],
        ),
    }


def validate(tables: dict[str, pl.DataFrame], spec: SynthSpec = SPEC) -> ValidationReport:
    return validate_dataset(spec, {name: frame.lazy() for name, frame in tables.items()})


def failing(report: ValidationReport) -> dict[str, int]:
    """Every failing integrity check, by section and name, with its count."""
    out: dict[str, int] = {}
    out |= {f"schema.{c.table}": 1 for c in report.schema_checks if not c.passed}
    out |= {f"keys.{c.table}": c.duplicate_keys + c.null_keys for c in report.keys if not c.passed}
    out |= {
        f"orphans.{c.table}.{c.column}": c.orphans + c.null_refs
        for c in report.orphans
        if not c.passed
    }
    out |= {
        f"identifiers.{c.identifier_type}": c.duplicated_values + c.null_values
        for c in report.identifiers
        if not c.passed
    }
    out |= {f"temporal.{c.rule}": c.violations for c in report.temporal if not c.passed}
    out |= {
        f"consistency.{c.rule}.{c.table}": c.mismatches for c in report.consistency if not c.passed
    }
    return out


def replace_row(frame: pl.DataFrame, key: str, value: int, **changes: object) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col(key) == value).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
        for c, v in changes.items()
    ).cast(frame.schema)


# --------------------------------------------------------------------------- integrity


@pytest.fixture(scope="module")
def clean_report() -> ValidationReport:
    return validate(clean_tables())


def test_clean_dataset_passes_every_integrity_section(clean_report: ValidationReport) -> None:
    assert failing(clean_report) == {}
    assert clean_report.integrity_passed
    # three households cannot match the spec's 10,000: only the distributions fail
    assert not clean_report.distributions_passed
    assert not clean_report.passed
    assert clean_report.row_counts["individuals"] == 6
    assert clean_report.row_counts["identity_mappings"] == 18
    orphans = {f"{c.table}.{c.column}": c for c in clean_report.orphans}
    assert len(orphans) == sum(len(t.foreign_keys) for t in TABLES.values()) == 11
    assert orphans["response_events.exposure_id"].rows == 2


def test_clean_dataset_counts_what_it_checked(clean_report: ValidationReport) -> None:
    rules = {c.rule: c for c in clean_report.temporal}
    assert rules["exposure_in_campaign"].rows_checked == 4
    assert rules["outcome_after_response"].rows_checked == 1  # one conversion
    assert rules["campaign_dates"].rows_checked == 2
    assert rules["engagement_in_window"].rows_checked == 8
    consistency = {(c.rule, c.table): c for c in clean_report.consistency}
    assert consistency[("viewership_frequency", "viewership_patterns")].rows_checked == 4
    assert consistency[("household_size", "households")].rows_checked == 3
    ids = {c.identifier_type: c for c in clean_report.identifiers}
    assert ids["ip"].rows == 6 and ids["ip"].scope == "household"
    assert ids["email"].rows == 6


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        pytest.param(
            lambda t: {
                **t,
                "individuals": pl.concat(
                    [
                        t["individuals"],
                        replace_row(
                            t["individuals"][:1],
                            "individual_id",
                            10,
                            individual_id=40,
                            household_id=4,
                        ),
                    ]
                ),
            },
            {"orphans.individuals.household_id": 1},
            id="orphan-individual",
        ),
        pytest.param(
            lambda t: {
                **t,
                "identity_mappings": replace_row(
                    t["identity_mappings"],
                    "mapping_id",
                    1100,
                    identifier_value="user10@example.net",
                ),
            },
            {"identifiers.email": 1},
            id="duplicated-email",
        ),
        pytest.param(
            lambda t: {
                **t,
                "campaign_exposures": replace_row(
                    t["campaign_exposures"], "exposure_id", 10_001, timestamp=ts(8, 1)
                ),
            },
            {"temporal.exposure_in_campaign": 1},
            id="exposure-outside-campaign",
        ),
        pytest.param(
            lambda t: {
                **t,
                "campaign_exposures": replace_row(
                    t["campaign_exposures"],
                    "exposure_id",
                    11_000,
                    timestamp=ts(4, 1, 0, 0),  # the day after end_date
                ),
            },
            {"temporal.exposure_in_campaign": 1},
            id="exposure-day-after-campaign",
        ),
        pytest.param(
            lambda t: {
                **t,
                "response_events": replace_row(
                    t["response_events"], "response_id", 100_001, timestamp=ts(3, 10, 11)
                ),
            },
            {"temporal.response_after_exposure": 1},
            id="response-before-exposure",
        ),
        pytest.param(
            lambda t: {
                **t,
                "outcome_metrics": replace_row(
                    t["outcome_metrics"], "outcome_id", 1_000_011, converted_at=ts(3, 10, 13)
                ),
            },
            {"temporal.outcome_after_response": 1},
            id="outcome-before-response",
        ),
        pytest.param(
            lambda t: {
                **t,
                "audience_attributes": pl.concat(
                    [t["audience_attributes"], t["audience_attributes"][2:3]]
                ),
            },
            {"keys.audience_attributes": 1},
            id="duplicate-pk",
        ),
        pytest.param(
            lambda t: {**t, "households": pl.concat([t["households"], t["households"][1:2]])},
            {"keys.households": 1},
            id="duplicate-household-pk",
        ),
        pytest.param(
            lambda t: {
                **t,
                "viewership_patterns": replace_row(
                    t["viewership_patterns"], "pattern_id", 10, frequency=4
                ),
            },
            {"consistency.viewership_frequency.viewership_patterns": 1},
            id="viewership-frequency",
        ),
        pytest.param(
            lambda t: {
                **t,
                "viewership_patterns": replace_row(
                    t["viewership_patterns"], "pattern_id", 31, avg_duration=31.0, recency_days=9
                ),
            },
            {
                "consistency.viewership_avg_duration.viewership_patterns": 1,
                "consistency.viewership_recency.viewership_patterns": 1,
            },
            id="viewership-average-and-recency",
        ),
        pytest.param(
            lambda t: {**t, "viewership_patterns": t["viewership_patterns"][1:]},
            {"consistency.viewership_missing.viewership_patterns": 1},
            id="viewership-missing",
        ),
        pytest.param(
            lambda t: {
                **t,
                "identity_mappings": replace_row(
                    t["identity_mappings"], "mapping_id", 2002, identifier_value="10.0.0.1"
                ),
            },
            {"identifiers.ip": 1},
            id="ip-shared-across-households",
        ),
        pytest.param(
            lambda t: {
                **t,
                "identity_mappings": replace_row(
                    t["identity_mappings"],
                    "mapping_id",
                    3000,
                    first_seen=datetime(2019, 1, 1, tzinfo=UTC),
                ),
            },
            {"temporal.identity_after_created": 1},
            id="identity-before-household",
        ),
        pytest.param(
            lambda t: {
                **t,
                "identity_mappings": replace_row(
                    t["identity_mappings"],
                    "mapping_id",
                    1001,
                    last_seen=datetime(2020, 1, 1, tzinfo=UTC),
                ),
            },
            {"temporal.identity_seen_order": 1},
            id="identity-last-before-first",
        ),
        pytest.param(
            lambda t: {
                **t,
                "households": replace_row(t["households"], "household_id", 3, created_at=ts(6, 1)),
            },
            # individual 30's event of Jan 1 (31's are later) and the nine identifiers of the
            # household (first seen in 2019); its exposure (Jul 1) is later
            {
                "temporal.engagement_after_created": 1,
                "temporal.identity_after_created": 9,
            },
            id="events-before-household",
        ),
        pytest.param(
            lambda t: {
                **t,
                "content_engagements": replace_row(
                    t["content_engagements"],
                    "event_id",
                    300_000,
                    timestamp=datetime(2024, 12, 31, 23, 59, tzinfo=UTC),
                ),
                "viewership_patterns": replace_row(
                    t["viewership_patterns"], "pattern_id", 30, recency_days=364
                ),
            },
            {"temporal.engagement_in_window": 1},
            id="engagement-before-window",
        ),
        pytest.param(
            lambda t: {
                **t,
                "campaigns": replace_row(
                    t["campaigns"], "campaign_id", 2, end_date=date(2025, 5, 1)
                ),
            },
            {"temporal.campaign_dates": 1, "temporal.exposure_in_campaign": 2},
            id="campaign-ends-before-start",
        ),
        pytest.param(
            lambda t: {
                **t,
                "households": replace_row(t["households"], "household_id", 2, size=2),
            },
            {"consistency.household_size.households": 1},
            id="household-size",
        ),
        pytest.param(
            lambda t: {
                **t,
                "response_events": replace_row(
                    t["response_events"], "response_id", 300_001, campaign_id=1
                ),
            },
            {"consistency.response_matches_exposure.response_events": 1},
            id="response-campaign",
        ),
        pytest.param(
            lambda t: {
                **t,
                "response_events": replace_row(
                    t["response_events"],
                    "response_id",
                    300_001,
                    exposure_id=30_001,
                    response_id=300_011,
                ),
                "outcome_metrics": replace_row(
                    t["outcome_metrics"],
                    "outcome_id",
                    3_000_011,
                    response_id=300_011,
                    outcome_id=3_000_111,
                ),
            },
            {"orphans.response_events.exposure_id": 1},
            id="response-orphan",
        ),
    ],
)
def test_one_fault_is_reported_exactly(
    fault: Callable[[Tables], Tables], expected: dict[str, int]
) -> None:
    report = validate(fault(clean_tables()))
    assert failing(report) == expected
    assert not report.integrity_passed
    assert not report.passed
    assert report.failures()


def test_created_at_rules_without_dense_household_ids() -> None:
    """Households out of order: created_at comes from a join instead of a look-up."""
    tables = clean_tables()
    tables["households"] = replace_row(
        tables["households"], "household_id", 3, created_at=ts(6, 1)
    ).reverse()
    report = validate(tables)
    assert failing(report) == {
        "temporal.engagement_after_created": 1,
        "temporal.identity_after_created": 9,
    }
    rules = {c.rule: c for c in report.temporal}
    assert rules["identity_after_created"].rows_checked == 18


def test_null_identifier_values_are_counted_by_type() -> None:
    tables = clean_tables()
    tables["identity_mappings"] = tables["identity_mappings"].with_columns(
        identifier_value=pl.when(pl.col("mapping_id").is_in([1000, 2001, 3002, 3102]))
        .then(None)
        .otherwise(pl.col("identifier_value"))
    )
    by_type = {c.identifier_type: c for c in validate(tables).identifiers}
    nulls = {t: c.null_values for t, c in by_type.items() if c.null_values}
    assert nulls == {"email": 1, "phone": 1, "ip": 2}
    assert all(c.duplicated_values == 0 for c in by_type.values())


def test_no_tables_at_all() -> None:
    report = validate_dataset(SPEC, {})
    assert all(not c.present for c in report.schema_checks)
    assert sum(report.row_counts.values()) == 0
    assert not report.passed
    assert "FAILED" in summary_line(report)


def test_duplicated_email_counts_values_and_rows() -> None:
    tables = clean_tables()
    tables["identity_mappings"] = replace_row(
        tables["identity_mappings"], "mapping_id", 1100, identifier_value="user10@example.net"
    )
    email = next(c for c in validate(tables).identifiers if c.identifier_type == "email")
    assert (email.duplicated_values, email.affected_rows, email.rows) == (1, 2, 6)


def test_a_value_shared_by_two_types_is_a_duplicate() -> None:
    tables = clean_tables()
    tables["identity_mappings"] = replace_row(
        tables["identity_mappings"], "mapping_id", 1001, identifier_value="user10@example.net"
    )
    by_type = {c.identifier_type: c for c in validate(tables).identifiers}
    assert by_type["phone"].duplicated_values == 1
    assert by_type["email"].duplicated_values == 1


def test_unsorted_tables_with_unique_keys_pass() -> None:
    tables = {name: frame.reverse() for name, frame in clean_tables().items()}
    report = validate(tables)
    assert failing(report) == {}


def test_null_primary_key_is_counted() -> None:
    tables = clean_tables()
    tables["campaigns"] = tables["campaigns"].with_columns(
        campaign_id=pl.when(pl.col("campaign_id") == 2).then(None).otherwise(pl.col("campaign_id"))
    )
    report = validate(tables)
    key = next(k for k in report.keys if k.table == "campaigns")
    assert (key.null_keys, key.duplicate_keys) == (1, 0)
    orphans = {f"{c.table}.{c.column}": c.orphans for c in report.orphans}
    assert orphans["campaign_exposures.campaign_id"] == 2  # the exposures of campaign 2


def test_missing_table_and_wrong_types_fail_the_schema() -> None:
    tables = clean_tables()
    del tables["audience_attributes"]
    tables["households"] = tables["households"].with_columns(pl.col("size").cast(pl.Int64))
    tables["campaigns"] = tables["campaigns"].with_columns(pl.lit(1).alias("<b>extra</b>"))
    report = validate(tables)
    schema = {c.table: c for c in report.schema_checks}
    assert not schema["audience_attributes"].present
    assert schema["households"].type_mismatches == ["size: Int64 (expected Int8)"]
    assert schema["campaigns"].passed and schema["campaigns"].extra_columns == ["<b>extra</b>"]
    assert report.row_counts["audience_attributes"] == 0
    assert set(failing(report)) == {"schema.audience_attributes", "schema.households"}


# --------------------------------------------------------------------------- report output


def test_report_round_trips_through_json(clean_report: ValidationReport) -> None:
    text = clean_report.model_dump_json()
    data = json.loads(text)
    assert data["integrity_passed"] is True and data["passed"] is False
    assert data["keys"][0]["passed"] is True
    again = ValidationReport.model_validate_json(text)
    assert again == clean_report


def test_markdown_has_header_sections_and_marks(clean_report: ValidationReport) -> None:
    md = to_markdown(clean_report)
    assert md.startswith("# Validation report: synth.identity_graph")
    assert f"| **Spec hash** | {SPEC.spec_hash()} |" in md
    assert "| **Seed** | 42 |" in md
    for title in ("Primary keys", "Foreign keys", "Duplicate identifiers", "Temporal rules"):
        assert title in md
    assert "| households | household_id | 3 | 0 | 0 | ✓ pass |" in md
    assert "✗ FAIL" in md  # the distributions of three households
    assert "## Failed checks" in md


def test_html_is_self_contained_and_escaped() -> None:
    tables = clean_tables()
    tables["campaigns"] = tables["campaigns"].with_columns(pl.lit(1).alias("<script>x</script>"))
    tables["identity_mappings"] = replace_row(
        tables["identity_mappings"], "mapping_id", 1100, identifier_value="user10@example.net"
    )
    page = to_html(validate(tables))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "http" not in page  # nothing loaded from elsewhere
    assert 'class="fail"' in page and "✗ fail" in page
    assert "synth.identity_graph" in page


# --------------------------------------------------------------------------- distributions


def _sizes(rng: np.random.Generator, weights: dict[int, float], n: int) -> dict[int, int]:
    sizes = np.array(list(weights))
    p = np.array(list(weights.values()))
    drawn = rng.choice(sizes, n, p=p / p.sum())
    return {int(s): int(c) for s, c in zip(*np.unique(drawn, return_counts=True), strict=True)}


def _by_name(checks: list[DistributionCheck]) -> dict[str, str]:
    return {c.name: c.status for c in checks}


def test_household_sizes_drawn_from_the_spec_pass() -> None:
    spec = SynthSpec(households=50_000)
    counts = _sizes(np.random.default_rng(1), spec.household.size_weights, 50_000)
    checks = household_checks(spec, counts)
    assert all(c.status == "pass" for c in checks), [c for c in checks if c.status != "pass"]
    mean = next(c for c in checks if c.name == "household_size_mean")
    assert mean.target == pytest.approx(2.421)


def test_skewed_household_sizes_fail() -> None:
    spec = SynthSpec(households=50_000)
    skewed = {**spec.household.size_weights, 1: 0.35, 2: 0.30}
    status = _by_name(household_checks(spec, _sizes(np.random.default_rng(1), skewed, 50_000)))
    assert status["household_size_share[1]"] == "fail"
    assert status["household_size_share[2]"] == "fail"
    assert status["household_size_share[3]"] == "pass"
    assert status["household_size_mean"] == "fail"


def test_household_sizes_through_validate_dataset() -> None:
    spec = SynthSpec(households=20_000)
    rng = np.random.default_rng(7)
    weights = spec.household.size_weights

    def households(p: dict[int, float]) -> pl.DataFrame:
        sizes = np.array(list(p))
        w = np.array(list(p.values()))
        return pl.DataFrame(
            {
                "household_id": np.arange(1, 20_001),
                "size": rng.choice(sizes, 20_000, p=w / w.sum()).astype(np.int8),
            }
        )

    good = validate_dataset(spec, {"households": households(weights).lazy()})
    assert all(c.passed for c in good.distributions if c.group == "households"), good.failures()
    bad = validate_dataset(spec, {"households": households({**weights, 7: 0.2}).lazy()})
    status = _by_name(bad.distributions)
    assert status["household_size_share[7]"] == "fail" and status["household_count"] == "pass"
    assert not bad.passed


def _incomes(spec: SynthSpec, rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    hs = spec.household
    bands = list(hs.householder_age_weights)
    w = np.array([hs.householder_age_weights[b] for b in bands])
    band = rng.choice(len(bands), n, p=w / w.sum())
    medians = np.array([hs.income_median_by_age[b] for b in bands])[band]
    return scale * np.exp(np.log(medians) + hs.income_sigma * rng.standard_normal(n))


def test_income_median_target_is_the_mixture_median() -> None:
    incomes = _incomes(SPEC, np.random.default_rng(3), 400_000)
    assert income_median_target(SPEC) == pytest.approx(float(np.median(incomes)), rel=0.01)
    # a single band: the target is that band's median
    one = SynthSpec.model_validate(
        {
            "household": {
                "income_median_by_age": {"25-64": 70_000},
                "householder_age_weights": {"25-64": 1.0},
            }
        }
    )
    assert income_median_target(one) == pytest.approx(70_000)


def test_income_median_check() -> None:
    rng = np.random.default_rng(4)
    good = _incomes(SPEC, rng, 20_000)
    assert income_median_check(SPEC, 20_000, float(np.median(good))).status == "pass"
    high = _incomes(SPEC, rng, 20_000, scale=1.25)
    assert income_median_check(SPEC, 20_000, float(np.median(high))).status == "fail"
    assert income_median_check(SPEC, 0, None).status == "fail"


def test_income_rises_with_education() -> None:
    rising = {"high_school": (500, 50_000.0), "bachelors": (400, 90_000.0)}
    rising["graduate"] = (200, 120_000.0)
    check = education_check(SPEC, rising)
    assert check.status == "pass" and check.observed == pytest.approx(120 / 90)
    flat = {**rising, "graduate": (200, 85_000.0)}
    assert education_check(SPEC, flat).status == "fail"
    assert education_check(SPEC, {"high_school": (10, 1.0)}).status == "fail"  # levels missing


def test_identifier_counts_drawn_as_capped_poisson_pass() -> None:
    rng = np.random.default_rng(5)
    ids = SPEC.identifiers
    people, households = 30_000, 12_000
    by_type = {
        t: int(np.minimum(rng.poisson(lam, people), ids.max_per_type).sum())
        for t, lam in ids.per_person.items()
        if t != "ip"
    }
    by_type["ip"] = households
    checks = identifier_checks(SPEC, by_type, individuals=people, households=households)
    assert all(c.status == "pass" for c in checks), [c for c in checks if c.status != "pass"]
    by_type["cookie"] = int(rng.poisson(3.3, people).sum())
    by_type["ip"] = households + 50
    status = _by_name(identifier_checks(SPEC, by_type, individuals=people, households=households))
    assert status["identifiers_per_person[cookie]"] == "fail"
    assert status["identifiers_per_household[ip]"] == "fail"


def test_clipped_poisson_matches_a_sample() -> None:
    sample = np.minimum(np.random.default_rng(6).poisson(3.0, 400_000), 5)
    mean, sd = clipped_poisson(3.0, 5)
    assert mean == pytest.approx(sample.mean(), abs=0.01)
    assert sd == pytest.approx(sample.std(), abs=0.01)
    assert clipped_poisson(0.0, 5) == (0.0, 0.0)


def test_response_rates_binomial_tolerance() -> None:
    rng = np.random.default_rng(8)
    rates = SPEC.campaigns.response_rates
    exposures = dict.fromkeys(rates, 40_000)
    responses = {ch: rng.binomial(40_000, p) for ch, p in rates.items()}
    assert all(c.status == "pass" for c in response_rate_checks(SPEC, exposures, responses))
    doubled = {**responses, "search": rng.binomial(40_000, 2 * rates["search"])}
    status = _by_name(response_rate_checks(SPEC, exposures, doubled))
    assert status["response_rate[search]"] == "fail" and status["response_rate[email]"] == "pass"
    few = response_rate_checks(SPEC, {"display": 500}, {"display": 40})
    assert _by_name(few)["response_rate[display]"] == "skip"  # 2.3 responses expected
    unknown = response_rate_checks(SPEC, {**exposures, "radio": 10}, responses)
    assert _by_name(unknown)["exposure_channels"] == "fail"


def test_engagement_heavy_tail() -> None:
    rng = np.random.default_rng(9)
    e = SPEC.engagement
    heavy = np.floor(
        np.exp(np.log(e.median_events_per_person) + e.events_sigma * rng.standard_normal(50_000))
    )
    checks = engagement_checks(
        SPEC, 50_000, float(np.median(heavy)), float(np.quantile(heavy, 0.99))
    )
    assert [c.status for c in checks] == ["pass", "pass"]
    thin = np.floor(np.exp(np.log(e.median_events_per_person) + 0.2 * rng.standard_normal(50_000)))
    checks = engagement_checks(SPEC, 50_000, float(np.median(thin)), float(np.quantile(thin, 0.99)))
    assert _by_name(checks) == {
        "events_per_person_median": "pass",
        "events_per_person_tail": "fail",
    }
    shifted = engagement_checks(SPEC, 50_000, 12.0, 150.0)
    assert _by_name(shifted)["events_per_person_median"] == "fail"


def test_conversion_rate() -> None:
    rng = np.random.default_rng(10)
    assert conversion_check(SPEC, 5_000, rng.binomial(5_000, 0.12)).status == "pass"
    assert conversion_check(SPEC, 5_000, rng.binomial(5_000, 0.2)).status == "fail"
    assert conversion_check(SPEC, 20, 3).status == "skip"


# --------------------------------------------------------------------------- the generator


def test_a_generated_block_passes() -> None:
    """The real generator's smallest dataset passes every section (contract test)."""
    from lakesmith.synth.generator import campaigns, generate_block

    spec = SynthSpec(households=1_000, block_households=1_000, seed=11)
    tables: dict[str, pl.LazyFrame] = {
        name: pl.DataFrame(table).lazy() for name, table in generate_block(spec, 0).items()
    }
    tables["campaigns"] = pl.DataFrame(campaigns(spec).table).lazy()
    report = validate_dataset(spec, tables)
    assert report.integrity_passed, report.failures()
    assert report.passed, report.failures()
