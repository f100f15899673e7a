"""Synthetic identity graph end to end to Delta: wall time, rows/s, scaling, Faker baseline.

Runs with no arguments; output goes to benchmarks/.data/ (gitignored). Ends with one JSON line.
Targets (issue 3): 1M households <= 10 s median, >= 3M rows/s; linear scaling.

``--spark`` adds the generator on local Spark (needs the spark extra and Java 17): 100k
households through ``mapInArrow`` tasks, checked byte for byte against the local run. It is
opt-in because starting Spark costs more than the 100k run itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from lakesmith.synth.job import generate
from lakesmith.synth.spec import SynthSpec

DATA = Path(__file__).parent / ".data" / "synth"
RUNS = 3


def run(households: int, workers: int | None = None) -> tuple[float, dict[str, int]]:
    target = DATA / f"hh_{households}"
    shutil.rmtree(target, ignore_errors=True)
    os.sync()  # no run pays for the previous run's writeback (each 1M run writes ~2 GB)
    result = generate(SynthSpec(households=households), warehouse=target, workers=workers)
    return result.seconds, {name: t.rows for name, t in result.tables.items()}


def faker_baseline(rows: int = 100_000) -> float:
    """Rows/s of per-row Faker for an individual with an email: how most generators work."""
    from faker import Faker

    fake = Faker("en_US", use_weighting=False)
    fake.seed_instance(42)
    started = time.perf_counter()
    out = []
    for i in range(rows):
        out.append(
            {
                "individual_id": i,
                "household_id": i // 3,
                "first_name": fake.first_name(),
                "last_name": fake.last_name(),
                "email": fake.unique.email(),
                "age": fake.pyint(0, 99),
                "gender": fake.random_element(("female", "male", "nonbinary")),
                "state": fake.state_abbr(),
            }
        )
    return rows / (time.perf_counter() - started)


def spark_figures(local_seconds: float, households: int = 100_000) -> dict[str, object]:
    """Local Spark, warehouse mode: session start, a cold and a warm run, and parity.

    Compared with the local generator's run of the same spec (``local_seconds``, its files
    still under ``hh_<households>``).
    """
    from lakesmith.config.models import SparkSettings
    from lakesmith.runtime.spark import get_spark
    from lakesmith.synth.spark import generate_spark

    started = time.perf_counter()
    spark = get_spark(DATA, SparkSettings()).session
    session_s = time.perf_counter() - started
    target = DATA / f"spark_{households}"
    seconds, total = [], 0
    for attempt in ("cold", "warm"):
        shutil.rmtree(target, ignore_errors=True)
        result = generate_spark(SynthSpec(households=households), spark, warehouse=target)
        seconds.append(result.seconds)
        total = result.total_rows
        print(
            f"spark {households:,} households ({attempt}): {result.seconds:.2f}s", file=sys.stderr
        )
    spark.stop()
    label = f"spark_{households // 1000}k"
    return {
        "spark_session_seconds": round(session_s, 2),
        f"{label}_seconds": round(seconds[1], 2),
        f"{label}_seconds_cold": round(seconds[0], 2),
        f"{label}_rows_per_s": round(total / seconds[1]),
        f"{label}_matches_local": _digests(target) == _digests(DATA / f"hh_{households}"),
        f"{label}_over_local": round(seconds[1] / local_seconds, 2),
    }


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spark", action="store_true", help="add the local Spark figures")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    print("warm-up (100k households)", file=sys.stderr)
    run(100_000)

    times, rows = [], {}
    for i in range(RUNS):
        seconds, rows = run(1_000_000)
        times.append(seconds)
        print(f"1M households run {i + 1}: {seconds:.2f}s", file=sys.stderr)
    median = statistics.median(times)
    total = sum(rows.values())
    figures["households_1m_seconds_median"] = round(median, 2)
    figures["households_1m_seconds_runs"] = [round(t, 2) for t in times]
    figures["total_rows_1m"] = total
    figures["rows_per_s_total"] = round(total / median)
    figures["rows_per_s_by_table"] = {name: round(n / median) for name, n in rows.items()}
    figures["rows_by_table"] = rows

    scaling = {}
    for households in (100_000, 1_000_000, 2_000_000):
        seconds = median if households == 1_000_000 else run(households)[0]
        scaling[str(households)] = round(seconds, 2)
        print(f"{households:>9,} households: {seconds:.2f}s", file=sys.stderr)
    figures["scaling_seconds"] = scaling
    figures["scaling_2m_over_1m"] = round(scaling["2000000"] / scaling["1000000"], 2)

    one_worker, _ = run(1_000_000, workers=1)
    figures["households_1m_seconds_1_worker"] = round(one_worker, 2)
    figures["parallel_speedup"] = round(one_worker / median, 2)

    faker_rate = faker_baseline()
    figures["faker_rows_per_s"] = round(faker_rate)
    figures["ratio_vs_faker"] = round((total / median) / faker_rate, 1)

    if args.spark:
        figures.update(spark_figures(scaling["100000"]))
    shutil.rmtree(DATA, ignore_errors=True)
    print(json.dumps({"benchmark": "synth_identity_graph", "figures": figures}))


if __name__ == "__main__":
    main()
