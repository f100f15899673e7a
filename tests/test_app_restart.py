"""A server killed mid-job: the restarted server (``lakesmith app``) lists the job as failed.

The real command runs as a subprocess; its whole process tree (server, forkserver, workers)
is killed with SIGKILL, as a machine losing power would, and a new server is started on the
same project folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from test_app_support import free_port, wait_for, wait_running_with_rows

pytest.importorskip("fastapi")

LAKESMITH = Path(sys.executable).with_name("lakesmith")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc; the test machine is Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@contextmanager
def server(project: Path) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    port = free_port()
    proc = subprocess.Popen(
        [str(LAKESMITH), "app", "--port", str(port), "--project", str(project)],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    deadline = time.monotonic() + 60
    while True:
        try:
            if client.get("/api/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"lakesmith app did not start: {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.1)
    try:
        yield proc, client
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)


def test_a_job_running_when_the_server_died_is_failed_after_restart(tmp_path: Path) -> None:
    spec = {"households": 600_000, "block_households": 50_000, "schema": "killed"}
    with server(tmp_path) as (proc, client):
        job_id = client.post("/api/generate/start", json=spec).json()["job_id"]
        assert wait_running_with_rows(client, job_id)["state"] == "running"
        tree = descendants(proc.pid)
        for pid in [proc.pid, *tree]:
            os.kill(pid, signal.SIGKILL)
        proc.wait(30)
    dataset = tmp_path / "warehouse" / "synth" / "killed"
    assert list(dataset.rglob("*.parquet"))  # the dead job left parts behind
    with server(tmp_path) as (_, client):
        status = client.get(f"/api/generate/status/{job_id}").json()
        assert status["state"] == "failed" and status["error"]["title"] == "Interrupted"
        assert job_id in [j["job_id"] for j in client.get("/api/generate/jobs").json()]
        assert not list(dataset.rglob("_delta_log")) and not list(dataset.rglob("*.parquet"))
        # and the target is free again
        small = {"households": 1_000, "schema": "killed"}
        again = client.post("/api/generate/start", json=small).json()["job_id"]
        assert wait_for(client, again)["state"] == "succeeded"
