"""Engines run reads, SQL and writes; the embedded default is Polars + delta-rs + DuckDB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Engine as Engine
from .base import WriteResult as WriteResult

if TYPE_CHECKING:
    from lakesmith.config.loader import ProjectConfig
    from lakesmith.config.models import EngineName
    from lakesmith.runtime.secrets import SecretResolver


def default_engine(
    cfg: ProjectConfig, *, name: EngineName | None = None, secrets: SecretResolver | None = None
) -> Engine:
    """The project's engine (``engine:`` in lakesmith.yaml, or ``name``) in its default catalog.

    Args:
        cfg: the loaded project.
        name: overrides the project's engine (``lakesmith run --engine``).
        secrets: resolves connection secrets: storage keys of tables on ADLS, and the
            settings the Spark engine sets on its session.

    Raises:
        MissingDependency: the spark engine without pyspark installed.
    """
    from lakesmith.catalog.project import project_catalog

    if (name or cfg.project.engine) == "spark":
        from .spark_engine import SparkEngine

        return SparkEngine.start(cfg, secrets=secrets)
    from .polars_engine import PolarsEngine

    duck = cfg.project.duckdb
    settings = {"temp_directory": str(cfg.root / duck.temp_directory)}
    if duck.memory_limit is not None:
        settings["memory_limit"] = duck.memory_limit
    return PolarsEngine(project_catalog(cfg, secrets), cfg.project.catalog, duckdb=settings)
