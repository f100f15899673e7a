"""Turn a path input plus its connection into a URI and storage options for the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from lakesmith.config import models
from lakesmith.errors import LakesmithError
from lakesmith.runtime.secrets import SecretResolver

from .azure import adls_auth_options, download


@dataclass(frozen=True)
class Location:
    uri: str
    storage_options: dict[str, str] = field(default_factory=dict, repr=False)


def locate(
    spec: models.PathInput,
    connections: dict[str, models.Connection],
    root: Path,
    secrets: SecretResolver,
) -> Location:
    """Where a path input lives. Local paths are relative to the connection, then the root."""
    uri = path_uri(spec, connections, root)
    conn = connections.get(spec.connection) if spec.connection else None
    if isinstance(conn, models.AzureAdlsConnection):
        return Location(uri, adls_storage_options(conn, secrets))
    return Location(uri)


def fetcher(
    spec: models.PathInput, connections: Mapping[str, models.Connection], secrets: SecretResolver
) -> Callable[[], bytes] | None:
    """A function downloading a path input's one file from object storage; None for a local
    file (read it from its path)."""
    conn = connections.get(spec.connection) if spec.connection else None
    if isinstance(conn, models.AzureAdlsConnection):
        return partial(download, conn, secrets, spec.path)
    return None


def path_uri(
    spec: models.PathInput, connections: Mapping[str, models.Connection], root: Path
) -> str:
    """A path input's URI (a local path or ``abfss://``) without fetching credentials.

    What code run elsewhere (a Lakeflow export, a Monte Carlo monitor) is told to read.

    Raises:
        LakesmithError: the connection holds tables, not files.
    """
    conn = connections.get(spec.connection) if spec.connection else None
    if conn is None or isinstance(conn, models.LocalConnection):
        base = root / conn.path if conn else root
        path = Path(spec.path).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    if isinstance(conn, models.AzureAdlsConnection):
        prefix = "/".join(p.strip("/") for p in (conn.path_prefix, spec.path) if p)
        return f"abfss://{conn.container}@{conn.account}.dfs.core.windows.net/{prefix}"
    raise LakesmithError(
        f"connection type '{conn.type}' holds tables, not files",
        hint="read its tables with 'table:' instead of 'path:'",
    )


def adls_storage_options(
    conn: models.AzureAdlsConnection, secrets: SecretResolver
) -> dict[str, str]:
    """object_store options (endpoint and credentials) for delta-rs/Polars on ``conn``.

    Raises:
        ConnectionFailed: the credential cannot be had; the message says why and the fix.
    """
    return {**adls_endpoint_options(conn), **adls_auth_options(conn, secrets)}


def adls_endpoint_options(conn: models.AzureAdlsConnection) -> dict[str, str]:
    """object_store options that point at a custom endpoint (http only for an emulator)."""
    if conn.endpoint is None:
        return {}
    options = {"azure_storage_endpoint": conn.endpoint.rstrip("/")}
    if conn.endpoint.startswith("http://"):
        options["allow_http"] = "true"
    return options


def spark_conf(
    connections: dict[str, models.Connection], secrets: SecretResolver
) -> dict[str, str]:
    """Session settings that let Spark read every connection's files.

    Only ADLS connections authenticated by an account key need any: identity-based auth
    (default_credential, unity_catalog) is the cluster's or Unity Catalog's business.
    """
    conf: dict[str, str] = {}
    for conn in connections.values():
        if isinstance(conn, models.AzureAdlsConnection) and isinstance(
            conn.auth, models.DirectKeyAuth | models.KeyVaultAuth
        ):
            key = adls_storage_options(conn, secrets)["account_key"]
            conf[f"fs.azure.account.key.{conn.account}.dfs.core.windows.net"] = key
    return conf
