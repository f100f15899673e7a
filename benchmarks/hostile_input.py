"""Hostile input: every loader answers odd input with a clear error in bounded time and memory.

Inputs (the case lists live in lakesmith.testing.hostile, shared with the fuzz tests):
- YAML attacks (alias bombs, deep nesting, duplicate keys, bad bytes, huge numbers) against
  the project loader (each of the example project's files in turn), quality rules, synth
  specs and bundle specs;
- hostile identifiers: the classic table-name attacks and a hypothesis batch of names made of
  quotes, backticks, ``..``, slashes, NUL and SQL fragments — parsed as table names, written
  as a pipeline's target table, and as a synth spec's catalog;
- bad records: the CSV and JSON-lines files of tests/test_bad_records.py and random bytes,
  split by the quarantine reader;
- a hypothesis batch per loader: random structures, structures of the loader's real keys, and
  random bytes (derandomized: every run tries the same inputs).

Each input runs in a worker process with a time bound (``LIMIT_S``) and a memory bound
(``LIMIT_MB`` of peak RSS growth, measured by the kernel's high-water mark and watched from
outside). Outcomes: ``rejected_cleanly`` — a LakesmithError (a ConfigError lists its issues)
with a message; ``accepted`` — valid input, loaded (for bad-record files: every bad record
quarantined with a reason); ``escaped`` — anything else: another exception type, a timeout,
memory over the bound, a dead worker. Escapes are listed.

Baseline in the same run: loading the unmodified example project, for the ratio of the
slowest hostile input to a normal load. Runs with no arguments; scratch files live in
benchmarks/.data/ (gitignored). Rich progress on stderr; ends with one JSON line.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import re
import shutil
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lakesmith.testing import hostile

LIMIT_S = 10.0
"""Seconds one input may take (the fuzz tests' bound)."""
LIMIT_MB = 256.0
"""Peak resident memory one input may add to the worker."""
EXAMPLES = 100
"""Hypothesis examples per (loader, strategy)."""
WARM_IMPORTS = (
    "lakesmith.catalog.table_ref",
    "lakesmith.config.loader",
    "lakesmith.deploy.specs",
    "lakesmith.engines.bad_records",
    "lakesmith.quality.rules",
    "lakesmith.synth.spec",
)
BASELINE_LOADS = 5
"""Loads of the unmodified example project, after one warm-up."""
DATA = Path(__file__).parent / ".data" / "hostile_input"
PIPELINE_FILE = "pipelines/customer360.yaml"
console = Console(stderr=True)

Case = tuple[str, str, tuple[Any, ...], str | None]
"""(group, label, the worker's job: kind and arguments, an identifier the input carries).

An input carrying an identifier may be accepted only if every dot-separated part of it is a
plain identifier: accepting a hostile name is an escape."""
PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- the worker: one input at a time, measured ---------------------------------------------


def _rss_kb(pid: int | str = "self", field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _run(job: tuple[Any, ...], scratch: Path, project: Path, originals: dict[str, bytes]) -> str:
    """Do one job; returns ``accepted``, or raises what the loader raised."""
    from lakesmith.catalog.table_ref import TableRef
    from lakesmith.config.loader import load_project
    from lakesmith.engines.bad_records import split_bad_records

    kind, *args = job
    if kind == "file":
        loader, data = args
        path = scratch / "input.yaml"
        path.write_bytes(data)
        hostile.LOADERS[loader](path)
    elif kind == "project":
        target, data = args
        try:
            (project / target).write_bytes(data)
            load_project(project, "local")
        finally:
            (project / target).write_bytes(originals[target])
    elif kind == "table_name":
        TableRef.parse(args[0], default_catalog="dev")
    elif kind == "bad_records":
        fmt, data = args
        path = scratch / f"input.{fmt}"
        path.write_bytes(data)
        split = split_bad_records(path, fmt)
        if split.bad.height and split.bad["reason"].is_null().any():
            raise AssertionError("a quarantined record has no reason")
    else:
        raise ValueError(f"unknown job {kind}")
    return "accepted"


def worker(conn: Any, scratch_dir: str) -> None:
    """Serve jobs from ``conn`` until it closes; answer each with its outcome and cost."""
    from lakesmith.errors import ConfigError, LakesmithError

    scratch = Path(scratch_dir)
    project = hostile.example_project(scratch / "project")
    originals = {t: (project / t).read_bytes() for t in hostile.PROJECT_FILES}
    clear_refs = Path("/proc/self/clear_refs")
    for module in WARM_IMPORTS:  # imports are not the inputs' cost
        importlib.import_module(module)
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        clear_refs.write_text("5")  # reset the peak-RSS mark to the current size
        before = _rss_kb()
        started = time.perf_counter()
        outcome, error, message = "accepted", None, ""
        try:
            _run(job, scratch, project, originals)
        except LakesmithError as exc:
            message = str(exc).strip()
            listed = not isinstance(exc, ConfigError) or bool(exc.issues)
            outcome = "rejected_cleanly" if message and listed else "escaped"
            error = type(exc).__name__
        except Exception as exc:  # an escape is what this benchmark counts
            outcome, error, message = "escaped", type(exc).__name__, str(exc)
        seconds = time.perf_counter() - started
        peak_mb = (_rss_kb(field="VmHWM") - before) / 1024
        first_line = (message.splitlines() or [""])[0][:200]
        conn.send((outcome, error, first_line, seconds, peak_mb))


class Pool:
    """One worker process, restarted after it is killed for a bound or dies."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.context = multiprocessing.get_context("spawn")
        self.proc: Any = None
        self.conn: Any = None

    def start(self) -> None:
        parent, child = self.context.Pipe()
        self.proc = self.context.Process(target=worker, args=(child, str(self.scratch)))
        self.proc.start()
        child.close()
        self.conn = parent
        assert self.conn.recv() == "ready"

    def stop(self) -> None:
        if self.proc is not None:
            self.conn.close()
            self.proc.kill()
            self.proc.join()
            self.proc = None

    def run(self, job: tuple[Any, ...]) -> tuple[str, str | None, str, float, float]:
        if self.proc is None or not self.proc.is_alive():
            self.start()
        base = _rss_kb(self.proc.pid)
        started = time.perf_counter()
        try:
            self.conn.send(job)
            while not self.conn.poll(0.01):
                elapsed = time.perf_counter() - started
                grown = (_rss_kb(self.proc.pid) - base) / 1024
                if elapsed > LIMIT_S or grown > LIMIT_MB or not self.proc.is_alive():
                    self.stop()
                    why = "timeout" if elapsed > LIMIT_S else "memory"
                    if grown <= LIMIT_MB and elapsed <= LIMIT_S:
                        why = "worker died"
                    return "escaped", why, f"{why} after {elapsed:.1f}s", elapsed, grown
            result = self.conn.recv()
        except (EOFError, OSError, FileNotFoundError):
            self.stop()
            return "escaped", "worker died", "", time.perf_counter() - started, 0.0
        outcome, error, message, seconds, peak_mb = result
        if outcome != "escaped" and peak_mb > LIMIT_MB:
            return "escaped", "memory", f"{peak_mb:.0f} MB peak", seconds, peak_mb
        return outcome, error, message, seconds, peak_mb


# --- the inputs ----------------------------------------------------------------------------


def draw(strategy: st.SearchStrategy[Any], n: int = EXAMPLES) -> list[Any]:
    """``n`` examples of ``strategy``, the same on every run."""
    found: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found


def _dump(tree: Any) -> bytes:
    return yaml.safe_dump(tree, allow_unicode=True).encode()


def cases(example: Path) -> list[Case]:
    files = [*hostile.LOADERS, *(f"config:{t}" for t in hostile.PROJECT_FILES)]

    def job(target: str, data: bytes) -> tuple[Any, ...]:
        if target.startswith("config:"):
            return ("project", target.removeprefix("config:"), data)
        return ("file", target, data)

    out: list[Case] = []
    for name, data in hostile.YAML_ATTACKS.items():
        out += [("yaml attacks", f"{name} → {t}", job(t, data), None) for t in files]

    names = hostile.CLASSIC_TABLE_NAMES + draw(hostile.HOSTILE_NAMES)
    pipeline = yaml.safe_load((example / PIPELINE_FILE).read_text())
    for name in names:
        out.append(("identifiers", f"table name {name!r}", ("table_name", name), name))
        pipeline["nodes"][0]["write"]["table"] = name
        target = ("project", PIPELINE_FILE, _dump(pipeline))
        out.append(("identifiers", f"pipeline target {name!r}", target, name))
        synth = ("file", "synth spec", _dump({"catalog": name}))
        out.append(("identifiers", f"synth catalog {name!r}", synth, name))

    out.append(("bad records", "tests' CSV", ("bad_records", "csv", hostile.BAD_CSV), None))
    out.append(("bad records", "tests' JSON", ("bad_records", "json", hostile.BAD_JSON), None))
    for fmt in ("csv", "json"):
        for i, data in enumerate(draw(hostile.RAW_BYTES)):
            label = f"random bytes #{i} as {fmt}"
            out.append(("bad records", label, ("bad_records", fmt, data), None))

    for target in files:
        keys = hostile.KEYS["config" if target.startswith("config") else target]
        trees = draw(hostile.TREES | hostile.near_miss(keys))
        out += [
            ("random structures", f"#{i} → {target}", job(target, _dump(t)), None)
            for i, t in enumerate(trees)
        ]
        blobs = draw(hostile.RAW_BYTES)
        out += [
            ("random bytes", f"#{i} → {target}", job(target, b), None) for i, b in enumerate(blobs)
        ]
    return out


# --- the run -------------------------------------------------------------------------------


def measure(pool: Pool, todo: list[Case], tick: Callable[[], None]) -> list[dict[str, Any]]:
    results = []
    for group, label, job, identifier in todo:
        outcome, error, message, seconds, peak_mb = pool.run(job)
        plain = identifier is None or all(PLAIN.fullmatch(p) for p in identifier.split("."))
        if outcome == "accepted" and not plain:
            outcome, error = "escaped", "accepted a hostile identifier"
        results.append(
            {
                "group": group,
                "input": label,
                "outcome": outcome,
                "error": error,
                "message": message,
                "seconds": seconds,
                "peak_mb": peak_mb,
            }
        )
        tick()
    return results


def main() -> None:
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    example = hostile.example_project(DATA / "example")
    todo = cases(example)
    pool = Pool(DATA)
    pool.start()
    valid = ("project", PIPELINE_FILE, (example / PIPELINE_FILE).read_bytes())
    baseline = [pool.run(valid) for _ in range(BASELINE_LOADS + 1)][1:]  # the first imports
    baseline_s = statistics.median(b[3] for b in baseline)
    assert all(b[0] == "accepted" for b in baseline), baseline

    columns = (
        TextColumn("[bold]hostile inputs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("inputs", total=len(todo))
        results = measure(pool, todo, lambda: progress.advance(task))
    wall = time.perf_counter() - started
    pool.stop()

    counts = Counter(r["outcome"] for r in results)
    by_group: dict[str, dict[str, int]] = {}
    for r in results:
        by_group.setdefault(r["group"], Counter())[r["outcome"]] += 1
    escapes = [
        {k: r[k] for k in ("group", "input", "error", "message")}
        for r in results
        if r["outcome"] == "escaped"
    ]
    slowest = max(r["seconds"] for r in results)
    figures = {
        "tried": len(results),
        "rejected_cleanly": counts["rejected_cleanly"],
        "accepted": counts["accepted"],
        "escaped": counts["escaped"],
        "by_group": {g: dict(c) for g, c in by_group.items()},
        "escapes": escapes[:50],
        "limit_s": LIMIT_S,
        "limit_mb": LIMIT_MB,
        "seconds": round(wall, 2),
        "inputs_per_s": round(len(results) / wall, 1),
        "slowest_input_s": round(slowest, 3),
        "largest_peak_mb": round(max(r["peak_mb"] for r in results), 1),
        "valid_project_load_s": round(baseline_s, 4),
        "slowest_vs_valid_load": round(slowest / baseline_s, 2),
    }
    for escape in escapes[:20]:
        console.print(
            f"[red]escaped[/] {escape['group']}: {escape['input']!s:.80} → "
            f"{escape['error']}: {escape['message']!s:.120}"
        )
    console.print(
        f"{figures['tried']} tried · {figures['rejected_cleanly']} rejected cleanly · "
        f"{figures['accepted']} accepted · {figures['escaped']} escaped"
    )
    print(json.dumps({"benchmark": "hostile_input", "figures": figures}))


if __name__ == "__main__":
    main()
