"""Structured logs: every record carries the id of the run it belongs to.

Code logs with stdlib ``logging`` under the ``lakeshop`` logger, passing fields in ``extra``
(``log.info("table done", extra={"table": name, "rows_written": n})``). The runner sets the
run id for the duration of a run (:func:`run_context`); a filter copies it onto each record,
so a line emitted anywhere below the runner names its run. The CLI installs one handler on
stderr, as text (``key=value``) or JSON lines (:func:`configure`); as a library lakeshop
adds none, so the application decides.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

ROOT = "lakeshop"
LogFormat = Literal["text", "json"]

_RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lakeshop_run_id", default=None
)

#: attributes every LogRecord has: anything else on a record came from ``extra``
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "run_id",
}

logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """The logger of a lakeshop module (``lakeshop.pipeline.runner`` …)."""
    return logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")


@contextmanager
def run_context(run_id: str) -> Iterator[None]:
    """Within the block, every log record carries ``run_id``."""
    token = _RUN_ID.set(run_id)
    try:
        yield
    finally:
        _RUN_ID.reset(token)


def current_run_id() -> str | None:
    """The id of the run being executed in this context, if any."""
    return _RUN_ID.get()


class RunIdFilter(logging.Filter):
    """Adds ``run_id`` (None outside a run) to every record passing through."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = _RUN_ID.get()
        return True


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a record: those given in ``extra``."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, run_id, event, fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": getattr(record, "run_id", None),
            "event": record.getMessage(),
        }
        line.update(fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-01-02T10:00:00.000Z WARNING run=… table failed table=silver.orders error=…``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        extra = " ".join(f"{k}={_text(v)}" for k, v in fields(record).items())
        run = getattr(record, "run_id", None) or "-"
        text = f"{ts.replace('+00:00', 'Z')} {record.levelname} run={run} {record.getMessage()}"
        text = f"{text} {extra}" if extra else text
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c in '"=' for c in text) else text


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure(fmt: LogFormat = "text", level: int | str = logging.WARNING) -> logging.Handler:
    """Send lakeshop's log records to stderr in ``fmt`` from ``level`` up.

    Replaces the handler of an earlier call, so a process (or a test) may call it per command.
    """
    logger = logging.getLogger(ROOT)
    for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(old)
    handler = _StderrHandler()
    handler.addFilter(RunIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
