"""Where the public corpus is, and how the tests that need it behave without it.

One setting, the environment variable `HINDSIGHT_CORPUS`, names the corpus folder (default:
`../shared/corpus` beside the repository). When the folder is absent, corpus tests are skipped
with a one-line reason, unless `HINDSIGHT_REQUIRE_CORPUS=1` (set by `.ci/run`): then they fail.

Tests get the folder from the `corpus` fixture (`tests/conftest.py`). Tests parametrized over
corpus files at collection time use `corpus_params`, which yields the parameters, or one
parameter marked `needs_corpus` that the conftest turns into the same skip or failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS_ENV = "HINDSIGHT_CORPUS"
REQUIRE_ENV = "HINDSIGHT_REQUIRE_CORPUS"
MARKER = "needs_corpus"


def corpus_root() -> Path:
    """The corpus folder `HINDSIGHT_CORPUS` names (default `../shared/corpus`)."""
    configured = os.environ.get(CORPUS_ENV)
    return Path(configured) if configured else REPO.parent / "shared" / "corpus"


def missing_reason() -> str | None:
    """Why corpus tests cannot run here, or None when the corpus is present."""
    root = corpus_root()
    if root.is_dir():
        return None
    return f"the public corpus is not at {root} (set {CORPUS_ENV} to its folder)"


def require_corpus() -> Path:
    """The corpus folder; without it, skips the test (fails it if HINDSIGHT_REQUIRE_CORPUS=1)."""
    reason = missing_reason()
    if reason is None:
        return corpus_root()
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ENV}=1 requires it", pytrace=False)
    pytest.skip(reason)


def corpus_params(build: Callable[[Path], Iterable[Any]], *, arity: int = 1) -> list[Any]:
    """`parametrize` values built from the corpus folder, or one `needs_corpus` stand-in.

    `build(root)` returns the values (plain, or `pytest.param`s with their ids); `arity` is the
    number of parametrized arguments (the stand-in fills each with None).
    """
    if missing_reason() is not None:
        stand_in = [None] * arity
        return [pytest.param(*stand_in, id="corpus-missing", marks=getattr(pytest.mark, MARKER))]
    return list(build(corpus_root()))
