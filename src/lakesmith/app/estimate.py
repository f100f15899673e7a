"""Row counts and duration of a job before it runs, for the review page and progress totals.

Counts come from the generator itself: one small block of the same spec is generated in
memory and scaled up, so the estimate follows every spec parameter without restating how any
table is derived. The duration uses the throughput of the last finished jobs.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel

from lakesmith.synth.schema import TABLE_NAMES
from lakesmith.synth.spec import SynthSpec

from .problems import ProblemError

SAMPLE_HOUSEHOLDS = 2_000
DEFAULT_THROUGHPUT = 25_000.0
"""Households per second with two worker processes on a 2-core laptop (indicative)."""


class Estimate(BaseModel):
    """Expected rows per table and seconds; exact for households and campaigns."""

    rows: dict[str, int]
    total_rows: int
    seconds: float
    households_per_second: float
    basis: str


@lru_cache(maxsize=64)
def _sample(spec_json: str) -> tuple[int, tuple[tuple[str, float], ...]]:
    """Rows per household of each block table, and the campaigns table's (dataset-wide) rows."""
    from lakesmith.synth.generator import campaigns, generate_block

    spec = SynthSpec.model_validate_json(spec_json)
    n = min(spec.households, SAMPLE_HOUSEHOLDS)
    sample = spec.model_copy(update={"households": n, "block_households": n})
    per_household = {name: t.num_rows / n for name, t in generate_block(sample, 0).items()}
    return (campaigns(spec).table.num_rows, tuple(per_household.items()))


def estimate(spec: SynthSpec, *, throughput: float | None = None) -> Estimate:
    """Scale a generated sample block to the spec's households.

    Args:
        spec: the dataset to estimate.
        throughput: households per second seen recently (default: a laptop's figure).

    Raises:
        ProblemError: 422 when the generator fails on the sample: a spec the model accepts
            but cannot be generated, caught before a job is queued.
    """
    try:
        campaign_rows, sampled = _sample(spec.model_dump_json(by_alias=True))
    except (ValueError, IndexError, ArithmeticError) as exc:  # a gap in the spec's rules
        raise ProblemError(
            422,
            f"the spec validates but the generator cannot make it ({type(exc).__name__}: "
            f"{exc}); please report it, the spec should have refused these values",
            title="Spec cannot be generated",
        ) from exc
    per_household = dict(sampled)
    rows = {
        name: campaign_rows if name == "campaigns" else round(per_household[name] * spec.households)
        for name in TABLE_NAMES
    }
    rate = throughput or DEFAULT_THROUGHPUT
    return Estimate(
        rows=rows,
        total_rows=sum(rows.values()),
        seconds=round(spec.households / rate, 1),
        households_per_second=round(rate),
        basis=f"a generated sample of {min(spec.households, SAMPLE_HOUSEHOLDS):,} households",
    )
