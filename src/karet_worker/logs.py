"""Structured logs: one JSON object per line on stderr, so log shippers need no parsing rules.

Any `extra={...}` passed to a logging call (e.g. the engine's `job_id`) becomes a field.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
    | {"color_message"}  # uvicorn's ANSI-coloured copy of the message
)
_CORE_FIELDS = ("ts", "level", "logger", "message")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: ts, level, logger, message, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key.startswith("_"):
                continue
            # An extra named like a core field must not overwrite it.
            payload[f"extra_{key}" if key in _CORE_FIELDS else key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(level: int | str = logging.INFO, stream: IO[str] | None = None) -> None:
    """Route every logger (ours, uvicorn's) through one JSON handler on stderr.

    Called once by the CLI at startup; replaces whatever handlers the root logger had.
    """
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
