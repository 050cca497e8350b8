"""Short, single-line reasons for the failure messages obstore produces (formats seen in 0.12)."""

from __future__ import annotations

import pytest
from obstore.exceptions import GenericError, PermissionDeniedError

from karet_worker.storage import InvalidKey, ObjectNotFound, StorageUnavailable
from karet_worker.storage.errors import short_reason, translate

XML_403 = (
    "The operation lacked the necessary privileges to complete for path a.csv: Error performing "
    "GET http://h/b/a.csv in 511µs - Server returned non-2xx status code: 403 Forbidden: "
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>'
    "<Message>The request signature we calculated does not match</Message></Error>\n\n"
    'Debug source:\nPermissionDenied {\n    path: "a.csv",\n}'
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (XML_403, "access denied (HTTP 403 SignatureDoesNotMatch)"),
        ("Generic S3 error: ... HTTP error: error sending request\n\nDebug source:\n"
         "ConnectError(\"tcp connect error\", Os { kind: ConnectionRefused })",
         "connection refused"),
        ("Server returned non-2xx status code: 503 Service Unavailable: <?xml?>"
         "<Error><Code>SlowDown</Code></Error>", "throttled by the server (HTTP 503)"),
        ("Server returned non-2xx status code: 429 Too Many Requests", "throttled"),
        ("HTTP error: error sending request\n\nDebug source:\n kind: TimedOut", "timed out"),
        ("dns error: failed to lookup address information", "could not be resolved"),
        # no keys: the credential lookup's 403 is not the S3 server denying access
        ("Generic S3 error: Error performing PUT http://169.254.169.254/latest/api/token in 1ms"
         " - Server returned non-2xx status code: 403 Forbidden: resolve_deny\n\nDebug source:"
         "\nGeneric { status: 403 }", "no S3 credentials: AWS_ACCESS_KEY_ID"),
    ],
)  # fmt: skip
def test_short_reason_recognises_the_common_causes(text: str, expected: str) -> None:
    reason = short_reason(text)
    assert expected in reason
    assert "\n" not in reason
    assert "<?xml" not in reason


def test_short_reason_falls_back_to_the_first_line_without_xml_or_debug_tree() -> None:
    text = (
        "Generic S3 error: something odd happened: "
        "Server returned non-2xx status code: 500 Internal Server Error: "
        '<?xml version="1.0"?><Error><Code>InternalError</Code></Error>\n\nDebug source:\nX {}'
    )
    reason = short_reason(text)
    assert reason.startswith("HTTP 500 InternalError: Generic S3 error: something odd happened")
    assert "<" not in reason and "Debug" not in reason


def test_short_reason_is_bounded() -> None:
    assert len(short_reason("x" * 5000)) <= 200


def test_translate_maps_each_failure_kind() -> None:
    where = "S3 bucket 'b'"
    assert isinstance(
        translate(FileNotFoundError("Object at location k not found"), op="get", key="k",
                  where=where),
        ObjectNotFound,
    )  # fmt: skip
    bucket = translate(
        FileNotFoundError("404 <Code>NoSuchBucket</Code>"), op="get", key="k", where=where
    )
    assert isinstance(bucket, StorageUnavailable)
    assert "bucket does not exist" in str(bucket)
    denied = translate(PermissionDeniedError(XML_403), op="put", key="p/k", where=where)
    assert isinstance(denied, StorageUnavailable)
    assert str(denied).startswith("storage unavailable: put 'p/k' on S3 bucket 'b' failed: ")
    assert isinstance(
        translate(ValueError('Path "a//b" contained empty path segment'), op="put", key="a//b",
                  where=where),
        InvalidKey,
    )  # fmt: skip
    generic = translate(GenericError("Generic error"), op="list", key="p/", where=where)
    assert isinstance(generic, StorageUnavailable)
    disk = translate(OSError(28, "No space left on device"), op="put", key="k", where=where)
    assert "no space left" in str(disk)
