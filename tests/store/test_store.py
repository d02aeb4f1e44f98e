"""The store: status transitions, persistence across reopen, keys kept as digests, idempotence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.errors import StoreError
from engine.core.times import parse_timestamp
from engine.results import export
from engine.store import connect
from engine.store.jobs import JobRecord, JobStore
from engine.store.keys import SCOPES, KeyStore
from engine.store.rules import RuleStore
from engine.store.signals import DeliveryRecord, SignalRecord, SignalStore
from engine.store.tables import api_keys
from tests.results.many import result

JOB_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"


def job(status: str = "pending") -> JobRecord:
    return JobRecord(
        id=JOB_ID, name="j", status=status, definition={}, index_name="main", from_ms=0, to_ms=1
    )


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    database = connect(tmp_path / "s.db")
    with database.begin() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_unusable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open the database"):
        connect("nosuchdialect://x")


@pytest.mark.parametrize(
    ("action", "from_status", "allowed", "to_status"),
    [
        pytest.param("start", "pending", True, "running", id="start-pending"),
        pytest.param("start", "cancelled", False, "cancelled", id="start-cancelled"),
        pytest.param("cancel", "running", True, "cancelled", id="cancel-running"),
        pytest.param("cancel", "completed", False, "completed", id="cancel-completed"),
        pytest.param("finish", "running", True, "completed", id="finish-running"),
        pytest.param("finish", "cancelled", False, "cancelled", id="finish-cancelled"),
    ],
)
def test_status_transitions_are_conditional(
    database_url: str, action: str, from_status: str, allowed: bool, to_status: str
) -> None:
    jobs = JobStore(connect(database_url))
    jobs.insert(job(from_status))
    outcome = (
        jobs.finish(JOB_ID, "completed") if action == "finish" else getattr(jobs, action)(JOB_ID)
    )
    assert outcome is allowed
    record = jobs.get(JOB_ID)
    assert record is not None and record.status == to_status


def test_delete_refuses_active_jobs(database_url: str) -> None:
    jobs = JobStore(connect(database_url))
    jobs.insert(job("running"))
    assert not jobs.delete(JOB_ID)
    jobs.finish(JOB_ID, "failed", failure="boom")
    assert jobs.delete(JOB_ID)
    assert jobs.get(JOB_ID) is None


def test_everything_survives_a_reopen(database_url: str) -> None:
    path = database_url
    first = connect(path)
    JobStore(first).insert(job())
    RuleStore(first).put("abc-def-ghi", {"name": "r"})
    pair = KeyStore(first).create(name="ci")
    first.close()
    again = connect(path)
    assert JobStore(again).get(JOB_ID) is not None
    stored = RuleStore(again).get("abc-def-ghi")
    assert stored is not None and stored.document == {"name": "r"}
    assert KeyStore(again).api_key_valid(pair.api_key)


def test_keys_are_stored_as_digests_with_scopes(database_url: str) -> None:
    database = connect(database_url)
    keys = KeyStore(database)
    pair = keys.create(scopes=["security_monitoring_signals_read"])
    with database.begin() as connection:
        stored = {row.digest for row in connection.execute(sa.select(api_keys.c.digest))}
    assert pair.api_key not in stored and pair.application_key not in stored
    assert keys.application_scopes(pair.application_key) == ("security_monitoring_signals_read",)
    assert keys.application_scopes(pair.api_key) is None  # an API key is not an app key
    assert not keys.api_key_valid("0" * 32)
    with pytest.raises(ValueError, match="unknown scope"):
        keys.create(scopes=["admin"])
    assert set(KeyStore(database).create().scopes) == set(SCOPES)


def test_a_result_converts_to_one_signal_only(database_url: str) -> None:
    signals = SignalStore(connect(database_url))
    signal = SignalRecord("sig-1", "res-1", None, 5, "high", {"id": "sig-1"}, [], 9)
    assert signals.insert(signal)
    assert not signals.insert(SignalRecord("sig-2", "res-1", None, 5, "low", {}, [], 9))
    assert signals.for_result("res-1") == signal


def test_deliveries_keep_their_order(database_url: str) -> None:
    signals = SignalStore(connect(database_url))
    records = [
        DeliveryRecord("@webhook-a", "webhook", attempt, "failed", 503, "busy", attempt, "sig-1")
        for attempt in (1, 2)
    ]
    signals.record_deliveries(records)
    assert signals.deliveries(signal_id="sig-1") == records


def test_results_are_stored_batch_by_batch_in_one_transaction(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # documents are read a batch at a time as they are inserted; a reader sees none of them
    # until the last batch is in (as when they were inserted at once), then all of them
    monkeypatch.setattr(export, "RESULT_BATCH", 4)
    jobs = JobStore(connect(database_url))
    jobs.insert(job("running"))
    seen: list[int] = []

    def documents() -> Iterator[dict[str, Any]]:
        for number in range(10):
            if number in (4, 8):  # a batch or two inserted, the transaction still open
                seen.append(len(jobs.results(JOB_ID)))
            yield result(number).to_histsignal()

    jobs.add_results(JOB_ID, documents())
    assert seen == [0, 0]
    stored = jobs.results(JOB_ID)
    assert [item.id for item in stored] == [result(number).id for number in range(10)]
    assert all(item.document["attributes"]["attributes"]["converted"] is False for item in stored)
    assert stored[3].rule_name == "rule 3" and stored[3].timestamp_ms == parse_timestamp(
        result(3).to_histsignal()["attributes"]["timestamp"]
    )
