"""A lazy frame as an Arrow stream, run by Polars' streaming engine batch by batch.

Why: collecting a node's output before writing it holds every row at once (about 0.3 GiB per
million medallion rows). delta-rs writes from any Arrow stream and DuckDB scans one, so the
rows can flow from the Polars plan into the Delta files or the SQL engine a batch at a time:
memory then follows the plan's own state (hash tables, aggregates), not the data's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import pyarrow as pa


class FrameStream:
    """Exports ``frame`` through the Arrow PyCapsule stream interface (``__arrow_c_stream__``).

    Every export runs the plan again, so a consumer that reads twice (a write retried after a
    commit conflict, a query reading one table twice) gets a complete stream each time. The
    last export counts its rows and keeps its first ``sample_limit`` of them; an error the plan
    raises is kept in ``error``, since the consumer (delta-rs, DuckDB) reports it only as text.

    Example:
        >>> stream = FrameStream(pl.LazyFrame({"a": [1, 2, 3]}))
        >>> import pyarrow as pa
        >>> pa.RecordBatchReader.from_stream(stream).read_all().num_rows
        3
        >>> stream.rows
        3
    """

    def __init__(self, frame: pl.LazyFrame, *, sample_limit: int = 0) -> None:
        self.frame = frame
        self.sample_limit = sample_limit
        empty = pl.DataFrame(schema=frame.collect_schema())
        self.schema: pa.Schema = empty.to_arrow().schema
        self.rows = 0
        self.sample = empty
        self.error: BaseException | None = None
        self._pending: Iterator[pl.DataFrame] | None = None
        self._buffered: list[pl.DataFrame] = []

    def is_empty(self) -> bool:
        """Whether the plan yields no row; runs it up to its first row, which the next export
        then starts with instead of running the plan again."""
        if self._pending is None:
            self._pending = self._frames()
        for frame in self._pending:
            if frame.height:
                self._buffered.append(frame)
                return False
        self._pending = iter(())
        return True

    def counted(self, rows: int) -> None:
        """Record ``rows``, counted by another plan over ``frame``, and sample the plan now: for
        a consumer that reads the rows through plans of its own instead of this stream."""
        self.rows = rows
        self.sample = self.frame.head(self.sample_limit).collect(engine="streaming")

    def _frames(self) -> Iterator[pl.DataFrame]:
        return iter(self.frame.collect_batches(engine="streaming"))

    def _batches(self) -> Iterator[pa.RecordBatch]:
        self.rows, self.error = 0, None
        self.sample = self.sample.clear()
        frames, buffered = self._pending or self._frames(), self._buffered
        self._pending, self._buffered = None, []
        try:
            for frame in chain(buffered, frames):
                if not frame.height:
                    continue
                self.rows += frame.height
                if self.sample.height < self.sample_limit:
                    missing = self.sample_limit - self.sample.height
                    self.sample = pl.concat([self.sample, frame.head(missing)])
                table = frame.to_arrow()
                if table.schema != self.schema:
                    table = table.cast(self.schema)
                yield from table.to_batches()
        except GeneratorExit:  # the consumer stopped reading: not the plan's failure
            raise
        except BaseException as exc:  # Polars' panics are BaseExceptions
            self.error = exc
            raise

    def __arrow_c_schema__(self) -> object:
        return self.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        import pyarrow as pa

        reader = pa.RecordBatchReader.from_batches(self.schema, self._batches())
        return reader.__arrow_c_stream__(requested_schema)


@contextmanager
def plan_errors(data: object) -> Iterator[None]:
    """Inside: a consumer failing because the plan of ``data`` (a ``FrameStream``) failed
    raises the plan's own error (a bad cast, an unreadable file), not the consumer's text."""
    try:
        yield
    except Exception as exc:
        if isinstance(data, FrameStream) and data.error is not None and data.error is not exc:
            raise data.error from None
        raise
