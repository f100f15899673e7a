"""Many ``lakesmith run`` processes on one local warehouse, as a scheduler starts them.

The harness behind the chaos tests and ``benchmarks/concurrency.py``. A swarm of runs cycles
through four kinds of writer: a table of its own (overwrite), one shared table by append, one
shared table by merge, and one shared incremental pipeline that every run of that kind starts
again (the same node, concurrently: its watermark must never be read twice). ``verify`` then
counts what a user would lose or see twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

ROWS = 40
"""Rows of each part a run writes."""
KINDS = ("own", "append", "merge", "incremental")
PROJECT_YAML = """\
schema_version: 1
name: {name}
catalog: main
warehouse: {root}/warehouse
connections:
  files: {{type: local, path: {root}/data}}
"""
INCREMENTAL = """\
name: inc
nodes:
  - name: inc_load
    inputs:
      src: {connection: files, path: "inc/*.parquet", incremental: {column: id}}
    write: {table: bronze.incremental, mode: append}
"""


@dataclass
class Swarm:
    """One warehouse and the runs to start on it."""

    root: Path
    runs: list[tuple[str, str, str]] = field(default_factory=list)
    """(kind, project, pipeline) of each run, in start order."""

    def part(self, i: int) -> pl.DataFrame:
        """The rows run ``i`` brings; merge parts overlap the next merge's by half."""
        kind = KINDS[i % len(KINDS)]
        first = i // len(KINDS) * ROWS // 2 if kind == "merge" else i * ROWS
        ids = list(range(first, first + ROWS))
        return pl.DataFrame({"id": ids, "v": [f"r{i}" for _ in ids]})

    def project(self, name: str) -> Path:
        """A project on the shared warehouse (a table has one writing node per project, so
        writers of one shared table are separate projects, as separate teams' would be)."""
        folder = self.root / "projects" / name
        if not folder.is_dir():
            (folder / "config").mkdir(parents=True)
            (folder / "pipelines").mkdir()
            (folder / "lakesmith.yaml").write_text(PROJECT_YAML.format(name=name, root=self.root))
            (folder / "config" / "local.yaml").write_text("{}\n")
        return folder


def build(root: Path, processes: int) -> Swarm:
    """The projects, pipelines and input files of ``processes`` runs."""
    swarm = Swarm(root)
    (root / "data" / "inc").mkdir(parents=True, exist_ok=True)
    (swarm.project("inc") / "pipelines" / "inc.yaml").write_text(INCREMENTAL)
    for i in range(processes):
        kind = KINDS[i % len(KINDS)]
        if kind == "incremental":
            swarm.runs.append((kind, "inc", "inc"))
            continue
        swarm.part(i).write_parquet(root / "data" / f"part_{i}.parquet")
        table, mode = {
            "own": (f"own_{i}", "mode: overwrite"),
            "append": ("appended", "mode: append"),
            "merge": ("merged", "mode: merge, keys: [id]"),
        }[kind]
        project = "own" if kind == "own" else f"{kind}_{i}"
        (swarm.project(project) / "pipelines" / f"p{i}.yaml").write_text(
            f"name: p{i}\nnodes:\n  - name: n{i}\n"
            f"    inputs:\n      src: {{connection: files, path: part_{i}.parquet}}\n"
            f"    write: {{table: bronze.{table}, {mode}}}\n"
        )
        swarm.runs.append((kind, project, f"p{i}"))
    return swarm


def arrive(swarm: Swarm, i: int) -> None:
    """Run ``i``'s incremental file lands (under a temporary name, then renamed)."""
    folder = swarm.root / "data" / "inc"
    tmp = folder / f"part_{i:04d}.parquet.tmp"
    swarm.part(i).write_parquet(tmp)
    tmp.rename(folder / f"part_{i:04d}.parquet")


def command(root: Path, pipeline: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lakesmith.cli.main",
        "run",
        "-p",
        str(root),
        "--pipeline",
        pipeline,
    ]


def environment(fault: str | None = None) -> dict[str, str]:
    """The runs' environment: this lakesmith importable, ``LAKESMITH_FAULT`` only if given."""
    env = {k: v for k, v in os.environ.items() if k != "LAKESMITH_FAULT"}
    source = str(Path(__file__).resolve().parents[2])  # the folder holding lakesmith/
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    env["LAKESMITH_LOG_FORMAT"] = "json"  # no progress bars in captured output
    if fault:
        env["LAKESMITH_FAULT"] = fault
    return env


def kill_at(
    proc: subprocess.Popen[bytes], deadline: float, *, each: Callable[[], Any] | None = None
) -> None:
    """SIGKILL ``proc`` at ``deadline`` (``time.monotonic()``) unless it ended before;
    ``each`` is called while it runs (say, to note the processes it started)."""
    while proc.poll() is None and time.monotonic() < deadline:
        if each is not None:
            each()
        time.sleep(0.005)
    if proc.poll() is None:
        if each is not None:
            each()
        proc.send_signal(signal.SIGKILL)


def doctor(project: Path, *args: str) -> dict[str, Any]:
    """``lakesmith doctor --json`` on ``project`` (extra ``args`` such as ``--fix``), parsed.

    Raises:
        AssertionError: doctor failed.
    """
    command = [sys.executable, "-m", "lakesmith.cli.main", "doctor", "-p", str(project)]
    done = subprocess.run(
        [*command, "--json", *args],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def launch(swarm: Swarm, *, in_flight: int, tick: Any = None) -> list[int]:
    """Start every run, at most ``in_flight`` at a time; their exit codes, in start order."""
    pending = list(enumerate(swarm.runs))
    running: dict[int, subprocess.Popen[bytes]] = {}
    codes: dict[int, int] = {}
    env = environment()
    while pending or running:
        while pending and len(running) < in_flight:
            i, (kind, project, pipeline) = pending.pop(0)
            if kind == "incremental":
                arrive(swarm, i)
            running[i] = subprocess.Popen(
                command(swarm.project(project), pipeline),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for i, proc in list(running.items()):
            if proc.poll() is not None:
                codes[i] = proc.returncode
                del running[i]
                if tick is not None:
                    tick()
        time.sleep(0.02)
    return [codes[i] for i in range(len(swarm.runs))]


def _ids(root: Path, table: str) -> list[int]:
    path = root / "warehouse" / "main" / "bronze" / table
    if not path.exists():
        return []
    return pl.read_delta(str(path))["id"].to_list()


def _count(expected: set[int], got: list[int]) -> tuple[int, int]:
    """(rows lost, rows duplicated or unexpected) of one table."""
    return len(expected - set(got)), len(got) - len(set(got) & expected)


def stories(root: Path) -> list[dict[str, Any]]:
    """Every saved run story of every project of the swarm."""
    found = sorted((root / "projects").glob("*/.lakesmith/stories/*/story.json"))
    return [json.loads(p.read_text()) for p in found]


def _story_versions(root: Path, saved: list[dict[str, Any]]) -> tuple[int, int]:
    """(wrong, unknown): story nodes whose table version is not the commit their run made,
    and those that could not tell it. Each commit carries its run id in its metadata."""
    from deltalake import DeltaTable

    from lakesmith.pipeline.state import RUN_KEY

    runs_by_version: dict[str, dict[int, str]] = {}
    wrong = unknown = 0
    for story in saved:
        for node in story["nodes"]:
            if node["status"] != "succeeded" or not node.get("table"):
                continue
            if node["version"] is None:
                unknown += 1
                continue
            table = node["table"].split(".")[-1]
            if table not in runs_by_version:
                log = DeltaTable(str(root / "warehouse" / "main" / "bronze" / table)).history()
                runs_by_version[table] = {int(c["version"]): c.get(RUN_KEY, "") for c in log}
            wrong += runs_by_version[table].get(node["version"]) != story["run_id"]
    return wrong, unknown


def verify(swarm: Swarm) -> dict[str, Any]:
    """What the warehouse and the run stories hold against what the runs brought."""
    lost = duplicated = 0
    shared: dict[str, set[int]] = {"appended": set(), "merged": set(), "incremental": set()}
    for i, (kind, _, _) in enumerate(swarm.runs):
        ids = set(swarm.part(i)["id"].to_list())
        if kind == "own":
            a, b = _count(ids, _ids(swarm.root, f"own_{i}"))
            lost, duplicated = lost + a, duplicated + b
        else:
            shared[{"append": "appended", "merge": "merged"}.get(kind, kind)] |= ids
    for table, ids in shared.items():
        a, b = _count(ids, _ids(swarm.root, table))
        lost, duplicated = lost + a, duplicated + b
    saved = stories(swarm.root)
    nodes = [n for s in saved for n in s["nodes"]]
    wrong, unknown = _story_versions(swarm.root, saved)
    return {
        "rows_lost": lost,
        "rows_duplicated": duplicated,
        "stories": len(saved),
        "stories_failed": sum(s["status"] != "succeeded" for s in saved),
        "conflicts_retried": sum(n["metrics"].get("conflicts_retried", 0) for n in nodes),
        "conflict_reruns": sum(n["metrics"].get("conflict_reruns", 0) for n in nodes),
        "story_versions_wrong": wrong,
        "story_versions_unknown": unknown,
        "watermark_matches_table": committed_watermark(
            swarm.project("inc"), "inc_load", "src", "bronze.incremental"
        )
        == max(shared["incremental"], default=None),
    }


def committed_watermark(project: Path, node: str, alias: str, table: str) -> Any:
    """A node input's watermark as the next run would read it."""
    from lakesmith.config import load_project
    from lakesmith.engines import default_engine
    from lakesmith.pipeline.state import WatermarkStore

    cfg = load_project(project, "local")
    store = WatermarkStore(default_engine(cfg), cfg.project.catalog)
    return store.get(node, alias, cfg.table(table))
