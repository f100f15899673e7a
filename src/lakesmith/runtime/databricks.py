"""The Databricks side of the runtime; imported only when running on a cluster."""

from __future__ import annotations

from typing import Any


def dbutils() -> Any:
    from databricks.sdk.runtime import dbutils as real  # only importable on Databricks

    return real


def dbutils_secret(scope: str, key: str) -> str | None:
    try:
        return dbutils().secrets.get(scope=scope, key=key)
    except Exception:  # a missing scope or key: let the caller try the next provider
        return None
