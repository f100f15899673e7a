"""Helpers for the app tests: a live uvicorn server on 127.0.0.1 and a fake Databricks workspace.

No tests here; the ``test_app_*`` modules import these. The server is the real app object
served by uvicorn in a thread, so requests cross a real socket (httpx), and the fake
workspace is a real HTTP server that databricks-sdk talks to unmodified.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from lakesmith.app.settings import AppSettings

ACTIVE = ("queued", "running")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(settings: AppSettings) -> Iterator[httpx.Client]:
    """Serve the app for ``settings`` on a free port; yield a client bound to it."""
    import uvicorn

    from lakesmith.app.server import create_app

    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app server did not start")
        time.sleep(0.02)
    with httpx.Client(base_url=f"http://127.0.0.1:{config.port}", timeout=60) as client:
        try:
            yield client
        finally:
            server.should_exit = True
            thread.join(60)


def settings_for(tmp: Path, **options: Any) -> AppSettings:
    return AppSettings(warehouse=tmp / "warehouse", state_dir=tmp / ".lakesmith" / "app", **options)


def wait_for(
    client: httpx.Client,
    job_id: str,
    *,
    until: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
    timeout: float = 120,
) -> dict[str, Any]:
    """Poll a job's status until its state is one of ``until``; return that status."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/generate/status/{job_id}").json()
        if status["state"] in until:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {status['state']} after {timeout}s")
        time.sleep(0.05)


def wait_running_with_rows(client: httpx.Client, job_id: str, timeout: float = 60) -> dict:
    """Poll until the job has reported at least one finished block."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/generate/status/{job_id}").json()
        if status["blocks_done"] >= 1 or status["state"] not in ACTIVE:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} made no progress in {timeout}s")
        time.sleep(0.05)


# --------------------------------------------------------------------------- fake Databricks


class FakeWorkspace:
    """The few Unity Catalog and SCIM endpoints the permission check calls, on 127.0.0.1.

    ``grants`` maps ``catalog.schema`` to ``{principal: [privilege, ...]}`` (as the
    effective-permissions endpoint returns them); ``users`` maps a bearer token to
    ``(user name, groups)``; ``requests`` records (method, path, token) for assertions.
    """

    def __init__(self) -> None:
        self.grants: dict[str, dict[str, list[str]]] = {}
        self.owners: dict[str, str] = {}
        self.users: dict[str, tuple[str, list[str]]] = {}
        self.requests: list[tuple[str, str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                path = self.path.split("?")[0]
                fake.requests.append(("GET", path, token))
                if path == "/.well-known/databricks-config":
                    self._send(200, {})
                    return
                if token not in fake.users:
                    self._send(401, {"error_code": "UNAUTHENTICATED", "message": "bad token"})
                    return
                user, groups = fake.users[token]
                if path == "/api/2.0/preview/scim/v2/Me":
                    self._send(
                        200,
                        {"userName": user, "id": "1", "groups": [{"display": g} for g in groups]},
                    )
                    return
                prefix_schema = "/api/2.1/unity-catalog/schemas/"
                prefix_grants = "/api/2.1/unity-catalog/effective-permissions/schema/"
                if path.startswith(prefix_schema):
                    name = path.removeprefix(prefix_schema)
                    if name not in fake.grants:
                        self._send(
                            404,
                            {"error_code": "SCHEMA_DOES_NOT_EXIST", "message": f"{name} missing"},
                        )
                        return
                    self._send(200, {"full_name": name, "owner": fake.owners.get(name, "admins")})
                    return
                if path.startswith(prefix_grants):
                    name = path.removeprefix(prefix_grants)
                    assignments = [
                        {
                            "principal": principal,
                            "privileges": [
                                {
                                    "privilege": p,
                                    "inherited_from_type": "CATALOG",
                                    "inherited_from_name": name.split(".")[0],
                                }
                                if p == "USE_CATALOG"
                                else {"privilege": p}
                                for p in privileges
                            ],
                        }
                        for principal, privileges in fake.grants.get(name, {}).items()
                    ]
                    self._send(200, {"privilege_assignments": assignments})
                    return
                self._send(404, {"error_code": "NOT_FOUND", "message": path})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeWorkspace:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
