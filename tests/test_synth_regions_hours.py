"""Household regions and the engagements' daily pattern: spec rules, generated data, wizard."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from pydantic import ValidationError

from lakesmith.app.store import Store
from lakesmith.app.wizard import Wizard
from lakesmith.synth.generator import generate_block
from lakesmith.synth.places import PLACES, region_states
from lakesmith.synth.spec import DAILY_PATTERNS, EngagementSpec, HouseholdSpec, SynthSpec
from lakesmith.synth.validation.targets import binomial_tolerance

BASE = SynthSpec(households=4_000, block_households=4_000, seed=5)
HOUR_US = 3_600_000_000


def _with(spec: SynthSpec, **sections: dict) -> SynthSpec:
    """``spec`` with fields of its sections replaced, validated like a spec file."""
    values = spec.model_dump(by_alias=True)
    for section, fields in sections.items():
        values[section] = {**values[section], **fields}
    return SynthSpec.model_validate(values)


def _message(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " | ".join(e["msg"] for e in exc.value.errors())


# --- spec rules ---------------------------------------------------------------------------


def test_unknown_region_lists_the_valid_ones() -> None:
    with pytest.raises(ValidationError) as info:
        HouseholdSpec(regions=["West", "Atlantis"])
    text = _message(info)
    assert "unknown regions ['Atlantis']" in text
    for name in ("Northeast", "Midwest", "South", "West", "Pacific", "New England", "NY", "DC"):
        assert name in text


def test_regions_match_any_case_and_are_kept_canonical_once() -> None:
    spec = HouseholdSpec(regions=["west", "ny", " new  england", "West"])
    assert spec.regions == ["West", "NY", "New England"]
    assert region_states("South") == (
        *("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV"),
        *("AL", "KY", "MS", "TN", "AR", "LA", "OK", "TX"),
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hour_weights": [1.0] * 23}, "needs 24 weights (hours 0-23), got 23"),
        ({"hour_weights": [-1.0] + [1.0] * 23}, "must be >= 0 and not all zero"),
        ({"hour_weights": [0.0] * 24}, "must be >= 0 and not all zero"),
        ({"daily_pattern": "custom"}, "'custom' needs hour_weights"),
        ({"daily_pattern": "night_owl"}, "'uniform', 'evening_peak', 'daytime' or 'custom'"),
    ],
)
def test_bad_daily_patterns_are_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        EngagementSpec(**fields)
    assert message in _message(info)


def test_new_fields_at_their_defaults_keep_the_spec_hash() -> None:
    values = BASE.model_dump(mode="json", by_alias=True)
    del values["household"]["regions"]
    del values["engagement"]["daily_pattern"], values["engagement"]["hour_weights"]
    before = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
    assert BASE.spec_hash() == before
    assert _with(BASE, household={"regions": ["West"]}).spec_hash() != before
    assert _with(BASE, engagement={"daily_pattern": "daytime"}).spec_hash() != before


# --- generated data -----------------------------------------------------------------------


def test_regions_restrict_the_places_and_nothing_else() -> None:
    spec = _with(BASE, household={"regions": ["Pacific", "NY"]})
    chosen = generate_block(spec, 0)["households"]
    states = set(region_states("Pacific")) | {"NY"}
    allowed = {f"{p[1]} {p[2]}xx" for p in PLACES if p[0] in states}
    assert set(chosen["state"].to_pylist()) == states  # all of them, and only them
    assert set(chosen["region"].to_pylist()) <= allowed
    everywhere = generate_block(BASE, 0)["households"]
    assert len(set(everywhere["state"].to_pylist())) > len(states)
    others = [c for c in chosen.column_names if c not in ("state", "region")]
    assert chosen.select(others).equals(everywhere.select(others))


def test_empty_regions_are_every_place_byte_for_byte() -> None:
    same = _with(BASE, household={"regions": []})
    assert generate_block(same, 0)["households"].equals(generate_block(BASE, 0)["households"])


def _hours(spec: SynthSpec) -> np.ndarray:
    ts = generate_block(spec, 0)["content_engagements"]["timestamp"].cast("int64")
    return np.bincount((np.asarray(ts) // HOUR_US) % 24, minlength=24)


@pytest.mark.parametrize("pattern", ["evening_peak", "daytime", "custom"])
def test_engagement_hours_follow_the_daily_pattern(pattern: str) -> None:
    custom = [0.0] * 6 + [1.0] * 12 + [3.0] * 6  # nothing 0-5, a late peak
    spec = _with(
        BASE,
        engagement={
            "daily_pattern": pattern,
            "hour_weights": custom if pattern == "custom" else None,
        },
    )
    counts = _hours(spec)
    weights = np.array(custom if pattern == "custom" else DAILY_PATTERNS[pattern])
    n = int(counts.sum())
    for hour, (count, p) in enumerate(zip(counts, weights / weights.sum(), strict=True)):
        assert abs(count / n - p) <= binomial_tolerance(p, n, z=4) + 1e-9, hour
    if pattern == "custom":
        assert counts[:6].sum() == 0
    ts = np.asarray(generate_block(spec, 0)["content_engagements"]["timestamp"].cast("int64"))
    start = int(spec.start.timestamp() * 1e6)
    assert ts.min() >= start and ts.max() < int(spec.end.timestamp() * 1e6)


def test_uniform_and_flat_custom_weights_keep_todays_times() -> None:
    before = generate_block(BASE, 0)["content_engagements"]
    flat = _with(BASE, engagement={"daily_pattern": "custom", "hour_weights": [2.0] * 24})
    assert generate_block(flat, 0)["content_engagements"].equals(before)
    counts = _hours(BASE)
    assert counts.max() / counts.min() < 1.3  # uniform over the day


# --- the wizard -----------------------------------------------------------------------------


@pytest.fixture
def wizard(tmp_path) -> Wizard:
    return Wizard(Store(tmp_path / "jobs.sqlite"))


def test_wizard_maps_regions_and_the_daily_pattern_onto_the_spec(wizard: Wizard) -> None:
    sid = wizard.create().session_id
    checked = wizard.validate(sid, "households", {"households": 2_000, "regions": ["midwest"]})
    assert checked.valid and checked.values["regions"] == ["Midwest"]
    checked = wizard.validate(sid, "engagement", {"daily_pattern": "evening_peak"})
    assert checked.valid, checked.errors
    spec, _ = wizard.spec(sid)
    assert spec.household.regions == ["Midwest"]
    assert spec.engagement.hour_profile() == DAILY_PATTERNS["evening_peak"]


def test_wizard_reports_spec_errors_on_its_own_fields(wizard: Wizard) -> None:
    sid = wizard.create().session_id
    bad = wizard.validate(sid, "households", {"regions": ["Atlantis"]})
    assert not bad.valid and bad.errors[0].path == "regions"
    assert "unknown regions ['Atlantis']" in bad.errors[0].message
    bad = wizard.validate(sid, "engagement", {"daily_pattern": "custom", "hour_weights": [1, 2]})
    assert not bad.valid and bad.errors[0].path == "hour_weights"
    bad = wizard.validate(sid, "engagement", {"daily_pattern": "custom", "hour_weights": []})
    assert not bad.valid and "needs hour_weights" in bad.errors[0].message


@pytest.mark.parametrize(("households", "valid"), [(999, False), (1_000, True), (10**8, True)])
def test_wizard_households_between_1k_and_100m(
    wizard: Wizard, households: int, valid: bool
) -> None:
    sid = wizard.create().session_id
    assert wizard.validate(sid, "households", {"households": households}).valid is valid


def test_wizard_refuses_more_than_100m_households_the_spec_allows(wizard: Wizard) -> None:
    assert SynthSpec(households=10**8 + 1).households == 10**8 + 1
    sid = wizard.create().session_id
    bad = wizard.validate(sid, "households", {"households": 10**8 + 1})
    assert not bad.valid and bad.errors[0].path == "households"
    assert "at most 100,000,000 households" in bad.errors[0].message
