"""Distribution targets the spec implies, and the tolerances observed values must meet."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

from lakesmith.synth.spec import IDENTIFIER_TYPES, SynthSpec

from .model import (
    Comparison,
    DistributionCheck,
    Status,
    ValidationReport,
)

Z_SCORE = 4.0
"""Standard errors a sampled share or mean may stray from its target."""
INCOME_MEDIAN_TOLERANCE = 0.10
"""Relative tolerance of the overall median household income."""
EVENTS_MEDIAN_TOLERANCE = 0.1
"""Relative tolerance of the median events per person, on top of one event (counts are whole
numbers: the generator rounds its log-normal draws)."""
HEAVY_TAIL_RATIO = 5.0
"""p99/median of events per person must exceed this (or half the spec's own ratio if smaller)."""
MIN_EXPECTED_COUNT = 10.0
"""A rate is judged only when at least this many successes and failures are expected."""

_Z99 = 2.326347874040841  # standard-normal 99th percentile


# --------------------------------------------------------------------------- report model


def _judge(
    observed: float | None, target: float, tolerance: float, comparison: Comparison
) -> Status:
    if observed is None:
        return "fail"
    if comparison == "greater":
        return "pass" if observed > target else "fail"
    allowed = tolerance * abs(target) if comparison == "rel" else tolerance
    return "pass" if abs(observed - target) <= allowed + 1e-12 else "fail"


def _check(
    name: str,
    group: str,
    description: str,
    n: int,
    observed: float | None,
    target: float,
    tolerance: float,
    comparison: Comparison = "abs",
    detail: str = "",
    status: Status | None = None,
) -> DistributionCheck:
    return DistributionCheck(
        name=name,
        group=group,
        description=description,
        n=n,
        observed=observed,
        target=target,
        tolerance=tolerance,
        comparison=comparison,
        status=status or _judge(observed, target, tolerance, comparison),
        detail=detail,
    )


def binomial_tolerance(p: float, n: int, z: float = Z_SCORE) -> float:
    """`z` standard errors of a share `p` estimated from `n` trials."""
    return z * math.sqrt(p * (1 - p) / n) if n > 0 else 0.0


def _normalised(weights: Mapping[int, float]) -> dict[int, float]:
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def household_checks(spec: SynthSpec, sizes: Mapping[int, int]) -> list[DistributionCheck]:
    """Household count, size shares, mean size and share of 1- and 2-person households.

    Args:
        spec: the spec (``household.size_weights``, ``households``).
        sizes: observed number of households by size.
    """
    n = sum(sizes.values())
    probs = _normalised(spec.household.size_weights)
    out = [
        _check(
            "household_count",
            "households",
            "households generated = spec.households",
            n,
            float(n),
            float(spec.households),
            0.0,
        )
    ]
    for size in sorted(set(probs) | set(sizes)):
        p = probs.get(size, 0.0)
        share = sizes.get(size, 0) / n if n else None
        out.append(
            _check(
                f"household_size_share[{size}]",
                "households",
                f"share of {size}-person households",
                n,
                share,
                p,
                binomial_tolerance(p, n),
            )
        )
    mean = sum(s * p for s, p in probs.items())
    sd = math.sqrt(sum(p * (s - mean) ** 2 for s, p in probs.items()))
    observed_mean = sum(s * c for s, c in sizes.items()) / n if n else None
    out.append(
        _check(
            "household_size_mean",
            "households",
            "mean household size (target from size_weights)",
            n,
            observed_mean,
            mean,
            Z_SCORE * sd / math.sqrt(n) if n else 0.0,
        )
    )
    p12 = probs.get(1, 0.0) + probs.get(2, 0.0)
    small = (sizes.get(1, 0) + sizes.get(2, 0)) / n if n else None
    out.append(
        _check(
            "household_size_share_1_2",
            "households",
            "share of 1- and 2-person households",
            n,
            small,
            p12,
            binomial_tolerance(p12, n),
        )
    )
    return out


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def income_median_target(spec: SynthSpec) -> float:
    """The overall median household income the spec implies.

    Each household's income is log-normal around the median of its householder's age band
    (``income_median_by_age``) with ``income_sigma``; bands are drawn with
    ``householder_age_weights``. The overall distribution is the weighted mixture of those
    log-normals, and its median ``m`` solves ``sum_b w_b * Phi((ln m - ln median_b) / sigma) =
    0.5``, found here by bisection on ``ln m``. It lies between the smallest and the largest band
    median. (A plain weighted median of the band medians would ignore the spread.)
    """
    hs = spec.household
    total = sum(hs.householder_age_weights.values())
    bands = [
        (w / total, math.log(hs.income_median_by_age[b]))
        for b, w in hs.householder_age_weights.items()
    ]
    sigma = hs.income_sigma

    def cdf(log_m: float) -> float:
        return sum(w * _normal_cdf((log_m - mu) / sigma) for w, mu in bands)

    lo, hi = min(mu for _, mu in bands), max(mu for _, mu in bands)
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < 0.5 else (lo, mid)
    return math.exp((lo + hi) / 2)


def income_median_check(spec: SynthSpec, n: int, median: float | None) -> DistributionCheck:
    """Observed median annual_income against `income_median_target` (relative tolerance)."""
    return _check(
        "income_median",
        "income",
        "median annual_income vs the age-band log-normal mixture median",
        n,
        median,
        round(income_median_target(spec), 2),
        INCOME_MEDIAN_TOLERANCE,
        "rel",
    )


def education_chain(spec: SynthSpec) -> list[str]:
    """Education levels whose median income must increase, lowest first."""
    levels = spec.individual.education_levels
    chain = [lvl for lvl in levels if lvl in ("high_school", "bachelors", "graduate")]
    return chain if len(chain) >= 2 else list(levels)


def education_check(
    spec: SynthSpec, by_level: Mapping[str, tuple[int, float | None]]
) -> DistributionCheck:
    """Median household income of householders rises along `education_chain`.

    Args:
        spec: the spec (``individual.education_levels``).
        by_level: education -> (householders, median annual_income of their households).

    The observed value is the smallest ratio between consecutive medians; it must exceed 1.
    """
    chain = education_chain(spec)
    medians = [by_level.get(lvl, (0, None))[1] for lvl in chain]
    ratios = [b / a for a, b in itertools.pairwise(medians) if a and b is not None]
    complete = len(ratios) == len(chain) - 1 and len(ratios) > 0
    observed = min(ratios) if complete else None
    detail = ", ".join(
        f"{lvl} {by_level[lvl][1]:,.0f} (n={by_level[lvl][0]:,})"
        if by_level.get(lvl, (0, None))[1] is not None
        else f"{lvl} -"
        for lvl in chain
    )
    return _check(
        "income_by_education",
        "income",
        "median household income rises with the householder's education: " + " < ".join(chain),
        sum(by_level.get(lvl, (0, None))[0] for lvl in chain),
        observed,
        1.0,
        0.0,
        "greater",
        detail=detail,
    )


def clipped_poisson(lam: float, cap: int) -> tuple[float, float]:
    """Mean and standard deviation of ``min(Poisson(lam), cap)``."""
    if lam <= 0:
        return 0.0, 0.0
    pmf = math.exp(-lam)
    mean = second = 0.0
    below = 0.0
    for k in range(cap):
        mean += k * pmf
        second += k * k * pmf
        below += pmf
        pmf *= lam / (k + 1)
    tail = max(0.0, 1.0 - below)
    mean += cap * tail
    second += cap * cap * tail
    return mean, math.sqrt(max(0.0, second - mean * mean))


def identifier_checks(
    spec: SynthSpec, by_type: Mapping[str, int], *, individuals: int, households: int
) -> list[DistributionCheck]:
    """Identifiers per person by type against ``identifiers.per_person``.

    Args:
        spec: the spec.
        by_type: identifier rows by type; for ``ip`` the number of distinct (household, ip)
            pairs.
        individuals: number of individuals (denominator of every type but ip).
        households: number of households (denominator of ip).

    Counts per person are Poisson draws capped at ``max_per_type``, so the target is the mean
    of the capped Poisson (slightly below the spec mean for large means), with `Z_SCORE`
    standard errors of tolerance. An ``ip`` is one value per household shared by its members:
    the target is exactly one per household when its spec mean is above zero, else none.
    """
    ids = spec.identifiers
    types = list(IDENTIFIER_TYPES) + sorted(t for t in by_type if t not in IDENTIFIER_TYPES)
    out = []
    for t in types:
        lam = ids.per_person.get(t, 0.0)
        if t == "ip":
            n, unit, what = households, "household", "one per household"
            mean, sd = (1.0 if lam > 0 else 0.0), 0.0
        else:
            n, unit = individuals, "person"
            what = f"Poisson {lam:g} capped at {ids.max_per_type}"
            mean, sd = clipped_poisson(lam, ids.max_per_type)
        out.append(
            _check(
                f"identifiers_per_{unit}[{t}]",
                "identifiers",
                f"{t} identifiers per {unit} ({what})",
                n,
                by_type.get(t, 0) / n if n else None,
                round(mean, 6),
                Z_SCORE * sd / math.sqrt(n) if n else 0.0,
                detail=f"spec mean {lam:g}",
            )
        )
    return out


def exposure_check(spec: SynthSpec, individuals: int, exposures: int) -> DistributionCheck:
    """Campaign exposures per person: Poisson ``exposures_per_person`` capped at the maximum."""
    cs = spec.campaigns
    mean, sd = clipped_poisson(cs.exposures_per_person, cs.max_exposures_per_person)
    return _check(
        "exposures_per_person",
        "campaigns",
        f"campaign exposures per person (Poisson {cs.exposures_per_person:g} capped at "
        f"{cs.max_exposures_per_person})",
        individuals,
        exposures / individuals if individuals else None,
        round(mean, 6),
        Z_SCORE * sd / math.sqrt(individuals) if individuals else 0.0,
    )


def response_rate_checks(
    spec: SynthSpec, exposures: Mapping[str, int], responses: Mapping[str, int]
) -> list[DistributionCheck]:
    """Response rate per channel against ``campaigns.response_rates`` (binomial tolerance).

    A channel is skipped when fewer than `MIN_EXPECTED_COUNT` responses (or non-responses) are
    expected. Exposures on a channel the spec does not list fail a separate check.
    """
    out = []
    rates = spec.campaigns.response_rates
    for channel in spec.campaigns.channels:
        n = exposures.get(channel, 0)
        p = rates[channel]
        k = responses.get(channel, 0)
        enough = n * p >= MIN_EXPECTED_COUNT and n * (1 - p) >= MIN_EXPECTED_COUNT
        out.append(
            _check(
                f"response_rate[{channel}]",
                "campaigns",
                f"responses per {channel} exposure",
                n,
                k / n if n else None,
                p,
                binomial_tolerance(p, n),
                detail=f"{k:,} responses / {n:,} exposures",
                status=None if enough else "skip",
            )
        )
    total = sum(exposures.values())
    unknown = sum(c for ch, c in exposures.items() if ch not in spec.campaigns.channels)
    out.append(
        _check(
            "exposure_channels",
            "campaigns",
            "share of exposures on channels the spec does not list",
            total,
            unknown / total if total else 0.0,
            0.0,
            0.0,
        )
    )
    return out


def engagement_checks(
    spec: SynthSpec, n: int, median: float | None, p99: float | None
) -> list[DistributionCheck]:
    """Median events per person near the spec's, and a heavy tail (p99 / median).

    Args:
        spec: the spec (``engagement``).
        n: individuals (people without events count as zero).
        median: median events per person.
        p99: 99th percentile of events per person.

    The tail threshold is `HEAVY_TAIL_RATIO`, or half the spec's own log-normal ratio
    ``exp(2.326 * events_sigma)`` when that is smaller (a thin-tailed spec).
    """
    e = spec.engagement
    target = e.median_events_per_person
    spec_ratio = math.exp(_Z99 * e.events_sigma)
    threshold = min(HEAVY_TAIL_RATIO, spec_ratio / 2)
    ratio = p99 / median if p99 is not None and median else None
    return [
        _check(
            "events_per_person_median",
            "engagement",
            "median engagement events per person",
            n,
            median,
            target,
            1.0 + EVENTS_MEDIAN_TOLERANCE * target,
        ),
        _check(
            "events_per_person_tail",
            "engagement",
            "heavy tail: p99 / median of events per person",
            n,
            ratio,
            round(threshold, 3),
            0.0,
            "greater",
            detail=f"median {median}, p99 {p99}; the spec's log-normal p99/median is "
            f"{spec_ratio:.1f}",
        ),
    ]


def conversion_check(spec: SynthSpec, responses: int, converted: int) -> DistributionCheck:
    """Share of responses with a conversion (an outcome with ``converted_at`` set)."""
    p = spec.campaigns.conversion_rate
    enough = responses * p >= MIN_EXPECTED_COUNT and responses * (1 - p) >= MIN_EXPECTED_COUNT
    return _check(
        "conversion_rate",
        "campaigns",
        "converted outcomes per response",
        responses,
        converted / responses if responses else None,
        p,
        binomial_tolerance(p, responses),
        detail=f"{converted:,} conversions / {responses:,} responses",
        status=None if enough else "skip",
    )


def summary_line(report: ValidationReport) -> str:
    """One line for logs and the CLI."""
    verdict = "PASSED" if report.passed else "FAILED"
    failed = report.failures()
    more = f": {len(failed)} failed check(s)" if failed else ""
    return f"{report.dataset} seed={report.seed} {verdict}{more} ({report.elapsed_seconds:.1f}s)"
