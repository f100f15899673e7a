"""How one app server is set up: where data lands, where job records live, how much runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

STATE_SUBDIR = Path(".lakesmith") / "app"
"""Job records and wizard sessions, inside the project's state folder."""


@dataclass(frozen=True)
class AppSettings:
    """Everything the app reads at start; nothing is read from the environment later.

    Attributes:
        warehouse: local warehouse root (datasets land in ``<warehouse>/<catalog>/<schema>``).
        state_dir: folder of the SQLite job store.
        max_running: jobs generating at once (one saturates two cores); 0 accepts and
            queues jobs without running any (a paused server, e.g. while draining).
        max_queued: jobs waiting beyond those; one more is refused with 429.
        workers: worker processes per job (default: the CPU count, at most one per block).
        max_body_bytes: request bodies above this are refused with 413.
        databricks_host: when set, permissions are checked in Unity Catalog through
            databricks-sdk (with the caller's ``X-Forwarded-Access-Token`` when present).
        databricks_token: the app's own token for that check; None lets the SDK find the
            app's identity (a Databricks App's service principal) in the environment.
        databricks_timeout_s: HTTP and retry timeout of that check; an unreachable workspace
            answers 503 after about three times this.
    """

    warehouse: Path
    state_dir: Path
    max_running: int = 1
    max_queued: int = 8
    workers: int | None = None
    max_body_bytes: int = 64 * 1024
    databricks_host: str | None = None
    databricks_token: str | None = field(default=None, repr=False)
    databricks_timeout_s: int = 10

    @classmethod
    def for_project(
        cls,
        project: Path,
        *,
        env: str = "local",
        warehouse: Path | None = None,
        max_running: int = 1,
        workers: int | None = None,
    ) -> AppSettings:
        """Settings for the project at or above ``project`` (or a bare folder without one).

        Without a ``lakesmith.yaml`` the warehouse is ``./warehouse``, like
        ``lakesmith synth generate``. Inside a Databricks App (``DATABRICKS_APP_NAME`` is
        set) permissions are checked against ``DATABRICKS_HOST``.
        """
        from lakesmith.config import load_project
        from lakesmith.errors import ProjectNotFound

        root = project.resolve()
        try:
            cfg = load_project(root, env)
            root = cfg.root
            default_warehouse = cfg.warehouse
        except ProjectNotFound:
            default_warehouse = root / "warehouse"
        on_databricks = bool(os.environ.get("DATABRICKS_APP_NAME"))
        return cls(
            warehouse=(warehouse or default_warehouse).resolve(),
            state_dir=root / STATE_SUBDIR,
            max_running=max_running,
            workers=workers,
            databricks_host=os.environ.get("DATABRICKS_HOST") if on_databricks else None,
        )
