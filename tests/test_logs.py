"""Structured logs: one JSON object per line, extras (like job_id) included as fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from karet_worker.logs import JsonFormatter, configure_logging


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_record_is_one_json_line_with_core_fields_and_extras(restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    log = logging.getLogger("karet_worker.engine")
    log.info("file read: %s", "a.csv", extra={"job_id": "j1", "rows": 7, "message_id": None})
    log.debug("not shown at INFO")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "info"
    assert record["logger"] == "karet_worker.engine"
    assert record["message"] == "file read: a.csv"
    assert record["job_id"] == "j1"
    assert record["rows"] == 7
    assert record["ts"].endswith("+00:00")
    assert "args" not in record and "msg" not in record  # standard attributes stay out


def test_exceptions_stay_on_one_line(restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logging.getLogger("karet_worker.api").exception("boom", extra={"path": "/jobs/run"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert "ValueError" in record["exc_info"]
    assert record["path"] == "/jobs/run"


def test_unserialisable_extra_and_core_name_clash_are_handled() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "m", None, None)
    record.__dict__.update({"obj": object(), "level": "fake"})
    payload = json.loads(JsonFormatter().format(record))
    assert payload["level"] == "warning"
    assert payload["extra_level"] == "fake"
    assert payload["obj"].startswith("<object")


def test_uvicorn_loggers_go_through_the_json_handler(restore_root: None) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]", 42, extra={"color_message": "\x1b[36m%d\x1b[0m"}
    )
    record = json.loads(stream.getvalue())
    assert record["message"] == "Started server process [42]"
    assert "color_message" not in record
