"""What users write: the project file, environment overlays and pipeline files.

Every model forbids unknown keys so a typo is an error, not a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
    model_validator,
)

from lakesmith.quality.rules import Rule

from .montecarlo import MonteCarlo
from .observability import Observability
from .streaming import AutoCdc, Expectation, NodeKind, StreamSource, Trigger

FileFormat = Literal["csv", "json", "parquet", "delta"]
FILE_FORMATS: tuple[str, ...] = get_args(FileFormat)
WriteModeName = Literal["overwrite", "append", "replace_where", "merge", "scd2"]
WRITE_MODES: tuple[str, ...] = get_args(WriteModeName)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """``{secret: scope/key}``: resolved at run time by the runtime, never stored in config."""

    secret: str = Field(pattern=r"^[^/\s]+/[^/\s]+$", description="scope/key")

    @property
    def scope(self) -> str:
        return self.secret.split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.secret.split("/", 1)[1]


def _secret_kind(value: Any) -> str:
    return "ref" if isinstance(value, dict | SecretRef) else "literal"


# A mapping is a reference, anything else a literal: errors then speak about the one meant.
SecretValue = Annotated[
    Annotated[SecretRef, Tag("ref")] | Annotated[SecretStr, Tag("literal")],
    Discriminator(_secret_kind),
]


# --- connections ---------------------------------------------------------------------------


class LocalConnection(Strict):
    """Files on this machine; relative paths are relative to the project root."""

    type: Literal["local"]
    path: str = "."


class KeyVaultAuth(Strict):
    type: Literal["key_vault"] = "key_vault"
    vault: str = Field(description="vault name or https URL")
    secret: str = Field(description="name of the secret that holds the storage account key")


class DirectKeyAuth(Strict):
    type: Literal["direct_key"]
    account_key: SecretValue


class DefaultCredentialAuth(Strict):
    type: Literal["default_credential"]


class UnityCatalogAuth(Strict):
    type: Literal["unity_catalog"]


AdlsAuth = Annotated[
    KeyVaultAuth | DirectKeyAuth | DefaultCredentialAuth | UnityCatalogAuth,
    Field(discriminator="type"),
]


class AzureAdlsConnection(Strict):
    """ADLS Gen2 (``abfss://``); the key never appears in logs or stories."""

    type: Literal["azure_adls"]
    account: str = Field(pattern=r"^[a-z0-9]{3,24}$")
    container: str
    path_prefix: str = ""
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="blob endpoint other than the public cloud's: the Azurite emulator "
        "(http://127.0.0.1:10000/<account>), a sovereign cloud or a private endpoint",
    )
    auth: AdlsAuth = Field(default_factory=lambda: KeyVaultAuth(vault="", secret=""))

    @model_validator(mode="after")
    def _auth_complete(self) -> AzureAdlsConnection:
        if isinstance(self.auth, KeyVaultAuth) and not (self.auth.vault and self.auth.secret):
            raise ValueError("auth key_vault needs 'vault' and 'secret'")
        return self


class UnityCatalogConnection(Strict):
    """Tables governed by Unity Catalog on Databricks; the local warehouse stands in locally."""

    type: Literal["unity_catalog"]
    catalog: str | None = None


Connection = Annotated[
    LocalConnection | AzureAdlsConnection | UnityCatalogConnection,
    Field(discriminator="type"),
]

STORAGE_CONNECTIONS = (LocalConnection, AzureAdlsConnection)
"""Connection types that hold folders, so tables can live on them."""


class ConnectionPath(Strict):
    """A folder on a connection, ``{connection: lake, path: warehouse}``: tables on ADLS."""

    connection: str = Field(min_length=1)
    path: str = Field(default="", description="folder under the connection's path_prefix")


def _folder_kind(value: Any) -> str:
    return "connection" if isinstance(value, dict | ConnectionPath) else "folder"


# A string is a local folder (project-relative), a mapping a folder on a connection.
TableStorage = Annotated[
    Annotated[str, Tag("folder")] | Annotated[ConnectionPath, Tag("connection")],
    Discriminator(_folder_kind),
]
CatalogName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


# --- project -------------------------------------------------------------------------------

EngineName = Literal["polars", "spark"]
ENGINES: tuple[str, ...] = get_args(EngineName)
SparkConfValue = str | int | float | bool


class SparkSettings(Strict):
    """How the spark engine gets its session; read only when the engine is spark.

    On a Databricks cluster the running session is always used. Elsewhere ``auto`` and
    ``local`` start Spark in local mode on this machine; ``connect`` opens a Databricks
    Connect session (databricks-connect replaces pyspark in the environment).
    """

    session: Literal["auto", "local", "connect"] = "auto"
    master: str = Field(default="local[*]", description="local mode only, e.g. local[4]")
    profile: str | None = Field(default=None, description="connect only: ~/.databrickscfg profile")
    serverless: bool = Field(default=False, description="connect only: serverless compute")
    conf: dict[str, SparkConfValue] = Field(
        default_factory=dict,
        description="Spark settings; static ones (spark.driver.*) apply only in local mode",
    )


class DuckDbSettings(Strict):
    """``duckdb:``: the DuckDB each SQL node of the embedded engine runs its query in.

    Each SQL node has its own DuckDB, so ``memory_limit`` holds per node (``max_workers``
    nodes may run at once). Past it DuckDB spills joins, aggregates and sorts to
    ``temp_directory`` instead of failing; a query whose state cannot spill fails with
    DuckDB's out-of-memory error.
    """

    memory_limit: str | None = Field(
        default=None,
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="per SQL node, e.g. 2GB (default: DuckDB's, 80% of the machine's memory)",
    )
    temp_directory: str = Field(
        default=".lakesmith/tmp",
        min_length=1,
        description="where SQL nodes spill, relative to the project folder",
    )


class LlmSettings(Strict):
    """``llm:``: an OpenAI-compatible chat endpoint agents may use to improve their results.

    Databricks model serving (``https://<workspace>/serving-endpoints``), Ollama
    (``http://localhost:11434/v1``) and vLLM all speak this API. ``LAKESMITH_LLM_*``
    environment variables override each field; with neither, agents stay deterministic.
    """

    base_url: str = Field(pattern=r"^https?://\S+$", description="the API root, e.g. .../v1")
    model: str = Field(min_length=1, description="model or serving endpoint name")
    api_key: SecretValue | None = Field(
        default=None, description="{secret: scope/key}; none for a local server without auth"
    )
    timeout_s: float = Field(default=60, gt=0, le=300, description="one request, at most")
    max_retries: int = Field(default=2, ge=0, le=10, description="after a timeout, 429 or 5xx")


class Project(Strict):
    """``lakesmith.yaml`` after the environment overlay is merged in."""

    schema_version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    engine: EngineName = "polars"
    spark: SparkSettings = Field(default_factory=SparkSettings)
    duckdb: DuckDbSettings = Field(default_factory=DuckDbSettings)
    catalog: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="default catalog")
    warehouse: TableStorage = Field(
        default="warehouse",
        description="where tables live, <warehouse>/<catalog>/<schema>/<table>: a local folder "
        "or {connection: NAME, path: FOLDER}",
    )
    catalogs: dict[CatalogName, TableStorage] = Field(
        default_factory=dict,
        description="catalogs kept elsewhere than the warehouse: <location>/<schema>/<table>",
    )
    pipelines: list[str] = Field(default_factory=lambda: ["pipelines/*.yaml"])
    connections: dict[str, Connection] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    max_workers: int = Field(default=4, ge=1, le=64)
    stories: str = ".lakesmith/stories"
    sample_rows: int = Field(default=5, ge=0, le=100)
    observability: Observability = Field(
        default_factory=Observability, description="where run events go: logs, OpenLineage"
    )
    montecarlo: MonteCarlo | None = Field(default=None, description="Monte Carlo monitors")
    llm: LlmSettings | None = None


# --- pipelines -----------------------------------------------------------------------------


class Incremental(Strict):
    """Read only rows whose ``column`` is above the last committed watermark."""

    column: str


class TableInput(Strict):
    table: str
    incremental: Incremental | None = None

    @field_validator("table")
    @classmethod
    def _name(cls, value: str) -> str:
        from lakesmith.catalog.table_ref import TableRef

        if not TableRef.is_valid(value):
            raise ValueError(f"'{value}' is not schema.table or catalog.schema.table")
        return value


class PathInput(Strict):
    path: str
    format: FileFormat | None = None
    connection: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    incremental: Incremental | None = None
    on_bad_records: Literal["fail", "quarantine"] = Field(
        default="fail",
        description="fail: a bad record fails the read; quarantine (CSV and JSON lines on the "
        "embedded engine): records with invalid UTF-8, the wrong number of fields, broken JSON "
        "or a value that does not fit its column go to <table>_bad_records with file, line, "
        "raw text and reason, and the good rows are written",
    )


InputSpec = TableInput | PathInput


def _input_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "table" if "table" in value else "path"
    if isinstance(value, TableInput | PathInput):
        return "table" if isinstance(value, TableInput) else "path"
    return "name"


InputEntry = Annotated[
    Annotated[str, Tag("name")]
    | Annotated[TableInput, Tag("table")]
    | Annotated[PathInput, Tag("path")],
    Discriminator(_input_kind),
]


class SqlTransform(Strict):
    sql: str | None = None
    sql_file: str | None = None

    @model_validator(mode="after")
    def _one(self) -> SqlTransform:
        if bool(self.sql) == bool(self.sql_file):
            raise ValueError("give exactly one of 'sql' or 'sql_file'")
        return self


class PythonTransform(Strict):
    python: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", description="module:function")
    params: dict[str, Any] = Field(default_factory=dict)


def _transform_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "python" if "python" in value else "sql"
    return "python" if isinstance(value, PythonTransform) else "sql"


Transform = Annotated[
    Annotated[SqlTransform, Tag("sql")] | Annotated[PythonTransform, Tag("python")],
    Discriminator(_transform_kind),
]


class _Write(Strict):
    table: str
    partition_by: list[str] = Field(default_factory=list)
    schema_evolution: bool = Field(
        default=False, description="allow new columns (Delta mergeSchema) on append/merge"
    )

    @field_validator("table")
    @classmethod
    def _name(cls, value: str) -> str:
        return TableInput._name(value)


class OverwriteWrite(_Write):
    mode: Literal["overwrite"]


class AppendWrite(_Write):
    mode: Literal["append"]


class ReplaceWhereWrite(_Write):
    mode: Literal["replace_where"]
    predicate: str = Field(min_length=1, description="SQL predicate; rows outside it stay")


class MergeWrite(_Write):
    mode: Literal["merge"]
    keys: list[str] = Field(min_length=1)
    update_condition: str | None = None
    insert_condition: str | None = None
    delete_condition: str | None = None
    delete_unmatched: bool = Field(
        default=False, description="delete target rows missing from the source"
    )


class Scd2Write(_Write):
    mode: Literal["scd2"]
    keys: list[str] = Field(min_length=1)
    tracked_columns: list[str] | None = Field(
        default=None, description="columns whose change opens a new version; default all"
    )
    effective_column: str | None = Field(
        default=None, description="source column with the change time; default the run start"
    )
    valid_from: str = "valid_from"
    valid_to: str = "valid_to"
    is_current: str = "is_current"


WriteSpec = Annotated[
    OverwriteWrite | AppendWrite | ReplaceWhereWrite | MergeWrite | Scd2Write,
    Field(discriminator="mode"),
]


class NodeQuality(Strict):
    """Rules checked on a node's output before it is written."""

    rules: list[Rule] | None = None
    rules_file: str | None = Field(default=None, description="a rules YAML, project-relative")
    on_error: Literal["fail", "warn", "quarantine"] = Field(
        default="fail",
        description="fail: write nothing; warn: write all rows; quarantine: failing rows go to "
        "<table>_quarantine with the rules they broke",
    )

    @model_validator(mode="after")
    def _one(self) -> NodeQuality:
        if bool(self.rules) == bool(self.rules_file):
            raise ValueError("give exactly one of 'rules' or 'rules_file'")
        return self


class Node(Strict):
    """read -> transform -> (quality) -> write; one output table per node.

    A ``materialized_view`` (the default) is recomputed from its inputs on every run; a
    ``streaming_table`` processes only what is new in its ``source``, exactly once. A
    ``view`` is recomputed too: locally it is stored like a materialized view (Delta has
    no views); Lakeflow publishes it as a view.
    """

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    kind: NodeKind = "materialized_view"
    description: str = ""
    inputs: dict[str, InputEntry] = Field(default_factory=dict)
    transform: Transform | None = None
    write: WriteSpec
    depends_on: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    retries: int = Field(default=0, ge=0, le=10)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    sensitive: list[str] = Field(
        default_factory=list, description="columns redacted in story samples"
    )
    quality: NodeQuality | None = None
    source: StreamSource | None = Field(
        default=None, description="streaming tables: the stream, available as input 'source'"
    )
    auto_cdc: AutoCdc | None = None
    expectations: list[Expectation] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _streaming_appends(cls, data: Any) -> Any:
        """A streaming table's write needs no mode: it appends, or applies ``auto_cdc``."""
        if isinstance(data, dict) and data.get("kind") == "streaming_table":
            write = data.get("write")
            if isinstance(write, dict) and "mode" not in write:
                data = {**data, "write": {**write, "mode": "append"}}
        return data

    def input_specs(self) -> dict[str, InputSpec]:
        """Inputs with the string shorthand expanded to a table input."""
        return {
            alias: TableInput(table=spec) if isinstance(spec, str) else spec
            for alias, spec in self.inputs.items()
        }


class Pipeline(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")
    description: str = ""
    trigger: Trigger = "available_now"
    nodes: list[Node] = Field(min_length=1)
