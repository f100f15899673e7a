"""Where am I running: a laptop or a Databricks cluster."""

from __future__ import annotations

import os
from typing import Literal

Platform = Literal["local", "databricks"]


def platform() -> Platform:
    """Databricks sets DATABRICKS_RUNTIME_VERSION on every cluster and serverless compute."""
    return "databricks" if os.environ.get("DATABRICKS_RUNTIME_VERSION") else "local"


def is_databricks() -> bool:
    return platform() == "databricks"
