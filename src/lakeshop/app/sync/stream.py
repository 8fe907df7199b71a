"""What a COPY sends, made ahead: Arrow batches rendered (PostgreSQL's binary format, or CSV)
in a thread of their own.

Reading Parquet and rendering run mostly in Arrow's C++ code, which releases the GIL; PostgreSQL
parses the COPY in its own process. Rendering the next chunks while the current one is sent
keeps both sides busy instead of taking turns (measured: the turns were a third of a full
load). The queue is bounded, so memory stays a few chunks whatever the table's size.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv

from lakeshop.app.sync import pgbinary

#: chunks rendered ahead of the one being sent
AHEAD = 3
#: a chunk is sent once it holds this many bytes of CSV (large writes: fewer round trips)
CHUNK_BYTES = 8 << 20

_DONE = object()

T = TypeVar("T")


def csv_chunks(
    batches: Iterable[pa.RecordBatch],
    names: list[str],
    seen: Callable[[pa.RecordBatch], None] | None = None,
) -> Iterator[tuple[bytes | memoryview, int]]:
    """The batches' ``names`` columns as CSV without header, in chunks of about
    :data:`CHUNK_BYTES`, each with its number of rows; ``seen`` is given every batch sent."""
    options = pacsv.WriteOptions(include_header=False)
    return _chunks(batches, names, seen, lambda b, out: pacsv.write_csv(b, out, options))


def binary_chunks(
    batches: Iterable[pa.RecordBatch],
    names: list[str],
    seen: Callable[[pa.RecordBatch], None] | None = None,
) -> Iterator[tuple[bytes | memoryview, int]]:
    """The batches' ``names`` columns as PostgreSQL binary COPY data (header first, trailer
    last: :mod:`~lakeshop.app.sync.pgbinary`), in chunks of about :data:`CHUNK_BYTES`, each
    with its number of rows; ``seen`` is given every batch sent."""
    return _chunks(
        batches,
        names,
        seen,
        lambda b, out: out.write(pgbinary.encode(b)),
        pgbinary.HEADER,
        pgbinary.TRAILER,
    )


def _chunks(
    batches: Iterable[pa.RecordBatch],
    names: list[str],
    seen: Callable[[pa.RecordBatch], None] | None,
    render: Callable[[pa.RecordBatch, io.BytesIO], object],
    header: bytes = b"",
    trailer: bytes = b"",
) -> Iterator[tuple[bytes | memoryview, int]]:
    """Each non-empty batch's ``names`` columns rendered into chunks of about
    :data:`CHUNK_BYTES` with their number of rows; ``header`` opens the first chunk,
    ``trailer`` closes the last (sent even when no row is: a binary COPY needs both)."""
    buffer = io.BytesIO()
    buffer.write(header)
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        batch = batch.select(names)
        if seen is not None:
            seen(batch)
        render(batch, buffer)
        rows += batch.num_rows
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getbuffer(), rows
            buffer, rows = io.BytesIO(), 0
    buffer.write(trailer)
    if rows or header or trailer:
        yield buffer.getbuffer(), rows


def ahead(items: Iterator[T], depth: int = AHEAD) -> Generator[T, None, None]:
    """``items``, produced by a thread up to ``depth`` ahead of the consumer. An error in the
    producer is raised in the consumer; a consumer that stops early stops the producer."""
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    worker = threading.Thread(target=produce, name="lakeshop-sync-csv", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
