"""How an ADLS connection authenticates: object_store options for delta-rs/Polars, and a
blob client (azure-storage-blob) for the one cheap call of eager validation."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from lakesmith.config import models
from lakesmith.errors import ConnectionFailed, MissingDependency
from lakesmith.runtime.detect import is_databricks
from lakesmith.runtime.secrets import SecretResolver

# The storage SDK's defaults retry for minutes; validation must answer in seconds.
BLOB_CLIENT_DEFAULTS: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 15}


def account_key(conn: models.AzureAdlsConnection, secrets: SecretResolver) -> str | None:
    """The account key of a key-based connection (registered for redaction); None otherwise."""
    auth = conn.auth
    if isinstance(auth, models.DirectKeyAuth):
        return secrets.resolve(auth.account_key)
    if isinstance(auth, models.KeyVaultAuth):
        from .keyvault import fetch_secret

        return secrets.remember(fetch_secret(auth.vault, auth.secret))
    return None


def adls_auth_options(
    conn: models.AzureAdlsConnection,
    secrets: SecretResolver,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """object_store credential options for ``conn``.

    Raises:
        ConnectionFailed: the key cannot be fetched, or unity_catalog auth off Databricks.
    """
    key = account_key(conn, secrets)
    if key is not None:
        return {"account_name": conn.account, "account_key": key}
    if isinstance(conn.auth, models.DefaultCredentialAuth):
        return {"account_name": conn.account, **oauth_options(secrets, environ)}
    return unity_catalog_local(conn)


def oauth_options(
    secrets: SecretResolver, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """object_store's own token providers, chosen like DefaultAzureCredential chooses.

    object_store refreshes these tokens itself, so long runs outlive a token's hour: a service
    principal from AZURE_CLIENT_ID/SECRET/TENANT_ID, workload identity from
    AZURE_FEDERATED_TOKEN_FILE, a managed identity from IDENTITY_ENDPOINT/MSI_ENDPOINT, and
    otherwise the Azure CLI login.

    Example:
        >>> oauth_options(SecretResolver(environ={}), environ={})
        {'azure_use_azure_cli': 'true'}
    """
    env = os.environ if environ is None else environ
    client, tenant = env.get("AZURE_CLIENT_ID"), env.get("AZURE_TENANT_ID")
    ids = {"azure_client_id": client or "", "azure_tenant_id": tenant or ""}
    if client and tenant and env.get("AZURE_CLIENT_SECRET"):
        return {**ids, "azure_client_secret": secrets.remember(env["AZURE_CLIENT_SECRET"])}
    if client and tenant and env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return {**ids, "azure_federated_token_file": env["AZURE_FEDERATED_TOKEN_FILE"]}
    endpoint = env.get("IDENTITY_ENDPOINT") or env.get("MSI_ENDPOINT")
    if endpoint:
        return {"azure_msi_endpoint": endpoint} | ({"azure_client_id": client} if client else {})
    return {"azure_use_azure_cli": "true"}


def unity_catalog_local(conn: models.AzureAdlsConnection) -> dict[str, str]:
    """No options on Databricks (Unity Catalog governs the path); an error anywhere else."""
    if is_databricks():
        return {}
    raise ConnectionFailed(
        f"auth unity_catalog works only on Databricks (storage account '{conn.account}', "
        "governed by a Unity Catalog external location); this run is local",
        kind="not_on_databricks",
        hint="for laptop runs override the connection's auth in config/local.yaml: "
        "{type: default_credential} after `az login`, or {type: key_vault, vault: ..., "
        "secret: ...}",
    )


def container_client(conn: models.AzureAdlsConnection, secrets: SecretResolver) -> Any:
    """An azure-storage-blob ContainerClient with the connection's endpoint and credential.

    Raises:
        ConnectionFailed: as ``adls_auth_options``.
        MissingDependency: the azure extra is not installed.
    """
    try:
        from azure.storage.blob import ContainerClient, LinearRetry
    except ImportError as exc:
        raise MissingDependency("checking ADLS connections", "azure") from exc
    from .identity import azure_credential

    key = account_key(conn, secrets)
    if key is not None:
        credential: Any = {"account_name": conn.account, "account_key": key}
    elif isinstance(conn.auth, models.DefaultCredentialAuth):
        credential = azure_credential()
    else:
        unity_catalog_local(conn)
        credential = None
    url = (conn.endpoint or f"https://{conn.account}.blob.core.windows.net").rstrip("/")
    return ContainerClient(
        url,
        conn.container,
        credential=credential,
        retry_policy=LinearRetry(backoff=1, random_jitter_range=0, retry_total=1),
        **BLOB_CLIENT_DEFAULTS,
    )


def download(conn: models.AzureAdlsConnection, secrets: SecretResolver, path: str) -> bytes:
    """The bytes of one file under the connection (``path`` below its ``path_prefix``), for
    readers that need the raw records rather than a parsed frame.

    Raises:
        ConnectionFailed: the file or container is missing, or the credential is refused;
            the message names the file and says how to fix it.
    """
    from .azure_errors import storage_error

    blob = "/".join(p.strip("/") for p in (conn.path_prefix, path) if p)
    client = container_client(conn, secrets)
    try:
        return client.download_blob(blob).readall()
    except Exception as exc:
        if getattr(exc, "error_code", None) == "BlobNotFound":
            raise ConnectionFailed(
                f"file '{blob}' does not exist in container '{conn.container}' of storage "
                f"account '{conn.account}'",
                kind="file_missing",
                hint="check the input's path (relative to the connection's path_prefix)",
            ) from exc
        raise storage_error(exc, conn) from exc
