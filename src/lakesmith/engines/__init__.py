"""Engines run reads, SQL and writes; the embedded default is Polars + delta-rs + DuckDB."""

from .base import Engine as Engine
from .base import WriteResult as WriteResult
