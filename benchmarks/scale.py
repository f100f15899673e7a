"""Scale: the medallion pipeline at 5M, 20M and 50M orders, time and peak memory per size.

Each size runs ``lakesmith`` (silver + SQL gold, pipeline_medallion.py's project and
generator, cached in benchmarks/.data/) in a fresh subprocess; a sampler sums the RSS of
that process and its descendants every 100 ms, so the peak is the run's whole process tree.
Inside the run a second sampler keys its RSS by the node running, which shows where memory
goes (``node_peak_rss_gib``). Targets (issue 13): time grows linearly (``scaling_exponent``
≈ 1, ``time_ratio_per_10x`` ≈ 10) and peak memory stays ≤ 4 GiB at 50M orders
(``memory_within_target``, null when no size reaches 50M);
``peak_rss_gib_per_million_orders`` is the growth between the smallest and the largest size
(0: bounded).

Optionally the synthetic identity-graph generator at 10M households on the embedded engine,
measured the same way (it fans out to worker processes: the tree's RSS counts them all).

Sizes: ``LAKESMITH_SCALE_SIZES=1000000,2000000`` for a quick run (then the generator runs
only when ``LAKESMITH_SCALE_HOUSEHOLDS`` is set too); ``LAKESMITH_SCALE_HOUSEHOLDS=0`` skips
it in a full run.

Run: .venv/bin/python benchmarks/scale.py
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pipeline_medallion import (
    DATA,
    DATA_VERSION,
    N_CUSTOMERS,
    SEED,
    cached,
    log,
    make_customers,
    make_orders,
    run_lakesmith,
    write_project,
)

HERE = Path(__file__).resolve().parent
FULL_SIZES = [5_000_000, 20_000_000, 50_000_000]
FULL_HOUSEHOLDS = 10_000_000
MEMORY_TARGET_BYTES = 4 * 1024**3
MEMORY_TARGET_ORDERS = 50_000_000
SAMPLE_SECONDS = 0.1
PAGE = os.sysconf("SC_PAGE_SIZE")


def sizes() -> tuple[list[int], int]:
    """Order counts and households (0: skip the generator) from the environment."""
    given = os.environ.get("LAKESMITH_SCALE_SIZES")
    orders = [int(s) for s in given.split(",")] if given else FULL_SIZES
    default = "0" if given else str(FULL_HOUSEHOLDS)
    return sorted(orders), int(os.environ.get("LAKESMITH_SCALE_HOUSEHOLDS", default))


# --- memory of a process tree --------------------------------------------------------------


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants now (0 once it is gone)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        todo += parents.get(pid, [])
    return total


def measured(args: list[str]) -> dict[str, Any]:
    """Runs ``scale.py --child ...`` in a subprocess: its JSON answer plus wall seconds and
    the sampled peak RSS of its process tree."""
    clock = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - clock
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}")
    answer = json.loads(out.strip().splitlines()[-1])
    return {**answer, "wall_s": seconds, "peak_tree_rss": peak}


# --- children ------------------------------------------------------------------------------


def data_files(n_orders: int) -> tuple[Path, Path]:
    key = f"v{DATA_VERSION}-s{SEED}"
    orders, _ = cached(
        "medallion", "orders", f"{key}-{n_orders}", lambda: make_orders(n_orders, N_CUSTOMERS)
    )
    customers, _ = cached(
        "medallion", "customers", f"{key}-{N_CUSTOMERS}", lambda: make_customers(N_CUSTOMERS)
    )
    return orders, customers


def child(kind: str, n: int) -> dict[str, Any]:
    """One measured unit of work in this (fresh) process."""
    if kind == "generate":
        data_files(n)
        return {}
    if kind == "medallion":
        orders, customers = data_files(n)  # cached by the "generate" child before
        with (
            tempfile.TemporaryDirectory(prefix="lakesmith-scale-", dir=DATA) as tmp,
            NodeMemory() as memory,
        ):
            root = Path(tmp) / "project"
            write_project(root, orders, customers)
            seconds, nodes = run_lakesmith(root, "gold_revenue", listeners=[memory.on_event])
        return {"seconds": seconds, "nodes": nodes, "node_peaks": memory.peaks, **self_peak()}
    if kind == "synth":
        from lakesmith.synth.job import generate
        from lakesmith.synth.spec import SynthSpec

        with tempfile.TemporaryDirectory(prefix="lakesmith-scale-synth-", dir=DATA) as tmp:
            clock = time.perf_counter()
            result = generate(SynthSpec(households=n), warehouse=Path(tmp))
            seconds = time.perf_counter() - clock
        return {"seconds": seconds, "rows": result.total_rows, **self_peak()}
    raise SystemExit(f"unknown child {kind}")


class NodeMemory:
    """Peak RSS of this process while each node runs (samples every 50 ms); the runner's
    events say which node runs ("" before the first one and between nodes)."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.peaks: dict[str, int] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> NodeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def on_event(self, event: Any) -> None:
        from lakesmith.pipeline.events import NodeFinished, NodeStarted

        if isinstance(event, NodeStarted):
            self.running.add(event.node)
        elif isinstance(event, NodeFinished):
            self.running.discard(event.report.name)

    def _sample(self) -> None:
        statm = Path(f"/proc/{os.getpid()}/statm")
        while not self._done.is_set():
            rss = int(statm.read_text().split()[1]) * PAGE
            for node in self.running or {""}:
                self.peaks[node] = max(self.peaks.get(node, 0), rss)
            self._done.wait(0.05)


def self_peak() -> dict[str, int]:
    """Peak RSS of this process and of its largest waited-for child (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {"peak_rss_self": own, "peak_rss_largest_child": kids}


# --- report --------------------------------------------------------------------------------


def gib(n: int) -> float:
    return round(n / 1024**3, 3)


def main() -> None:
    from rich.console import Console
    from rich.progress import Progress

    orders_sizes, households = sizes()
    DATA.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, Any]] = {}
    steps = len(orders_sizes) * 2 + (1 if households else 0)
    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("scale", total=steps)
        for n in orders_sizes:
            progress.update(task, description=f"data {n:,} orders")
            measured(["generate", str(n)])
            progress.advance(task)
            progress.update(task, description=f"medallion {n:,} orders")
            results[n] = measured(["medallion", str(n)])
            progress.advance(task)
            r = results[n]
            log(
                f"{n:>12,} orders: {r['seconds']:7.2f}s in lakesmith, "
                f"peak tree RSS {gib(r['peak_tree_rss']):.2f} GiB"
            )
        synth = None
        if households:
            progress.update(task, description=f"synth {households:,} households")
            synth = measured(["synth", str(households)])
            progress.advance(task)
            log(
                f"{households:>12,} households: {synth['seconds']:7.2f}s, "
                f"peak tree RSS {gib(synth['peak_tree_rss']):.2f} GiB"
            )

    figures: dict[str, Any] = {"customers_rows": N_CUSTOMERS}
    for n, r in results.items():
        label = f"orders_{n // 1_000_000}m" if n % 1_000_000 == 0 else f"orders_{n}"
        figures[f"{label}_seconds"] = round(r["seconds"], 2)
        figures[f"{label}_rows_per_s"] = round(n / r["seconds"])
        figures[f"{label}_peak_rss_gib"] = gib(r["peak_tree_rss"])
        figures[f"{label}_node_seconds"] = {k: round(v, 2) for k, v in r["nodes"].items()}
        figures[f"{label}_node_peak_rss_gib"] = {
            k or "outside nodes": gib(v) for k, v in r["node_peaks"].items()
        }
    smallest, largest = orders_sizes[0], orders_sizes[-1]
    if largest > smallest:
        t0, t1 = results[smallest]["seconds"], results[largest]["seconds"]
        exponent = math.log(t1 / t0) / math.log(largest / smallest)
        figures["scaling_exponent"] = round(exponent, 3)  # 1.0: linear
        figures["time_ratio_per_10x"] = round(10**exponent, 2)  # 10: linear
        growth = results[largest]["peak_tree_rss"] - results[smallest]["peak_tree_rss"]
        per_million = growth / ((largest - smallest) / 1_000_000)
        figures["peak_rss_gib_per_million_orders"] = round(per_million / 1024**3, 4)
    peak = max(r["peak_tree_rss"] for r in results.values())
    figures["peak_rss_gib"] = gib(peak)
    figures["peak_rss_at_orders"] = max(results, key=lambda n: results[n]["peak_tree_rss"])
    figures["memory_target_gib"] = gib(MEMORY_TARGET_BYTES)
    # the target is for 50M orders: a quick run with smaller sizes cannot tell (null)
    reached = largest >= MEMORY_TARGET_ORDERS
    figures["memory_within_target"] = peak <= MEMORY_TARGET_BYTES if reached else None
    if synth is not None:
        figures["synth_households"] = households
        figures["synth_seconds"] = round(synth["seconds"], 2)
        figures["synth_rows"] = synth["rows"]
        figures["synth_rows_per_s"] = round(synth["rows"] / synth["seconds"])
        figures["synth_peak_rss_gib"] = gib(synth["peak_tree_rss"])
    print(json.dumps({"benchmark": "scale", "figures": figures}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
