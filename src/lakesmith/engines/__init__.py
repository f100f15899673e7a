"""Engines run reads, SQL and writes; the embedded default is Polars + delta-rs + DuckDB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Engine as Engine
from .base import WriteResult as WriteResult

if TYPE_CHECKING:
    from lakesmith.config.loader import ProjectConfig


def default_engine(cfg: ProjectConfig) -> Engine:
    """The embedded engine over the project's local warehouse, in its default catalog."""
    from lakesmith.catalog.local import LocalCatalog

    from .polars_engine import PolarsEngine

    return PolarsEngine(LocalCatalog(cfg.warehouse), cfg.project.catalog)
