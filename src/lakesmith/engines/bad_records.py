"""Bad records in CSV and JSON-lines files: split them off with the reason, keep the rest.

Like Spark's ``badRecordsPath``: a node that asks for it (``on_bad_records: quarantine``)
loses no good row to one bad one. A record is bad when its bytes are not UTF-8, a CSV row has
more or fewer fields than the header, a JSON line does not parse or is not an object, or a
value does not fit its column's type. A column's type is the one declared in the read options
(``schema_overrides``); otherwise a column is numeric when at least ``NUMERIC_SHARE`` of its
non-empty values are numbers, and the rest of its values are bad.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from lakesmith.errors import LakesmithError

NUMERIC_SHARE = 0.9
BAD_SCHEMA = {"file": pl.String, "line": pl.Int64, "raw": pl.String, "reason": pl.String}


@dataclass
class Split:
    """The good rows, read as the format reader would, and one row per bad record."""

    good: pl.DataFrame
    bad: pl.DataFrame


@dataclass
class _Record:
    line: int
    raw: str
    values: dict[str, Any]


def split_bad_records(
    path: Path | str,
    fmt: str,
    options: Mapping[str, Any] | None = None,
    data: bytes | None = None,
) -> Split:
    """Read a CSV or JSON-lines file, separating bad records from good ones: a local
    ``path``, or the ``data`` of a file fetched from object storage (``path`` names it).

    Raises:
        LakesmithError: the format cannot quarantine records (parquet, delta, multiline JSON).
    """
    opts = dict(options or {})
    if fmt not in ("csv", "json") or opts.get("multiline"):
        raise LakesmithError(
            f"on_bad_records: quarantine reads CSV and JSON-lines files, not {fmt} ({path})",
            hint="remove on_bad_records, or read the file as csv or json lines",
        )
    try:
        data = Path(path).read_bytes() if data is None else data
    except OSError as exc:
        raise LakesmithError(
            f"cannot read {path}: {exc.strerror}", hint="check the input's path and connection"
        ) from exc
    try:
        records, bad = _csv_records(data, opts) if fmt == "csv" else _json_records(data)
    except LakesmithError as exc:
        raise LakesmithError(f"{path}: {exc.message}", hint=exc.hint) from exc
    declared = {
        k: getattr(pl, v) if isinstance(v, str) and hasattr(pl, v) else v
        for k, v in dict(opts.get("schema_overrides") or {}).items()
    }
    text = fmt == "csv"  # CSV values are text; in JSON a quoted "10" is text, not a number
    types = {**_numeric_columns(records, declared, text), **declared}
    good: list[_Record] = []
    for rec in records:
        reason = _type_problem(rec.values, types, text)
        if reason:
            bad.append((rec.line, rec.raw, reason))
        else:
            good.append(rec)
    if good:
        frame = _good_frame(good, fmt, opts, types)
    else:  # nothing to read: keep the columns that are known
        frame = pl.DataFrame(schema={c: types.get(c, pl.String) for c in _columns(records)})
    bad_frame = pl.DataFrame(
        [{"file": str(path), "line": n, "raw": raw, "reason": why} for n, raw, why in bad],
        schema=BAD_SCHEMA,
    ).sort("line")
    return Split(frame, bad_frame)


def _columns(records: list[_Record]) -> list[str]:
    return list(records[0].values) if records else []


def _csv_records(data: bytes, opts: dict[str, Any]) -> tuple[list[_Record], list[tuple]]:
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=opts.get("separator", ","))
    lines = text.splitlines()
    header: list[str] | None = None
    records: list[_Record] = []
    bad: list[tuple[int, str, str]] = []
    for line, end, fields in _numbered(reader):
        raw = _printable("\n".join(lines[line - 1 : end]))
        if any(_has_surrogates(f) for f in fields):
            bad.append((line, raw, _encoding_reason(fields)))
        elif header is None:
            header = (
                fields
                if opts.get("has_header", True)
                else [f"column_{i + 1}" for i in range(len(fields))]
            )
            if not opts.get("has_header", True):
                records.append(_Record(line, raw, dict(zip(header, fields, strict=True))))
        elif len(fields) != len(header):
            bad.append((line, raw, f"expected {len(header)} fields, found {len(fields)}"))
        else:
            records.append(_Record(line, raw, dict(zip(header, fields, strict=True))))
    return records, bad


def _numbered(reader: Any) -> Iterator[tuple[int, int, list[str]]]:
    """Each non-empty CSV record with its first and last line (quoted fields may span lines)."""
    start = 1
    try:
        for fields in reader:
            if fields:
                yield start, reader.line_num, fields
            start = reader.line_num + 1
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise LakesmithError(
            f"line {reader.line_num}: cannot read the file as CSV: {exc}",
            hint="check the separator and quoting; the file may not be CSV",
        ) from exc


def _json_records(data: bytes) -> tuple[list[_Record], list[tuple]]:
    records: list[_Record] = []
    bad: list[tuple[int, str, str]] = []
    for number, chunk in enumerate(data.split(b"\n"), start=1):
        if not chunk.strip():
            continue
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raw = _printable(chunk.decode("utf-8", errors="surrogateescape"))
            bad.append((number, raw, f"invalid UTF-8: byte 0x{chunk[exc.start]:02x}"))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            bad.append((number, text, f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(value, dict):
            bad.append((number, text, f"a JSON line must be an object, not {type(value).__name__}"))
            continue
        records.append(_Record(number, text, value))
    return records, bad


def _numeric_columns(
    records: list[_Record], declared: Mapping[str, Any], text: bool
) -> dict[str, Any]:
    """Columns whose values are nearly all numbers: the odd text value is a bad record."""
    out: dict[str, Any] = {}
    columns = {k for r in records for k in r.values} - set(declared)
    for column in sorted(columns):
        values = [r.values.get(column) for r in records]
        values = [v for v in values if v not in (None, "")]
        if not values:
            continue
        numbers = [v for v in values if _fits(v, pl.Float64, text)]
        if len(numbers) == len(values) or len(numbers) < NUMERIC_SHARE * len(values):
            continue  # a clean column, or not a numeric one: the reader types it as usual
        out[column] = pl.Int64 if all(_fits(v, pl.Int64, text) for v in numbers) else pl.Float64
    return out


def _fits(value: Any, dtype: Any, text: bool) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool) or (isinstance(value, str) and not text):
        return False
    if isinstance(value, int | float) and not isinstance(value, str):
        return dtype == pl.Float64 or isinstance(value, int)
    try:
        int(value) if dtype == pl.Int64 else float(value)
    except (TypeError, ValueError):
        return False
    return True


def _type_problem(values: Mapping[str, Any], types: Mapping[str, Any], text: bool) -> str:
    for column, dtype in types.items():
        value = values.get(column)
        if dtype in (pl.Int64, pl.Int32, pl.Float64, pl.Float32) and not _fits(
            value, pl.Int64 if dtype in (pl.Int64, pl.Int32) else pl.Float64, text
        ):
            return f"column '{column}' expects {dtype}, got {value!r}"
    return ""


def _good_frame(
    good: list[_Record], fmt: str, opts: dict[str, Any], types: Mapping[str, Any]
) -> pl.DataFrame:
    """The good records read by the same Polars reader, with the same options."""
    if fmt == "json":
        body = "\n".join(r.raw for r in good).encode()
        return pl.read_ndjson(io.BytesIO(body), schema_overrides=dict(types) or None)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=opts.get("separator", ","), lineterminator="\n")
    if good:
        header = list(good[0].values)
        if opts.get("has_header", True):
            writer.writerow(header)
        writer.writerows([r.values[h] for h in header] for r in good)
    opts = {**opts, "schema_overrides": {**dict(opts.get("schema_overrides") or {}), **types}}
    opts.setdefault("try_parse_dates", True)
    return pl.read_csv(io.BytesIO(out.getvalue().encode()), **opts)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _encoding_reason(fields: list[str]) -> str:
    for field in fields:
        for ch in field:
            if "\udc80" <= ch <= "\udcff":
                return f"invalid UTF-8: byte 0x{ord(ch) - 0xDC00:02x}"
    return "invalid UTF-8"


def _printable(text: str) -> str:
    """The raw text with undecodable bytes shown as ``\\xNN``, so it fits a string column."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def quarantine_bad_records(
    uri: str,
    fmt: str,
    options: Mapping[str, Any] | None,
    engine: str,
    fetch: Callable[[], bytes] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The good rows and the bad records of one input file, for a node that quarantines;
    ``fetch`` reads a file on object storage (``uri`` then only names it).

    Raises:
        LakesmithError: not the embedded engine, or a remote file without ``fetch``.
    """
    if engine != "polars":
        raise LakesmithError(
            f"on_bad_records: quarantine runs on the embedded engine, not {engine}",
            hint="on Spark use the reader's badRecordsPath or rescuedDataColumn option",
        )
    remote = "://" in uri and not uri.startswith("file://")
    if remote and fetch is None:
        raise LakesmithError(
            f"on_bad_records: quarantine cannot read {uri}: its connection type has no file "
            "download",
            hint="read the file from a local or azure_adls connection, or remove on_bad_records",
        )
    path = uri if remote else Path(uri.removeprefix("file://"))
    split = split_bad_records(path, fmt, options, fetch() if remote and fetch else None)
    return split.good, split.bad


def first_bad_record(
    uri: str, fmt: str, options: Mapping[str, Any] | None
) -> LakesmithError | None:
    """Why a local CSV/JSON file failed to read, as an error naming file, line and reason.

    Only called after a read failed, so a valid file costs nothing extra.
    """
    if ("://" in uri and not uri.startswith("file://")) or fmt not in ("csv", "json"):
        return None
    path = Path(uri.removeprefix("file://"))
    try:
        bad = split_bad_records(path, fmt, options).bad
    except Exception:  # the diagnosis must never hide the original error
        return None
    if bad.is_empty():
        return None
    line, raw, reason = bad.row(0)[1:]
    more = f" (and {bad.height - 1} more bad record(s))" if bad.height > 1 else ""
    return LakesmithError(
        f"{path}:{line}: {reason}{more}: {raw[:200]}",
        hint="fix the file, or set on_bad_records: quarantine on this input to write the good "
        "rows and set bad ones aside in <table>_bad_records",
    )
