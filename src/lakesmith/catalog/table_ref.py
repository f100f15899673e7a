"""Table names: always ``catalog.schema.table`` once resolved."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lakesmith.errors import LakesmithError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, order=True)
class TableRef:
    """A fully qualified table name; the environment supplies a missing catalog."""

    catalog: str
    schema: str
    table: str

    @classmethod
    def parse(cls, name: str, *, default_catalog: str | None = None) -> TableRef:
        """Parse ``schema.table`` or ``catalog.schema.table`` (backticks allowed).

        Example:
            >>> TableRef.parse("silver.customers", default_catalog="dev_sales").full_name
            'dev_sales.silver.customers'
        """
        parts = [p.strip().strip("`") for p in name.split(".")]
        if len(parts) == 2 and default_catalog:
            parts = [default_catalog, *parts]
        if len(parts) != 3 or not all(_IDENT.match(p) for p in parts):
            raise LakesmithError(
                f"'{name}' is not a table name",
                hint="write schema.table or catalog.schema.table "
                "(letters, digits and underscores; the environment supplies the catalog)",
            )
        return cls(*parts)

    @staticmethod
    def is_valid(name: str) -> bool:
        parts = name.split(".")
        return len(parts) in (2, 3) and all(_IDENT.match(p.strip("`")) for p in parts)

    @property
    def full_name(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table}"

    def __str__(self) -> str:
        return self.full_name
