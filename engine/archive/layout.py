"""Where things live in an archive: `<root>/index=<name>/dt=YYYYMMDD/hour=HH/*.parquet`.

Partitions are by UTC event time. Each index folder also holds `_manifest.json` (the unified
schema and per-file statistics, see `manifest.py`) and, in a local folder, a `.lock` file taken
while writing. The root is a folder or an object-store prefix (`storage.py`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path

from engine.archive.storage import Storage
from engine.core.errors import IngestError

INDEX_PREFIX = "index="
MANIFEST_NAME = "_manifest.json"
LOCK_NAME = ".lock"
HOUR_MS = 3_600_000
_INDEX_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_PARTITION = re.compile(r"^dt=(\d{8})/hour=(\d{2})$")
#: The relative paths of an index folder's data files.
DATA_FILES = "dt=*/hour=*/*.parquet"


def check_index_name(name: str) -> str:
    """Return `name` if it is a valid index name, else raise `IngestError` saying why."""
    if not _INDEX_NAME.match(name):
        raise IngestError(
            f"invalid index name {name!r}: use 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit"
        )
    return name


def index_dir(root: Path, index: str) -> Path:
    """The folder of one index of a local archive."""
    return root / f"{INDEX_PREFIX}{index}"


def index_folder(root: str | Path | Storage, index: str) -> Storage:
    """The folder of one index of an archive (local or in an object store)."""
    return Storage.of(root).child(f"{INDEX_PREFIX}{index}")


def partition_of(epoch_ms: int) -> str:
    """The partition (`dt=YYYYMMDD/hour=HH`) an event time falls in."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC)
    return f"dt={moment:%Y%m%d}/hour={moment:%H}"


def partition_start(partition: str) -> int:
    """Epoch ms of the first instant of a partition."""
    found = _PARTITION.match(partition)
    if not found:
        raise ValueError(f"not a partition path: {partition!r}")
    day, hour = found.groups()
    moment = datetime.strptime(day + hour, "%Y%m%d%H").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def list_indexes(root: str | Path | Storage) -> list[str]:
    """Names of the indexes present under an archive root."""
    return sorted(
        name[len(INDEX_PREFIX) :]
        for name in Storage.of(root).folders()
        if name.startswith(INDEX_PREFIX)
    )


def data_files(listing: dict[str, int]) -> dict[str, int]:
    """The data files (relative path -> size) of an index folder's listing (`Storage.files`)."""
    return {
        name: size
        for name, size in listing.items()
        if fnmatchcase(name, DATA_FILES)
        and name.count("/") == 2
        and not name.rsplit("/", 1)[-1].startswith((".", "_"))
    }


def list_data_files(folder: str | Path | Storage) -> list[str]:
    """Relative paths of every Parquet file in an index folder's partitions, sorted."""
    return sorted(data_files(Storage.of(folder).files()))
