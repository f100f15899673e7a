"""The FastAPI application and how to serve it (``lakesmith app`` and ``app.yaml``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import AppSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC = Path(__file__).parent / "static"


def create_app(settings: AppSettings) -> FastAPI:
    """The app for ``settings``: API under ``/api``, wizard pages, vendored static assets.

    The job manager starts with the app (failing jobs a dead server left running) and stops
    with it (cancelling what still runs, so no dataset is left half-written).
    """
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    from lakesmith import __version__

    from . import api, pages, problems
    from .jobs import JobManager
    from .wizard import Wizard

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = JobManager(settings)
        manager.start()
        app.state.manager = manager
        app.state.wizard = Wizard(manager.store)
        try:
            yield
        finally:
            manager.stop()

    app = FastAPI(
        title="lakesmith synthetic data",
        version=__version__,
        description="Configure, generate, watch, cancel and inspect synthetic identity-graph "
        "datasets. Errors are RFC 9457 problem details.",
        lifespan=lifespan,
    )
    problems.install(app)
    app.add_middleware(problems.BodyLimit, max_bytes=settings.max_body_bytes)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(settings: AppSettings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
