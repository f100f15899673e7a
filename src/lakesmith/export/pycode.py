"""Printing Python that ``ruff format`` leaves as it is, whatever the line length.

Every call with arguments is printed exploded with a magic trailing comma, every chain is
split into one short statement per step, so the layout never depends on how long a name is.
Literals come from the resource printer (:mod:`lakesmith.deploy.codegen`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lakesmith.deploy.codegen import _literal, _string

from .model import Dataset, Frame

PLACEHOLDER = "__lakesmith_frame_{}__"


def literal(value: Any, indent: int = 0) -> str:
    """A Python literal (str, number, bool, list, dict) in ruff's layout."""
    return _literal(value, indent)


def string(value: str, indent: int = 0, *, keyword: bool = False) -> str:
    """A string literal; one too long for a 100-column line (at ``indent``) becomes adjacent
    literals split at spaces, one per line, which ruff keeps as they are (joined, they would
    not fit at any line length up to 100). As a ``keyword`` argument's value the parts sit in
    parentheses, as ruff writes them."""
    if keyword:
        inner = string(value, indent + 4)
        if "\n" not in inner:
            return inner
        return "(\n" + " " * (indent + 4) + inner + "\n" + " " * indent + ")"
    whole = _string(value)
    room = LINE - indent - 1  # the trailing comma
    if len(whole) <= room or " " not in value:
        return whole
    parts: list[str] = []
    current = ""
    for word in value.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and len(_string(candidate + " ")) > room:
            parts.append(current + " ")
            current = word
        else:
            current = candidate
    parts.append(current)
    return ("\n" + " " * indent).join(_string(p) for p in parts)


LINE = 100
"""The line length the generated modules are laid out for (the projects' ruff setting)."""


def call(
    func: str, args: Sequence[str] = (), kwargs: Sequence[tuple[str, str]] = (), *, indent: int = 0
) -> str:
    """``func(\\n    a,\\n    k=v,\\n)``: arguments are code already (use :func:`literal`)."""
    if not args and not kwargs:
        return f"{func}()"
    inner = " " * (indent + 4)
    lines = [f"{inner}{a},\n" for a in args]
    lines += [f"{inner}{k}={v},\n" for k, v in kwargs]
    return f"{func}(\n" + "".join(lines) + " " * indent + ")"


def sql_over_frames(
    sql: str, aliases: Sequence[str], dialect: str, tables: Mapping[str, Frame] | None = None
) -> tuple[str, list[str]]:
    """The SQL with each input alias as a ``{alias}`` placeholder for ``spark.sql(q, **frames)``,
    or, for the aliases in ``tables``, that table's name (``crm.orders AS orders``; a stream
    of a table as ``STREAM(crm.orders) AS orders``).

    Returns the query and the placeholder aliases it uses. When it uses any, braces elsewhere in
    the SQL are doubled so ``spark.sql``'s formatter keeps them (without arguments
    ``spark.sql`` formats nothing).
    """
    import sqlglot
    from sqlglot import exp

    tables = tables or {}
    tree = sqlglot.parse_one(sql, read="databricks")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    used: list[str] = []
    for table in list(tree.find_all(exp.Table)):
        name = table.name
        if table.db or name not in aliases or name in ctes:
            continue
        if name in tables:
            marker = exp.to_table(tables[name].table, dialect=dialect)
            alias = exp.TableAlias(this=exp.to_identifier(table.alias or name))
            if tables[name].kind == "stream_table":
                table.replace(exp.Stream(this=exp.Subquery(this=marker, alias=alias)))
                continue
            for part in ("this", "db", "catalog"):
                table.set(part, marker.args.get(part))
        else:
            if name not in used:
                used.append(name)
            marker = exp.to_table(PLACEHOLDER.format(aliases.index(name)))
            table.set("this", marker.this)
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
    text = tree.sql(dialect=dialect, pretty=True)
    if used:
        text = text.replace("{", "{{").replace("}", "}}")
    for i, alias in enumerate(aliases):
        text = text.replace(PLACEHOLDER.format(i), "{" + alias + "}")
    return text, used


def named_tables(ds: Dataset) -> dict[str, Frame]:
    """The table inputs a SQL transform names directly instead of binding a frame: batch
    tables, and streams of tables (``STREAM(name)``) unless they read the change feed.

    ``spark-pipelines`` executes ``spark.sql`` in a query function as a command and resolves
    the frames passed to it at once, before an upstream dataset exists
    (``TABLE_OR_VIEW_NOT_FOUND`` on the first run); a table named in the query is a dependency
    the pipeline resolves in graph order, in either export target.
    """
    if ds.sql is None:
        return {}
    named = ("table", "stream_table")
    return {f.alias: f for f in ds.frames if f.kind in named and not f.change_feed}


def triple_quoted(text: str, indent: int) -> str:
    """A multi-line string literal (ruff keeps its inside byte for byte)."""
    if '"""' in text or "\\" in text or text.endswith('"'):
        return _string(text)
    pad = " " * indent
    body = "\n".join(pad + line if line else line for line in text.splitlines())
    return '"""\n' + body + "\n" + pad + '"""'


def frame_lines(frame: Frame, reader: str, options: dict[str, str]) -> list[str]:
    """Statements binding ``frame.alias`` inside a dataset function; ``reader`` is the code of
    the file-source reader and ``options`` its options (what Lakeflow and OSS SDP write
    differently)."""
    pad = "    "
    alias = frame.alias
    if frame.kind == "table":
        return [f"{pad}{alias} = spark.read.table({string(frame.table)})"]
    if frame.kind == "stream_table":
        lines = [f"{pad}reader = spark.readStream"]
        if frame.change_feed:
            lines.append(f'{pad}reader = reader.option("readChangeFeed", "true")')
        return [*lines, f"{pad}{alias} = reader.table({string(frame.table)})"]
    if frame.kind == "path":
        reader, options = f"spark.read.format({string(frame.format)})", dict(frame.options)
    lines = [f"{pad}reader = {reader}"]
    if options:
        lines.append(f"{pad}options = {literal(options, 4)}")
        lines.append(f"{pad}reader = reader.options(**options)")
    if frame.schema:
        schema = string(frame.schema, 8)
        lines.append(f"{pad}reader = {call('reader.schema', [schema], indent=4)}")
    conf = f"spark.conf.get({string(frame.conf_key)})"
    lines.append(f"{pad}{alias} = {call('reader.load', [conf], indent=4)}")
    return lines


def transform_lines(ds: Dataset, dialect: str) -> list[str]:
    """Statements ending with ``result = <the node's output>``."""
    pad = "    "
    aliases = [f.alias for f in ds.frames]
    if ds.sql is not None:
        query, used = sql_over_frames(ds.sql, aliases, dialect, named_tables(ds))
        kwargs = [(a, a) for a in used]
        return [
            f"{pad}query = {triple_quoted(query, 4)}",
            f"{pad}result = {call('spark.sql', ['query'], kwargs, indent=4)}",
        ]
    if ds.python is not None:
        kwargs = [(a, f"nw.from_native({a})") for a in aliases]
        if ds.python_takes_params:
            kwargs.append(("params", literal(dict(ds.python.params), 8)))
        module, function = ds.python.python.split(":")
        return [
            f"{pad}transform = importlib.import_module({string(module)}).{function}",
            f"{pad}result = {call('transform', (), kwargs, indent=4)}",
            f"{pad}result = nw.to_native(result, pass_through=True)",
        ]
    return [f"{pad}result = {aliases[0]}"]


def imports(datasets: Sequence[Dataset]) -> list[str]:
    """The module's imports in isort order. Transforms' modules are imported when their
    dataset runs (``importlib``): no project module is imported to declare the pipeline, and
    ruff's first- or third-party guess about them never matters."""
    python = any(ds.python for ds in datasets)
    head = ["import importlib", ""] if python else []
    plain = ["import narwhals as nw"] if python else []
    froms = ["from pyspark import pipelines as dp", "from pyspark.sql import SparkSession"]
    return head + plain + froms
