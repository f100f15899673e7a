"""``lakesmith app``: serve the synthetic-data wizard and REST API (FastAPI, imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .output import EXIT_CONFIG, console, print_error


def serve_app(
    host: Annotated[str, typer.Option(help="address to bind (0.0.0.0 inside a Databricks App)")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option(envvar="DATABRICKS_APP_PORT", help="port (a Databricks App sets it)")
    ] = 8000,
    project: Annotated[
        Path, typer.Option("--project", "-p", help="project folder (job records go under it)")
    ] = Path(),
    env: Annotated[str, typer.Option("--env", "-e", help="environment overlay")] = "local",
    warehouse: Annotated[
        Path | None,
        typer.Option(envvar="LAKESMITH_WAREHOUSE", help="warehouse folder (default: project's)"),
    ] = None,
    max_running: Annotated[int, typer.Option(min=1, help="jobs generating at once")] = 1,
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes per job (default: CPU count)")
    ] = None,
) -> None:
    """Serve the synthetic-data wizard and its REST API (docs at /docs)."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:  # the `app` extra is not installed
        print_error(exc)
        console.print("install it with: pip install 'lakesmith[app]'")
        raise typer.Exit(EXIT_CONFIG) from None
    from lakesmith.app.server import serve
    from lakesmith.app.settings import AppSettings
    from lakesmith.errors import LakesmithError

    try:
        settings = AppSettings.for_project(
            project, env=env, warehouse=warehouse, max_running=max_running, workers=workers
        )
    except LakesmithError as exc:
        print_error(exc)
        raise typer.Exit(EXIT_CONFIG) from None
    console.print(f"lakesmith app on http://{host}:{port}/ · warehouse {settings.warehouse}")
    serve(settings, host=host, port=port)
