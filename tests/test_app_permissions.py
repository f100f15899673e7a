"""Permission checks: the local warehouse, and Unity Catalog through databricks-sdk.

The Databricks path runs the real SDK against a fake of the REST endpoints on 127.0.0.1
(``FakeWorkspace``): no patching. The app uses the caller's ``X-Forwarded-Access-Token``
when the Databricks Apps proxy sends one, and its own identity otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from test_app_support import FakeWorkspace, live_server, settings_for, wait_for

pytest.importorskip("databricks.sdk")

from lakesmith.app.permissions import (
    PermissionsUnavailable,
    check_local,
    check_unity_catalog,
    workspace_client,
)

FULL = ["USE_CATALOG", "USE_SCHEMA", "CREATE_TABLE", "MODIFY"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWorkspace]:
    with FakeWorkspace() as ws:
        ws.users = {
            "alice-token": ("alice@example.com", ["analysts"]),
            "bob-token": ("bob@example.com", []),
            "carol-token": ("carol@example.com", []),
            "app-token": ("lakesmith-app", []),
        }
        ws.grants = {
            "synth.granted": {"alice@example.com": FULL, "lakesmith-app": FULL},
            "synth.by_group": {"analysts": ["ALL_PRIVILEGES"], "account users": ["USE_CATALOG"]},
            "synth.read_only": {"bob@example.com": ["USE_CATALOG", "USE_SCHEMA", "SELECT"]},
            "synth.owned": {},
        }
        ws.owners = {"synth.owned": "carol@example.com"}
        yield ws


def check(fake: FakeWorkspace, token: str, schema: str):
    return check_unity_catalog(workspace_client(fake.url, token), "synth", schema)


def test_all_required_privileges_granted(fake: FakeWorkspace) -> None:
    report = check(fake, "alice-token", "granted")
    assert report.writable and report.principal == "alice@example.com"
    assert report.kind == "unity_catalog" and report.missing == []


def test_privileges_through_a_group(fake: FakeWorkspace) -> None:
    assert check(fake, "alice-token", "by_group").writable
    report = check(fake, "bob-token", "by_group")  # only account users' USE_CATALOG
    assert not report.writable and report.missing == ["USE_SCHEMA", "CREATE_TABLE", "MODIFY"]


def test_missing_privileges_are_named(fake: FakeWorkspace) -> None:
    report = check(fake, "bob-token", "read_only")
    assert not report.writable and report.missing == ["CREATE_TABLE", "MODIFY"]
    assert "grant CREATE_TABLE, MODIFY on synth.read_only to bob@example.com" in report.detail


def test_owner_may_write(fake: FakeWorkspace) -> None:
    assert check(fake, "carol-token", "owned").writable
    assert not check(fake, "bob-token", "owned").writable


def test_missing_schema(fake: FakeWorkspace) -> None:
    report = check(fake, "alice-token", "nowhere")
    assert not report.writable and "does not exist" in report.detail


def test_rejected_token_is_unavailable(fake: FakeWorkspace) -> None:
    with pytest.raises(PermissionsUnavailable, match=r"synth\.granted"):
        check(fake, "stolen-token", "granted")


def test_local_folder(tmp_path: Path) -> None:
    assert check_local(tmp_path / "not" / "yet" / "made").writable
    (tmp_path / "file").write_text("x")
    report = check_local(tmp_path / "file" / "schema")
    assert not report.writable and report.kind == "local"


def test_api_uses_the_callers_token_then_the_apps(fake: FakeWorkspace, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, databricks_host=fake.url, databricks_token="app-token")
    with live_server(settings) as client:
        fake.requests.clear()
        params = {"catalog": "synth", "schema": "read_only"}
        as_bob = client.get(
            "/api/permissions", params=params, headers={"X-Forwarded-Access-Token": "bob-token"}
        )
        assert as_bob.json()["principal"] == "bob@example.com"
        assert as_bob.json()["missing"] == ["CREATE_TABLE", "MODIFY"]
        assert {token for _, _, token in fake.requests if token} == {"bob-token"}
        as_app = client.get("/api/permissions", params={"catalog": "synth", "schema": "granted"})
        assert as_app.json()["principal"] == "lakesmith-app" and as_app.json()["writable"]
        spec = {"households": 1_000, "catalog": "synth", "schema": "read_only"}
        refused = client.post(
            "/api/generate/start", json=spec, headers={"X-Forwarded-Access-Token": "bob-token"}
        )
        assert refused.status_code == 403
        assert "bob@example.com cannot write synth.read_only" in refused.json()["detail"]
        unavailable = client.post(
            "/api/generate/start", json=spec, headers={"X-Forwarded-Access-Token": "stolen"}
        )
        assert unavailable.status_code == 503
        assert unavailable.headers["content-type"].startswith("application/problem+json")
        allowed = client.post(
            "/api/generate/start",
            json={**spec, "schema": "granted"},
            headers={"X-Forwarded-Access-Token": "alice-token"},
        )
        assert allowed.status_code == 202
        assert wait_for(client, allowed.json()["job_id"])["state"] == "succeeded"


def test_unreachable_workspace_is_503(tmp_path: Path) -> None:
    from test_app_support import free_port

    host = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(tmp_path, databricks_host=host, databricks_timeout_s=1)
    with live_server(settings) as client:
        response = client.get(
            "/api/permissions",
            params={"catalog": "synth", "schema": "s"},
            headers={"X-Forwarded-Access-Token": "t"},
        )
    assert response.status_code == 503, response.text
    assert "could not check privileges on synth.s" in response.json()["detail"]
