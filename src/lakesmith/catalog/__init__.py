"""Table names and where they live."""

from .local import LocalCatalog as LocalCatalog
from .table_ref import TableRef as TableRef
