"""The one opener of text inputs (CSV and NDJSON): gunzip, UTF-8 BOM, UTF-16 refused."""

from __future__ import annotations

import codecs
import gzip
import io
from pathlib import Path

import pytest

from karet_worker.engine.read.base import BadInputFile
from karet_worker.engine.read.opener import Prepended, open_input


def content(tmp_path: Path, data: bytes, key: str, read_size: int) -> bytes:
    path = tmp_path / "input"
    path.write_bytes(data)
    out = b""
    with open_input(path, key) as stream:
        while piece := stream.read(read_size):
            out += piece
    return out


@pytest.mark.parametrize("read_size", [1, 2, 3, 1000, -1])
@pytest.mark.parametrize("key", ["a.csv", "a.ndjson.GZ"])
def test_the_content_comes_out_gunzipped_without_a_utf8_bom(
    tmp_path: Path, key: str, read_size: int
) -> None:
    text = codecs.BOM_UTF8 + b'{"a": "\xef\xbb\xbf stays inside"}\n'
    data = gzip.compress(text) if key.lower().endswith(".gz") else text
    assert content(tmp_path, data, key, read_size) == text[3:]
    assert content(tmp_path, b"ab", "short.csv", read_size) == b"ab"  # shorter than a BOM


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE])
def test_utf16_is_refused_in_words_the_user_can_act_on(tmp_path: Path, bom: bytes) -> None:
    with pytest.raises(BadInputFile, match="UTF-16 is not supported, convert the file to UTF-8"):
        content(tmp_path, bom + "a,b\n".encode("utf-16-le"), "a.csv", 100)


def test_gzip_damage_found_while_reading_is_bad_input(tmp_path: Path) -> None:
    data = gzip.compress(bytes(range(256)) * 4000)
    with pytest.raises(BadInputFile, match="not a readable gzip file"):
        content(tmp_path, data[: len(data) // 2], "a.csv.gz", 4096)
    with pytest.raises(BadInputFile, match="not a readable gzip file"):
        content(tmp_path, b"plain text", "a.csv.gz", 4096)


def test_prepended_serves_every_size() -> None:
    stream = Prepended(b"abc", io.BytesIO(b"defg"))
    assert [stream.read(2), stream.read(0), stream.read(2), stream.read(-1), stream.read(5)] == [
        b"ab",
        b"",
        b"cd",
        b"efg",
        b"",
    ]
