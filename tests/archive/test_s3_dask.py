"""A job on a Dask cluster over an archive in an object store: the workers get the `s3://` URL
(not a path, not the client's credentials) and read it with their own environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from engine import run
from engine.core.errors import ArchiveError
from tests.archive.test_s3_archive import both, same
from tests.detect.test_dask import RULES, Recording, logs

# one cluster for the Dask tests (`dask_client`): its processes start once, on loopback
pytestmark = pytest.mark.xdist_group("dask")

S3_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL")


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def workers_reach_s3(dask_client: Client, s3_bucket: str) -> Iterator[Client]:
    """The cluster's workers with this test's S3 environment (as a user sets it on each)."""
    dask_client.run(_set_environment, {name: os.environ[name] for name in S3_NAMES})
    yield dask_client
    dask_client.run(_set_environment, dict.fromkeys(S3_NAMES))


def test_a_cluster_run_over_s3_equals_the_local_run(
    workers_reach_s3: Client, tmp_path: Path, s3_bucket: str
) -> None:
    local, remote = both(logs(), tmp_path, s3_bucket)
    here = run(RULES, local)
    backend = Recording(workers_reach_s3)
    same(run(RULES, remote, backend=backend), here)
    assert sorted(backend.outcomes) == [0, 1, 2, 3]  # 2 workers: 4 tasks, each read s3


def test_workers_without_credentials_fail_the_run_naming_the_url(
    dask_client: Client, tmp_path: Path, s3_bucket: str
) -> None:
    # the client's environment reaches s3, the workers' does not: the URL travels, not the keys
    _, remote = both(logs(100), tmp_path, s3_bucket)
    with pytest.raises(ArchiveError, match=f"no credentials for {remote}"):
        run(RULES, remote, cluster=dask_client)
