"""The six acceptance scenarios, each through the REST API of a live server.

One 10K-household dataset is configured through the wizard endpoints and generated; every
scenario then reads the reported result and the Delta tables themselves (Polars).
Tolerances are the validation module's own (3-sigma binomial / Poisson), so a check fails
only when the data is off the spec, not by sampling noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from lakesmith.synth.places import region_states
from lakesmith.synth.spec import DAILY_PATTERNS
from lakesmith.synth.validation.targets import binomial_tolerance
from test_app_support import live_server, settings_for, wait_for

HOUSEHOLDS = 10_000
TABLES = (
    "households",
    "individuals",
    "identity_mappings",
    "content_engagements",
    "viewership_patterns",
    "audience_attributes",
    "campaigns",
    "campaign_exposures",
    "response_events",
    "outcome_metrics",
)
AGES = {"18-29": 0.2, "30-49": 0.35, "50-69": 0.3, "70-90": 0.15}
RATES = {"display": 0.01, "search": 0.05, "email": 0.03, "social": 0.02}
EXPOSURES = 1.5
START, END = "2025-03-01", "2025-08-31"

STEPS: dict[str, dict[str, Any]] = {
    "households": {"households": HOUSEHOLDS, "seed": 11, "regions": ["West", "ny"]},
    "demographics": {
        "householder_age_weights": AGES,
        "income_median_by_age": {
            "18-29": 40_000,
            "30-49": 95_000,
            "50-69": 85_000,
            "70-90": 45_000,
        },
        "income_sigma": 0.6,
    },
    "engagement": {
        "median_events_per_person": 8,
        "categories": {"news": 2, "sports": 1, "kids": 1},
        "daily_pattern": "evening_peak",
    },
    "campaigns": {
        "count": 12,
        "channels": list(RATES),
        "response_rates": RATES,
        "exposures_per_person": EXPOSURES,
        "start_date": START,
        "end_date": END,
        "min_days": 10,
        "max_days": 60,
    },
    "output": {"catalog": "acceptance", "schema": "campaign_lab", "if_exists": "overwrite"},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, dict, Path]]:
    """Scenario 1's job: the wizard filled in step by step, submitted, finished."""
    root = tmp_path_factory.mktemp("acceptance")
    with live_server(settings_for(root)) as client:
        sid = client.post("/api/wizard/sessions").json()["session_id"]
        for step, values in STEPS.items():
            checked = client.post(f"/api/wizard/sessions/{sid}/steps/{step}/validate", json=values)
            assert checked.json()["valid"], checked.json()["errors"]
        job_id = client.post(f"/api/wizard/sessions/{sid}/submit").json()["job_id"]
        assert wait_for(client, job_id)["state"] == "succeeded"
        result = client.get(f"/api/generate/result/{job_id}").json()
        yield client, result, root / "warehouse" / "acceptance" / "campaign_lab"


def read(root: Path, table: str) -> pl.DataFrame:
    return pl.read_delta(str(root / table))


def distribution(result: dict, name: str) -> dict:
    return next(c for c in result["validation"]["distributions"] if c["name"] == name)


def test_1_ten_tables_with_the_reported_counts(run: tuple[httpx.Client, dict, Path]) -> None:
    client, result, root = run
    tables = {t["name"]: t for t in result["tables"]}
    assert tuple(tables) == TABLES
    for name, table in tables.items():
        assert table["full_name"] == f"acceptance.campaign_lab.{name}"
        assert (
            read(root, name).height == table["rows"] == result["manifest"]["tables"][name]["rows"]
        )
    assert tables["households"]["rows"] == HOUSEHOLDS
    assert tables["campaigns"]["rows"] == 12
    assert result["validation"]["integrity_passed"] is True
    status = client.get(f"/api/generate/status/{result['job_id']}").json()
    assert {t["name"]: t["rows_done"] for t in status["tables"]} == {
        n: t["rows"] for n, t in tables.items()
    }


def test_2_age_and_income_follow_the_spec(run: tuple[httpx.Client, dict, Path]) -> None:
    _, result, root = run
    people = read(root, "individuals").filter(pl.col("is_householder"))
    n = people.height
    for band, weight in AGES.items():
        lo, hi = (int(x) for x in band.split("-"))
        share = people.filter(pl.col("age").is_between(lo, hi)).height / n
        assert abs(share - weight / sum(AGES.values())) <= binomial_tolerance(weight, n), band
    income = distribution(result, "income_median")
    assert income["status"] == "pass"  # median within 10 % of the age-band log-normal mixture
    households = read(root, "households").join(
        people.select("household_id", "age"), on="household_id"
    )
    young = households.filter(pl.col("age") < 30)["annual_income"].median()
    middle = households.filter(pl.col("age").is_between(30, 49))["annual_income"].median()
    assert isinstance(young, float) and isinstance(middle, float)
    assert abs(young / 40_000 - 1) < 0.15 and abs(middle / 95_000 - 1) < 0.15
    assert distribution(result, "household_size_mean")["status"] == "pass"


def test_households_only_in_the_chosen_regions(run: tuple[httpx.Client, dict, Path]) -> None:
    _, _, root = run
    states = set(read(root, "households")["state"].unique())
    assert states == {*region_states("West"), "NY"}


def test_3_engagements_inside_the_window_with_the_daily_pattern(
    run: tuple[httpx.Client, dict, Path],
) -> None:
    """Uniform over the days of the window; hours of the day follow the evening-peak profile."""
    _, result, root = run
    events = read(root, "content_engagements")
    start = datetime.fromisoformat(START).replace(tzinfo=UTC)
    limit = datetime.fromisoformat(END).replace(tzinfo=UTC) + timedelta(days=1)
    ts = pl.col("timestamp")
    first, last = events.select(ts.min().alias("first"), ts.max().alias("last")).row(0)
    assert first >= start and last < limit
    per_day = result["charts"]["engagements_per_day"]
    days = (limit - start).days - 1  # uniform over [start, end): the end day itself is empty
    assert len(per_day) == days
    mean = events.height / days
    counts = [n for _, n in per_day]
    assert max(abs(n - mean) for n in counts) < 5 * math.sqrt(mean)  # Poisson, 5 sigma
    hours = events.group_by(ts.dt.hour().alias("hour")).len().sort("hour")
    assert hours["hour"].to_list() == list(range(24))
    weights = DAILY_PATTERNS["evening_peak"]
    for hour, n in hours.iter_rows():
        p = weights[hour] / sum(weights)
        assert abs(n / events.height - p) <= binomial_tolerance(p, events.height), hour
    evening = hours.filter(pl.col("hour").is_between(19, 21))["len"].sum() / events.height
    assert evening > 0.25  # vs 3/24 = 0.125 uniform
    assert next(c for c in result["validation"]["temporal"] if c["rule"] == "engagement_in_window")[
        "passed"
    ]


def test_4_audience_segments_follow_the_engagements(run: tuple[httpx.Client, dict, Path]) -> None:
    _, _, root = run
    events = read(root, "content_engagements")
    counts = events.group_by("individual_id", "content_category").len()
    shares = counts.with_columns(
        (pl.col("len") / pl.col("len").sum().over("individual_id")).alias("share"),
        (pl.col("len") == pl.col("len").max().over("individual_id")).alias("is_top"),
    )
    audience = read(root, "audience_attributes")
    affinity = (
        audience.select("individual_id", "segment", pl.col("affinity_scores").map.entries())
        .explode("affinity_scores")
        .unnest("affinity_scores")
    )
    joined = affinity.join(
        shares,
        left_on=["individual_id", "key"],
        right_on=["individual_id", "content_category"],
        how="full",
    )
    assert joined.filter(pl.col("share").is_null() | pl.col("value").is_null()).height == 0
    assert joined.select((pl.col("value") - pl.col("share")).abs().max()).item() <= 1e-4
    for segment, category in (("sports_enthusiast", "sports"), ("news_junkie", "news")):
        members = joined.filter(pl.col("segment") == segment, pl.col("key") == category)
        in_segment = audience.filter(pl.col("segment") == segment).height
        assert in_segment > 0 and members.height == in_segment
        assert members["is_top"].all(), f"{segment} members whose top category is not {category}"
    no_events = audience.join(
        events.select("individual_id").unique(), on="individual_id", how="anti"
    )
    assert no_events.select(pl.col("affinity_scores").map.len().max()).item() in (0, None)


def test_5_campaign_reach_and_frequency_as_configured(run: tuple[httpx.Client, dict, Path]) -> None:
    _, result, root = run
    people = read(root, "individuals").height
    exposures = read(root, "campaign_exposures")
    reached = exposures["individual_id"].n_unique()
    reach = 1 - math.exp(-EXPOSURES)  # Poisson exposures per person
    assert abs(reached / people - reach) <= binomial_tolerance(reach, people)
    frequency = exposures.height / reached
    assert abs(frequency - EXPOSURES / reach) < 0.05
    assert distribution(result, "exposures_per_person")["status"] == "pass"
    campaigns = read(root, "campaigns")
    assert set(exposures["channel"].unique()) == set(RATES)
    within = exposures.join(campaigns, on="campaign_id").filter(
        (pl.col("timestamp").dt.date() < pl.col("start_date"))
        | (pl.col("timestamp").dt.date() > pl.col("end_date"))
    )
    assert within.height == 0
    assert campaigns["channels"].list.eval(pl.element().is_in(list(RATES))).list.all().all()


def test_6_responses_after_exposures_at_the_configured_rates(
    run: tuple[httpx.Client, dict, Path],
) -> None:
    _, result, root = run
    exposures = read(root, "campaign_exposures")
    responses = read(root, "response_events")
    paired = responses.join(
        exposures.select("exposure_id", "timestamp", "channel", "individual_id"),
        on="exposure_id",
        suffix="_exposure",
    )
    assert paired.height == responses.height  # every response has its exposure
    assert (paired["timestamp"] > paired["timestamp_exposure"]).all()
    assert (paired["individual_id"] == paired["individual_id_exposure"]).all()
    shown = exposures.group_by("channel").len()
    answered = paired.group_by("channel").len()
    rates = dict(zip(shown["channel"], shown["len"], strict=True))
    hits = dict(zip(answered["channel"], answered["len"], strict=True))
    for channel, p in RATES.items():
        n = rates[channel]
        assert abs(hits.get(channel, 0) / n - p) <= binomial_tolerance(p, n), channel
        assert distribution(result, f"response_rate[{channel}]")["status"] == "pass"
    chart = dict(result["charts"]["response_rate_by_channel"])
    assert chart.keys() == RATES.keys() and all(
        abs(chart[c] - hits[c] / rates[c]) < 1e-4 for c in RATES
    )
