"""Shared fixtures: where the corpus lives and small event factories."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real public corpus beside the project (`../shared/corpus`)."""
    assert CORPUS.is_dir(), f"the corpus is expected at {CORPUS}"
    return CORPUS
