"""A run's scratch folder: temporary files removed by `close` (a context manager), or, failing
that, when the object holding them is garbage collected."""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from typing import Self

__all__ = ["Scratch"]


class Scratch:
    """A temporary folder named with `prefix` when `wanted` (else none: `folder` is None)."""

    def __init__(self, prefix: str, *, wanted: bool) -> None:
        self.folder: str | None = None
        if wanted:
            self.folder = tempfile.mkdtemp(prefix=prefix)
            self._remove = weakref.finalize(self, shutil.rmtree, self.folder, True)

    def path(self, name: str) -> str:
        """The path of file `name` in the folder."""
        assert self.folder is not None
        return os.path.join(self.folder, name)

    def close(self) -> None:
        """Remove the folder and its files (if any)."""
        if self.folder is not None:
            self._remove()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
