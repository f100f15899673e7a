"""The naming policy for generated Databricks resources, in one place.

A resource is named ``{domain}_{source}_{layer}_{asset}``; its tables live in catalog
``{catalog_prefix}{domain}`` (the prefix comes from the bundle target: ``dev_`` in dev, nothing
in prod) and schema ``{source}``. Domain and source are single words (no ``_``) so a resource
name splits back into its parts without guessing; the asset may contain ``_``.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

WORD = r"^[a-z][a-z0-9]*$"
ASSET = r"^[a-z][a-z0-9_]*[a-z0-9]$|^[a-z]$"
PACKAGE = r"^[a-z][a-z0-9_]*$"
PROJECT = r"^[a-z][a-z0-9-]*[a-z0-9]$"
CATALOG = r"^[a-z][a-z0-9_]*$"

Layer = Literal["raw", "base", "staging", "final", "bronze", "silver", "gold"]
LAYERS: tuple[str, ...] = get_args(Layer)
MONOREPO_LAYERS: tuple[str, ...] = ("raw", "base", "staging", "final")
MEDALLION_LAYERS: tuple[str, ...] = ("bronze", "silver", "gold")

CATALOG_PREFIX_VAR = "catalog_prefix"
CATALOG_PREFIX_REF = "${var." + CATALOG_PREFIX_VAR + "}"

WORD_HINT = "one lower-case word: letters and digits, starting with a letter (no '_' or '-')"
ASSET_HINT = "lower-case letters, digits and '_', starting with a letter"

_RESOURCE = re.compile(
    r"^(?P<domain>[a-z][a-z0-9]*)_(?P<source>[a-z][a-z0-9]*)_(?P<layer>"
    + "|".join(LAYERS)
    + r")_(?P<asset>[a-z][a-z0-9_]*)$"
)


def resource_name(domain: str, source: str, layer: str, asset: str) -> str:
    """``{domain}_{source}_{layer}_{asset}``: the resource key and the job/pipeline name.

    >>> resource_name("sales", "crm", "gold", "orders")
    'sales_crm_gold_orders'
    """
    return f"{domain}_{source}_{layer}_{asset}"


def split_resource_name(name: str) -> tuple[str, str, str, str] | None:
    """The (domain, source, layer, asset) a policy-conforming name encodes, else None.

    >>> split_resource_name("sales_crm_gold_daily_orders")
    ('sales', 'crm', 'gold', 'daily_orders')
    """
    match = _RESOURCE.match(name)
    if match is None:
        return None
    return match["domain"], match["source"], match["layer"], match["asset"]


def catalog_for(domain: str) -> str:
    """The catalog a domain's resources use, as written in a bundle (the target adds a prefix).

    >>> catalog_for("sales")
    '${var.catalog_prefix}sales'
    """
    return f"{CATALOG_PREFIX_REF}{domain}"


def schema_for(source: str) -> str:
    """The schema a source's resources use: the source itself."""
    return source
