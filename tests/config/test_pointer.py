"""JSON Pointers: RFC 6901 escaping, and Pydantic locations mapped onto the real document."""

from __future__ import annotations

from karet_worker.config.pointer import escape_token, is_within, locate, to_pointer


def test_tokens_are_escaped_per_rfc_6901() -> None:
    assert escape_token("a/b~c") == "a~1b~0c"
    assert escape_token("~1") == "~01"
    assert to_pointer(["x/y", 0, "~"]) == "/x~1y/0/~0"
    assert to_pointer([]) == ""


def test_discriminator_tags_and_union_member_names_are_dropped() -> None:
    document = {
        "mappings": [
            {"columns": [{"expr": {"kind": "add", "left": {"kind": "upper", "input": {"x": 1}}}}]}
        ],
        "values": [{"a": 1}],
    }
    loc = ("mappings", 0, "columns", 0, "expr", "add", "left", "upper", "input")
    assert locate(document, loc) == ("mappings", 0, "columns", 0, "expr", "left", "input")
    assert locate(document, ("values", 0, "str")) == ("values", 0)


def test_a_member_named_like_the_kind_is_still_skipped_as_the_tag() -> None:
    document = {"expr": {"kind": "col", "col": {"y": 1}}}
    assert locate(document, ("expr", "col", "name"), missing=True) == ("expr", "name")


def test_missing_member_is_kept_only_for_missing_errors() -> None:
    document = {"a": {"b": 1}}
    assert locate(document, ("a", "c"), missing=True) == ("a", "c")
    assert locate(document, ("a", "c")) == ("a",)


def test_is_within() -> None:
    assert is_within("/a/b", "/a")
    assert is_within("/a", "/a")
    assert not is_within("/ab", "/a")
    assert is_within("/anything", "")
