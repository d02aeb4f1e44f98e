"""Input paths -> the list of log files to read, and opening each one as a decompressed stream.

`expand_sources` turns the files and folders a user names into `InputFile`s: folders are walked
recursively in sorted order (hidden entries and files that are obviously not logs are skipped), and
every member of a `.zip` becomes its own input. `InputFile.open` returns the decompressed bytes,
choosing gzip or zstd by the file's magic bytes, not by its name.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Protocol

import zstandard

from engine.core.errors import IngestError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

#: Read-buffer size for decompressed streams (large lines stay cheap to split).
BUFFER_BYTES = 1 << 20

#: Extensions of files a folder walk skips: data, docs and binaries that are never JSON logs.
SKIPPED_SUFFIXES: tuple[str, ...] = (
    ".parquet", ".md", ".markdown", ".rst", ".html", ".htm", ".pdf", ".png", ".jpg", ".jpeg",
    ".gif", ".svg", ".ico", ".py", ".pyc", ".sh", ".yaml", ".yml", ".toml", ".ini", ".cfg",
    ".csv", ".tsv", ".xml", ".evtx", ".pcap", ".pcapng", ".cap", ".exe", ".dll", ".so",
    ".tar", ".tgz", ".tar.gz", ".tar.zst", ".7z", ".rar", ".crc", ".sha256", ".md5", ".sig",
    ".asc", ".lock", ".db", ".sqlite", ".xlsx", ".docx", ".ipynb",
)  # fmt: skip

#: File-name prefixes (upper-cased) of project files a folder walk skips.
SKIPPED_PREFIXES: tuple[str, ...] = (
    "LICENSE", "LICENCE", "README", "NOTICE", "COPYING", "CHANGELOG", "AUTHORS", "_SUCCESS",
)  # fmt: skip


def is_log_candidate(name: str) -> bool:
    """Whether a file name found in a folder or zip may hold logs (not hidden, not docs/data)."""
    base = name.rsplit("/", 1)[-1]
    if not base or base.startswith("."):
        return False
    lowered = base.lower()
    if lowered.endswith(SKIPPED_SUFFIXES):
        return False
    return not base.upper().startswith(SKIPPED_PREFIXES)


@dataclass(frozen=True)
class InputFile:
    """One input to read: a file on disk, or one member of a zip file."""

    path: Path
    member: str | None
    size: int

    @property
    def name(self) -> str:
        """`path`, or `path!member` for a zip member (used in every message)."""
        return str(self.path) if self.member is None else f"{self.path}!{self.member}"

    def open(self) -> BinaryIO:
        """The decompressed byte stream (gzip / zstd detected by magic bytes, else plain).

        Raises `OSError` (or `zipfile.BadZipFile`) when the file cannot be opened at all;
        decompression errors surface later, while reading.
        """
        if self.member is None:
            raw: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - returned to the caller
            return _decompressed(raw, [raw.close], buffered=True)
        archive = zipfile.ZipFile(self.path)
        try:
            member: IO[bytes] = archive.open(self.member)
        except BaseException:
            archive.close()
            raise
        return _decompressed(member, [member.close, archive.close], buffered=False)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


def _decompressed(raw: IO[bytes], closers: list[Callable[[], None]], *, buffered: bool) -> BinaryIO:
    magic = _peek(raw, 4)
    inner: _Readable
    if magic.startswith(GZIP_MAGIC):
        inner = FrameReader(raw, _gzip_member, "gzip")
    elif magic.startswith(ZSTD_MAGIC):
        inner = FrameReader(raw, _zstd_frame, "zstd")
    elif buffered:
        return raw  # type: ignore[return-value]
    else:
        inner = raw
    return io.BufferedReader(_Layered(inner, closers), buffer_size=BUFFER_BYTES)


def _peek(stream: IO[bytes], size: int) -> bytes:
    peek = getattr(stream, "peek", None)
    if peek is None:  # pragma: no cover - every stream opened here can peek
        raise TypeError("stream cannot peek")
    data: bytes = peek(size)
    return data[:size]


class _Layered(io.RawIOBase):
    """A raw stream over `inner` whose `close` also closes the layers underneath."""

    def __init__(self, inner: _Readable, closers: list[Callable[[], None]]) -> None:
        super().__init__()
        self._inner = inner
        self._closers = closers

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        if not data:
            return 0
        size = len(data)
        buffer[:size] = data
        return size

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                for close in self._closers:
                    close()
        super().close()


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, /) -> bytes: ...


class FrameReader(io.RawIOBase):
    """Streaming decompression that reports a truncated stream instead of ending quietly.

    Consecutive gzip members / zstd frames are read one after the other (as `cat a.gz b.gz` and
    `zstd` produce them). Everything decoded is returned before an error: when the input ends in
    the middle of a member, `read` raises `EOFError`; corrupt data raises the codec's error.
    """

    CHUNK = 1 << 17

    def __init__(self, raw: IO[bytes], new_frame: Callable[[], _Decompressor], codec: str) -> None:
        super().__init__()
        self._raw = raw
        self._new_frame = new_frame
        self._codec = codec
        self._frame = new_frame()
        self._in_frame = False
        self._pending = bytearray()
        self._offset = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._offset >= len(self._pending):
            if self._done:
                return 0
            self._pending.clear()
            self._offset = 0
            chunk = self._raw.read(self.CHUNK)
            if not chunk:
                self._done = True
                if self._in_frame:
                    raise EOFError(f"{self._codec} stream ends in the middle (truncated file)")
                return 0
            self._feed(chunk)
        size = min(len(buffer), len(self._pending) - self._offset)
        buffer[:size] = self._pending[self._offset : self._offset + size]
        self._offset += size
        return size

    def _feed(self, data: bytes) -> None:
        while data:
            if not self._in_frame:
                data = data.lstrip(b"\x00")  # padding between members, as gzip tolerates
                if not data:
                    return
            self._pending += self._frame.decompress(data)
            self._in_frame = True
            if not self._frame.eof:
                return
            data = self._frame.unused_data
            self._frame = self._new_frame()
            self._in_frame = False


def _gzip_member() -> _Decompressor:
    return zlib.decompressobj(wbits=31)


def _zstd_frame() -> _Decompressor:
    frame: _Decompressor = zstandard.ZstdDecompressor().decompressobj()
    return frame


def expand_sources(sources: Sequence[str | Path]) -> list[InputFile]:
    """Every log file named by `sources`: files, folders (recursive, sorted) and zip members.

    Hidden files and folders, and files that are obviously not logs (`SKIPPED_SUFFIXES`,
    `SKIPPED_PREFIXES`) are skipped inside folders and zips; a file named explicitly is always
    read. Raises `IngestError` naming the path when it does not exist or a zip is corrupt.
    """
    found: list[InputFile] = []
    seen: set[tuple[str, str | None]] = set()
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise IngestError(f"input not found: {path}")
        files = _walk(path, set()) if path.is_dir() else iter([path])
        for file in files:
            for item in _inputs_of(file):
                key = (str(item.path.resolve()), item.member)
                if key not in seen:
                    seen.add(key)
                    found.append(item)
    return found


def _walk(folder: Path, visited: set[Path]) -> Iterator[Path]:
    real = folder.resolve()
    if real in visited:  # a symlink loop
        return
    visited.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        raise IngestError(f"cannot list folder {folder}: {exc.strerror or exc}") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir():
            yield from _walk(path, visited)
        elif entry.is_file() and is_log_candidate(entry.name):
            yield path


def _inputs_of(path: Path) -> list[InputFile]:
    if not _is_zip(path):
        return [InputFile(path, None, path.stat().st_size)]
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir() and _is_log_member(info.filename)
            ]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise IngestError(f"corrupt zip file {path}: {exc}") from None
    members.sort(key=lambda info: info.filename)
    return [InputFile(path, info.filename, info.compress_size) for info in members]


#: Names that are never sniffed for zip magic bytes (saves opening every archive file twice).
LOG_SUFFIXES: tuple[str, ...] = (".json", ".gz", ".zst", ".ndjson", ".jsonl", ".log")


def _is_zip(path: Path) -> bool:
    """A `.zip` (any case), or a file with another, unusual name that starts like a zip."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return True
    if name.endswith(LOG_SUFFIXES):
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(4) in ZIP_MAGICS
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None


def _is_log_member(name: str) -> bool:
    parts = name.split("/")
    if any(part.startswith(".") or part == "__MACOSX" for part in parts[:-1]):
        return False
    return is_log_candidate(parts[-1]) and not parts[-1].lower().endswith(".zip")
