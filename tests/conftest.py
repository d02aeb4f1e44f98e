"""Shared fixtures: the public corpus (see tests/corpus.py) and a throwaway PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.corpus import MARKER, REPO, require_corpus

__all__ = ["REPO"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: the stand-in parameter of a corpus test when the corpus is absent"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker(MARKER) is not None:
        require_corpus()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The public corpus folder (`HINDSIGHT_CORPUS`; see tests/corpus.py)."""
    return require_corpus()


# --- a throwaway PostgreSQL server (Unix socket only) for the store and service tests -----

PORT = 54329


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(*args: str) -> None:
    command = _as_postgres(list(args))
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr or done.stdout}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL template of a PostgreSQL server started for this session (socket only)."""
    binaries = [shutil.which(name) for name in ("initdb", "pg_ctl")]
    assert all(binaries), "PostgreSQL (initdb, pg_ctl) must be installed to test that backend"
    folder = Path(tempfile.mkdtemp(prefix="hindsight-pg-"))  # reachable by the postgres user
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    _run("initdb", "-D", str(data), "-U", "hindsight", "--auth=trust")
    options = f"-k {folder} -p {PORT} -c listen_addresses=''"
    _run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://hindsight@/{{database}}?host={folder}&port={PORT}"
    finally:
        _run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A client of a Dask LocalCluster of 2 worker processes (one thread each) on 127.0.0.1,
    started once (test modules using it share the `dask` xdist group)."""
    from distributed import Client, LocalCluster  # noqa: PLC0415 - only Dask tests load Dask

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # a free port: a second cluster on this host must not warn
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


# --- an S3-compatible server (moto) on loopback, for archives in an object store -----------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server started for this session on 127.0.0.1 (a free port)."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only the S3 tests load moto

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


#: The environment of the S3 tests (moto takes any credentials).
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "eu-west-3",
}


def new_bucket(endpoint: str) -> str:
    """`s3://<a new bucket>` on the S3 server at `endpoint`."""
    import pyarrow.fs as pafs  # noqa: PLC0415

    bucket = f"hindsight-{uuid.uuid4().hex[:12]}"
    store = pafs.S3FileSystem(
        access_key=S3_ENV["AWS_ACCESS_KEY_ID"],
        secret_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
        region=S3_ENV["AWS_REGION"],
        endpoint_override=endpoint.removeprefix("http://"),
        scheme="http",
        allow_bucket_creation=True,
    )
    store.create_dir(bucket)
    return f"s3://{bucket}"


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`s3://<a new bucket>` on the moto server, with the environment set to reach it."""
    for name in ("AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**S3_ENV, "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(name, value)
    return new_bucket(moto_endpoint)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    template: str = request.getfixturevalue("postgres_server")
    name = "t" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(template.format(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return template.format(database=name)


#: Where the browser tests (tests/web) write their screenshots.
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the browser tests left their screenshots."""
    if any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
