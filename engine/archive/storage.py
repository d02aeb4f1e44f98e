"""Where an archive lives: a local folder, or an object-store prefix (`s3://bucket/prefix`).

`Storage.of(root)` names one folder of either kind; every archive module lists, reads and writes
archive files through it (`child` for a sub-folder), with pyarrow's file systems, and polars reads
the same files by URL (`url`, `options`). A local folder keeps the behaviour of plain files (a
temporary file renamed into place); on S3 an object appears whole when its upload completes.

S3 settings come from the environment of each process that reads (so every Dask worker needs
them): `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (required), `AWS_SESSION_TOKEN`,
`AWS_REGION` or else `AWS_DEFAULT_REGION` (default `us-east-1`), and `AWS_ENDPOINT_URL` for an
S3-compatible server (`http://host:port` allows plain HTTP). Nothing else is read: no profile
file, no instance role. A `Storage` pickles as its root alone, so a worker resolves it from its
own environment.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from engine.core.errors import ArchiveError

S3_SCHEME = "s3://"
DEFAULT_REGION = "us-east-1"
#: Seconds to connect to, and to wait for an answer from, the object store; attempts per request.
CONNECT_SECONDS = 5
REQUEST_SECONDS = 30
ATTEMPTS = 3


def is_url(root: str | Path) -> bool:
    """Whether an archive root names an object-store prefix rather than a local folder."""
    return isinstance(root, str) and root.startswith(S3_SCHEME)


@dataclass(frozen=True)
class Storage:
    """One folder of an archive: a local path (as given) or `s3://bucket/prefix`."""

    root: str

    @classmethod
    def of(cls, root: str | Path | Storage) -> Storage:
        """The storage of a root: a `Storage`, a local path, or an `s3://bucket/prefix` URL."""
        if isinstance(root, Storage):
            return root
        if is_url(root):
            path = str(root).removeprefix(S3_SCHEME).strip("/")
            if not path:
                raise ArchiveError(f"archive URL {root!r} names no bucket (s3://bucket/prefix)")
            return cls(S3_SCHEME + path)
        if isinstance(root, str) and "://" in root:
            raise ArchiveError(f"unsupported archive URL {root!r}: use a folder or s3://bucket/...")
        return cls(str(Path(root)))

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root}  # not the file system: a process resolves its own

    @property
    def remote(self) -> bool:
        """Whether the folder is in an object store."""
        return is_url(self.root)

    def child(self, name: str) -> Storage:
        """The sub-folder `name` (a relative path with `/`)."""
        return Storage(f"{self.root}/{name}")

    def absolute(self) -> Storage:
        """The same folder, named so any process finds it (a local path from `/`)."""
        return self if self.remote else Storage(str(Path(self.root).resolve()))

    def url(self, name: str = "") -> str:
        """How messages and polars name a file of the folder (or the folder itself)."""
        return f"{self.root}/{name}" if name else self.root

    def _path(self, name: str = "") -> str:
        """The path of a file of the folder on the file system (`bucket/key` on S3)."""
        return self.url(name).removeprefix(S3_SCHEME)

    @cached_property
    def fs(self) -> pafs.FileSystem:
        """The pyarrow file system of the folder (S3 settings from the environment)."""
        if not self.remote:
            return pafs.LocalFileSystem()
        return pafs.S3FileSystem(**_s3_settings(self.root))

    @cached_property
    def options(self) -> dict[str, str] | None:
        """polars' `storage_options` for the folder's files (None: local)."""
        if not self.remote:
            return None
        settings = _s3_settings(self.root)
        options = {
            "aws_access_key_id": settings["access_key"],
            "aws_secret_access_key": settings["secret_key"],
            "aws_region": settings["region"],
        }
        if settings.get("session_token"):
            options["aws_session_token"] = settings["session_token"]
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options["aws_endpoint_url"] = endpoint
            options["aws_allow_http"] = str(endpoint.startswith("http://")).lower()
        return options

    @contextmanager
    def _reaching(self, name: str = "", doing: str = "read") -> Iterator[None]:
        """Turn a file system failure into an `ArchiveError` naming the file (or the folder)."""
        try:
            yield
        except OSError as exc:
            raise ArchiveError(f"cannot {doing} {self.url(name)}: {exc}") from None

    def check(self, *, folder: bool = True) -> None:
        """Raise `ArchiveError` naming what is missing: on S3 the bucket; when `folder`, the
        folder itself (on S3: objects under the prefix)."""
        with self._reaching():
            found = self.fs.get_file_info(self._path()).type == pafs.FileType.Directory
            if not found and self.remote:
                bucket = self._path().split("/", 1)[0]
                if self.fs.get_file_info(bucket).type != pafs.FileType.Directory:
                    raise ArchiveError(f"archive {self.root}: bucket {bucket!r} does not exist")
        if folder and not found:
            raise ArchiveError(f"archive {self.root} does not exist or is not a folder")

    def is_dir(self, name: str = "") -> bool:
        """Whether the folder (or its sub-folder `name`) exists."""
        with self._reaching(name):
            return bool(self.fs.get_file_info(self._path(name)).type == pafs.FileType.Directory)

    def folders(self) -> list[str]:
        """Names of the folder's sub-folders (none when the folder does not exist)."""
        selector = pafs.FileSelector(self._path(), allow_not_found=True)
        with self._reaching():
            found = self.fs.get_file_info(selector)
        return [info.base_name for info in found if info.type == pafs.FileType.Directory]

    def files(self) -> dict[str, int]:
        """Every file under the folder (relative path with `/` -> size), in one listing."""
        base = self._path()
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        with self._reaching():
            found = self.fs.get_file_info(selector)
        start = len(base) + 1
        return {
            info.path[start:]: int(info.size) for info in found if info.type == pafs.FileType.File
        }

    def read_bytes(self, name: str) -> bytes:
        """The bytes of a file (raises `ArchiveError` naming it)."""
        with self._reaching(name), self.fs.open_input_stream(self._path(name)) as handle:
            data: bytes = handle.read()
        return data

    def open(self, name: str) -> pa.NativeFile:
        """A file opened for random access (Parquet footers); raises `OSError`."""
        return self.fs.open_input_file(self._path(name))

    def sha256(self, name: str) -> str:
        """The SHA-256 (hex) of a file's bytes, read as a stream (raises `ArchiveError`)."""
        with self._reaching(name), self.fs.open_input_stream(self._path(name)) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    def make_folder(self, name: str = "") -> None:
        """Create a local (sub-)folder; an object store has no folders to create."""
        if not self.remote:
            Path(self._path(name)).mkdir(parents=True, exist_ok=True)

    def write_bytes(self, name: str, data: bytes | pa.Buffer) -> None:
        """Write a file whole: readers see the old file or the new one, never a part."""
        with (
            self._reaching(name, "write"),
            self._replacing(name) as target,
            self.fs.open_output_stream(target) as handle,
        ):
            handle.write(data)

    def write_parquet(self, name: str, table: pa.Table, **options: Any) -> tuple[int, str]:
        """Write a Parquet file whole (as `write_bytes`); its size and SHA-256, taken from the
        bytes written (no second read)."""
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, **options)
        data = buffer.getvalue()
        self.write_bytes(name, data)
        return data.size, hashlib.sha256(data).hexdigest()

    @contextmanager
    def _replacing(self, name: str) -> Iterator[str]:
        """Where to write `name`: locally a temporary file renamed over it afterwards."""
        target = self._path(name)
        if self.remote:
            yield target
            return
        folder, _, base = target.rpartition("/")
        temporary = f"{folder}/.{base}.tmp"
        yield temporary
        os.replace(temporary, target)


def _s3_settings(root: str) -> dict[str, Any]:
    """`S3FileSystem` arguments from the environment (raises `ArchiveError` without keys)."""
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise ArchiveError(
            f"no credentials for {root}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    settings: dict[str, Any] = {
        "access_key": key,
        "secret_key": secret,
        "session_token": os.environ.get("AWS_SESSION_TOKEN"),
        "region": region or DEFAULT_REGION,
        "connect_timeout": CONNECT_SECONDS,
        "request_timeout": REQUEST_SECONDS,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=ATTEMPTS),
    }
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ArchiveError(f"AWS_ENDPOINT_URL {endpoint!r} is not an http(s)://host:port URL")
        settings.update(endpoint_override=parts.netloc, scheme=parts.scheme)
    return settings
