"""A job on a Dask cluster (a LocalCluster of 2 worker processes) gives a local run's results."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from distributed import Client

from engine import HindsightError, JobRun, run
from engine.scan.backends.dask import DaskBackend, connect
from tests.detect.builders import T, archive_of, at, query, rule
from tests.detect.test_impossible_travel import PLACES, access, travel_rule
from tests.detect.test_methods import DUMMY, Remembering, registered
from tests.detect.test_new_value import DAY, login, new_value_rule

S = TypeVar("S")
registered_method = contextmanager(registered)
R = TypeVar("R")

# one cluster for the Dask tests (`dask_client`): its processes start once, on loopback
pytestmark = pytest.mark.xdist_group("dask")


@pytest.fixture
def client(dask_client: Client) -> Client:
    return dask_client


USERS = [f"user{n}" for n in range(12)]
ENVS = ["dev", "prod", "staging"]


def logs(count: int = 1500, seed: int = 7) -> list[dict[str, Any]]:
    """Auth events of 12 users in 3 envs over two hours, some failures, some successes."""
    draw = random.Random(seed)
    return [
        {
            "timestamp": T + draw.randrange(0, 7_200_000),
            "source": "auth",
            "service": "auth-api",
            "tags": [f"env:{draw.choice(ENVS)}"],
            "attributes": {
                "evt": {"outcome": draw.choice(["failure", "failure", "success"])},
                "usr": {"id": draw.choice(USERS)},
                "network": {"client": {"ip": f"10.0.0.{draw.randrange(6)}"}},
            },
        }
        for _ in range(count)
    ]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return archive_of(logs(), tmp_path_factory.mktemp("dask"))


RULES = [
    rule(cases=[{"status": "high", "condition": "a > 2"}], name="failures by user"),
    rule(
        query("source:auth", ["@usr.id", "env"]),
        query("@evt.outcome:success", ["@usr.id", "env"]),
        cases=[{"status": "medium", "condition": "a > 2 && b > 0"}],
        groupSignalsBy=["env"],
        name="by env",
    ),
    rule(query("@evt.outcome:success", []), name="ungrouped", window=600),
    rule(
        query("source:auth", ["@usr.id"]),
        query("@evt.outcome:failure", []),
        cases=[{"status": "low", "condition": "a > 1 && b > 5"}],
        name="one query ungrouped",
    ),
    rule(
        query(
            "source:auth",
            ["@usr.id"],
            aggregation="cardinality",
            distinctFields=["@network.client.ip"],
        ),
        cases=[{"status": "info", "condition": "a >= 3"}],
        name="distinct ips",
    ),
]


class Recording(DaskBackend):
    """A Dask backend that keeps what each task handed back."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.outcomes: dict[int, Any] = {}

    def map(
        self, task: Callable[[S, int], R], shared: S, count: int, *, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[int, R]]:
        for number, outcome in super().map(task, shared, count, should_stop=should_stop):
            self.outcomes[number] = outcome
            yield number, outcome


def same(one: JobRun, other: JobRun) -> None:
    """The two runs found the same results (documents, ids, samples) and statistics."""
    assert [r.to_histsignal() for r in one.results] == [r.to_histsignal() for r in other.results]
    assert one.results == other.results
    assert one.events_scanned == other.events_scanned
    for mine, theirs in zip(one.stats, other.stats, strict=True):
        assert (mine.rule, mine.events_scanned, mine.events_matched, mine.results) == (
            theirs.rule,
            theirs.events_scanned,
            theirs.events_matched,
            theirs.results,
        )
        assert (mine.results_by_severity, mine.error) == (theirs.results_by_severity, theirs.error)


def test_a_cluster_run_equals_a_local_run_with_groups_across_partitions(
    client: Client, archive: Path
) -> None:
    local = run(RULES, archive)
    backend = Recording(client)
    distributed = run(RULES, archive, backend=backend)
    same(distributed, local)
    assert {stat.rule for stat in local.stats if stat.results} == {rule["name"] for rule in RULES}
    # 2 workers: 4 tasks, and the grouped rules' results come from more than one of them
    assert sorted(backend.outcomes) == [0, 1, 2, 3]
    by_user = [
        number
        for number, outcome in backend.outcomes.items()
        if any(r.rule_name == "failures by user" for r in outcome.results)
    ]
    assert len(by_user) > 1
    # ungrouped rules are read whole, by the task of partition 0
    assert all(
        r.rule_name != "ungrouped" for n, o in backend.outcomes.items() if n for r in o.results
    )


def test_a_cluster_run_over_logs_in_memory_and_a_time_range(client: Client) -> None:
    given = logs(300, seed=11)
    window = {"start": T + 600_000, "end": T + 5_400_000}
    same(run(RULES, given, cluster=client, **window), run(RULES, given, **window))


def test_a_cluster_run_keeps_the_run_options(client: Client, archive: Path) -> None:
    local = run(RULES, archive, max_results=5, job_id="job-1")
    distributed = run(RULES, archive, max_results=5, job_id="job-1", cluster=client)
    assert distributed.truncated and distributed.results == local.results
    bad = rule(name="bad")
    bad["options"]["detectionMethod"] = "hardcoded"  # a method that cannot run
    outcome = run([bad, *RULES[:1]], archive, cluster=client)
    assert outcome.stats[0].error == run([bad], archive).stats[0].error is not None
    assert outcome.results == run(RULES[:1], archive).results


def test_progress_follows_the_finished_tasks(client: Client, archive: Path) -> None:
    seen: list[float] = []
    run(RULES, archive, cluster=client, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert len(seen) >= 4  # one report per finished task (4), then 1.0


def test_a_stopped_run_cancels_its_tasks(client: Client, archive: Path) -> None:
    asked = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 1

    outcome = run(RULES, archive, cluster=client, should_stop=stop)
    assert outcome.cancelled
    deadline = time.monotonic() + 10
    while scheduler_tasks(client) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scheduler_tasks(client) == 0


def scheduler_tasks(client: Client) -> int:
    """How many tasks the scheduler still holds."""
    count: int = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
    return count


def test_a_local_cluster_by_name(archive: Path) -> None:
    assert run(RULES[:1], archive, cluster="local:1").results == run(RULES[:1], archive).results


@pytest.mark.parametrize("name", ["local:0", "local:two"])
def test_a_bad_local_cluster_is_refused(name: str) -> None:
    with pytest.raises(HindsightError, match=r"local:N needs a number of workers >= 1"):
        connect(name)


def test_a_backend_and_a_cluster_are_refused_together(client: Client) -> None:
    with pytest.raises(ValueError, match="a backend or a cluster, not both"):
        run(RULES, [], cluster=client, backend=DaskBackend(client))


def test_a_rule_reading_the_others_results_runs_after_the_tasks_on_the_client(
    client: Client, archive: Path
) -> None:
    # the method is registered in this process only: it runs here, over the tasks' results
    with registered_method(Remembering()):
        local = run([DUMMY, *RULES], archive)
        distributed = run([DUMMY, *RULES], archive, cluster=client)
    same(distributed, local)
    earlier = {r.extra["earlier_results"] for r in distributed.results if r.rule_name == "dummy"}
    assert earlier == {sum(stat.results for stat in local.stats[1:])} and earlier != {0}


COUNTRIES = ["FR", "US", "JP", "DE", "BR", "IN", "CA", "MX", "IT", "ES", "PL", "SE"]


def test_new_value_and_impossible_travel_rules_on_a_cluster(client: Client) -> None:
    # per-group methods: each task detects the users of its partition, with the same learning
    # period (the rule's first event over all users, found once by the client)
    draw = random.Random(3)
    given = []
    for _ in range(400):
        moment = draw.uniform(0, 3 * DAY)
        user = draw.choice(USERS)
        given.append(access(moment, draw.choice(PLACES), user))
        given.append(login(moment + 1, draw.choice(COUNTRIES), user))
    failures = rule(cases=[{"status": "low", "condition": "a > 0"}], name="any failure")
    rules = [new_value_rule() | {"name": "new"}, travel_rule() | {"name": "travel"}, failures]
    for window in ({"start": at(DAY), "end": at(3 * DAY)}, {}):
        local = run(rules, given, **window)
        assert len(local.results) > 10
        assert {r.detection_method for r in local.results} == {
            "new_value",
            "impossible_travel",
            "threshold",
        }
        backend = Recording(client)
        same(run(rules, given, backend=backend, **window), local)
        for name in ("new", "travel"):
            tasks = [
                number
                for number, outcome in backend.outcomes.items()
                if any(r.rule_name == name for r in outcome.results)
            ]
            assert len(tasks) > 1, name
