"""Expanding input paths into files and zip members, and opening them decompressed."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest
import zstandard

from engine.archive.sources import InputFile, expand_sources, is_log_candidate
from engine.core.errors import IngestError

BODY = b'{"timestamp": 1, "message": "a"}\n{"timestamp": 2, "message": "b"}\n'


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _names(inputs: list[InputFile], root: Path) -> list[str]:
    return [item.name.replace(str(root) + "/", "") for item in inputs]


def test_folder_walk_is_recursive_sorted_and_skips_hidden_and_non_logs(tmp_path: Path) -> None:
    for name in [
        "b/hour=01/archive_2.json.gz",
        "b/hour=00/archive_1.json.gz",
        "a.ndjson",
        "notes.md",
        "LICENSE.upstream.txt",
        "README",
        "data.parquet",
        "rows.csv",
        ".hidden.json",
        ".git/objects.json",
        "c/.cache/x.json",
        "c/events.log",
    ]:
        _write(tmp_path / name, BODY)
    found = expand_sources([tmp_path])
    assert _names(found, tmp_path) == [
        "a.ndjson",
        "b/hour=00/archive_1.json.gz",
        "b/hour=01/archive_2.json.gz",
        "c/events.log",
    ]
    assert all(item.member is None for item in found)
    assert found[0].size == len(BODY)


def test_a_file_named_explicitly_is_read_whatever_its_name(tmp_path: Path) -> None:
    notes = _write(tmp_path / ".hidden.md", BODY)
    assert expand_sources([notes]) == [InputFile(notes, None, len(BODY))]


def test_the_same_file_twice_is_listed_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.json", BODY)
    assert len(expand_sources([path, tmp_path, str(path)])) == 1


def test_every_zip_member_is_an_input_nested_folders_included(tmp_path: Path) -> None:
    archive = tmp_path / "capture.Zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("z/second.json", BODY)
        zf.writestr("first.json", BODY)
        zf.writestr("deep/er/third.json.gz", gzip.compress(BODY))
        zf.writestr("__MACOSX/._first.json", b"junk")
        zf.writestr(".hidden.json", BODY)
        zf.writestr("README.md", b"# doc")
        zf.writestr("empty/", b"")
    found = expand_sources([tmp_path])
    assert [item.member for item in found] == [
        "deep/er/third.json.gz",
        "first.json",
        "z/second.json",
    ]
    assert found[1].name == f"{archive}!first.json"
    info = zipfile.ZipFile(archive).getinfo("first.json")
    assert found[1].size == info.compress_size
    for item in found:
        with item.open() as stream:
            assert stream.read() == BODY


def test_a_zip_without_the_zip_extension_is_found_by_magic_bytes(tmp_path: Path) -> None:
    archive = tmp_path / "export.bin"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.json", BODY)
    assert [item.member for item in expand_sources([archive])] == ["a.json"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param(lambda root: root / "missing.json", "input not found", id="missing-path"),
        pytest.param(
            lambda root: _write(root / "broken.zip", b"PK\x03\x04 not really a zip"),
            "corrupt zip file",
            id="corrupt-zip",
        ),
    ],
)
def test_bad_inputs_raise_ingest_error_naming_the_path(
    tmp_path: Path, setup: object, message: str
) -> None:
    path = setup(tmp_path)  # type: ignore[operator]
    with pytest.raises(IngestError, match=message) as info:
        expand_sources([path])
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        pytest.param("plain.json", lambda data: data, id="plain"),
        pytest.param("a.json.gz", gzip.compress, id="gzip"),
        pytest.param("gzip-without-extension.json", gzip.compress, id="gzip-by-magic"),
        pytest.param("a.json.zst", zstandard.ZstdCompressor().compress, id="zstd"),
        pytest.param(
            "zstd-without-extension.log", zstandard.ZstdCompressor().compress, id="zstd-by-magic"
        ),
        pytest.param(
            "two-frames.json.zst",
            lambda data: (
                zstandard.ZstdCompressor().compress(data[:10])
                + zstandard.ZstdCompressor().compress(data[10:])
            ),
            id="zstd-two-frames",
        ),
        pytest.param(
            "two-members.json.gz",
            lambda data: gzip.compress(data[:10]) + gzip.compress(data[10:]),
            id="gzip-two-members",
        ),
        pytest.param("plain.json.gz", lambda data: data, id="gz-extension-but-plain"),
    ],
)
def test_open_decompresses_by_magic_bytes_not_by_name(
    tmp_path: Path, name: str, encode: object
) -> None:
    path = _write(tmp_path / name, encode(BODY))  # type: ignore[operator]
    (item,) = expand_sources([path])
    with item.open() as stream:
        assert stream.read() == BODY
        assert list(stream) == []


def test_open_reads_line_by_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.json.zst", zstandard.ZstdCompressor().compress(BODY))
    with expand_sources([path])[0].open() as stream:
        assert list(stream) == BODY.splitlines(keepends=True)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("archive_1.json.gz", True, id="archive"),
        pytest.param("events.log", True, id="log"),
        pytest.param("dump.txt", True, id="txt"),
        pytest.param("LICENSE.upstream.txt", False, id="license"),
        pytest.param("Readme.md", False, id="readme"),
        pytest.param("part-0.parquet", False, id="parquet"),
        pytest.param("bundle.tar.gz", False, id="tarball"),
        pytest.param(".DS_Store", False, id="hidden"),
    ],
)
def test_is_log_candidate(name: str, expected: bool) -> None:
    assert is_log_candidate(name) is expected
