"""Converting results answers at once; notifications are delivered in the background.

A webhook that never answers is retried after the conversion answered 204. Meanwhile the signal's
delivery records show the progress (a `pending` record, then each attempt), and a server stop
records every target it did not finish as `undelivered`: nothing is lost silently.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.notify.delivery import QUEUED
from engine.notify.notifier import STOPPED_BEFORE_RETRYING, STOPPED_BEFORE_SENDING
from engine.store import connect
from engine.store.signals import SignalStore
from tests.api.conftest import EACH, HISTORICAL, SIGNALS, Api, definition, run_body, serve

TIMEOUT = 1.0  # seconds a webhook attempt waits for an answer


@contextmanager
def silent_webhook() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"


def notifications(url: str, *, attempts: int, backoff: float) -> dict[str, Any]:
    return {
        "webhooks": {"slow": {"url": url, "timeout_seconds": TIMEOUT}},
        "max_attempts": attempts,
        "backoff_seconds": backoff,
    }


def convert(api: Api, result_id: str) -> tuple[int, float]:
    """POST signal_convert notifying @webhook-slow: the status and the seconds it took."""
    body = {
        "data": {
            "type": "historicalDetectionsJobResultSignalConversion",
            "attributes": {
                "jobResultIds": [result_id],
                "notifications": ["@webhook-slow"],
                "signalMessage": "Confirmed",
                "signalSeverity": "high",
            },
        }
    }
    started = time.perf_counter()
    response = api.client.post(f"{HISTORICAL}/jobs/signal_convert", json=body, headers=api.headers)
    return response.status_code, time.perf_counter() - started


def deliveries(api: Api, signal_id: str) -> list[tuple[int, str, str]]:
    response = api.client.get(f"{SIGNALS}/{signal_id}", headers=api.headers)
    assert response.status_code == 200
    return [
        (item["attempt"], item["outcome"], item["detail"])
        for item in response.json()["data"]["attributes"]["deliveries"]
    ]


def signal_of(api: Api, result_id: str) -> str:
    response = api.client.get(f"{HISTORICAL}/histsignals/{result_id}", headers=api.headers)
    signal_id: str = response.json()["data"]["attributes"]["custom"]["signal_id"]
    return signal_id


def test_convert_answers_at_once_while_a_silent_webhook_is_retried(
    tmp_path: Path, archive: Path
) -> None:
    with (
        silent_webhook() as url,
        serve(tmp_path, archive, notifications=notifications(url, attempts=3, backoff=0.1)) as api,
    ):
        result_id = api.results(api.finish(api.run(run_body(definition(EACH))))["id"])[0]["id"]
        status, seconds = convert(api, result_id)
        assert status == 204
        assert seconds < TIMEOUT  # three attempts would take three timeouts and the waits
        signal_id = signal_of(api, result_id)
        assert deliveries(api, signal_id) == [(0, "pending", QUEUED)]
        api.service.deliveries.join()
        records = deliveries(api, signal_id)
        assert [(attempt, outcome) for attempt, outcome, _ in records] == [
            (1, "failed"),
            (2, "failed"),
            (3, "failed"),
        ]
        assert all("timed out" in detail.lower() for _, _, detail in records)


def test_a_stop_records_the_deliveries_it_did_not_finish_as_undelivered(
    tmp_path: Path, archive: Path
) -> None:
    settings = notifications("", attempts=4, backoff=20.0)
    with silent_webhook() as url:
        settings["webhooks"]["slow"]["url"] = url
        with serve(tmp_path, archive, notifications=settings) as api:
            job_id = api.finish(api.run(run_body(definition(EACH))))["id"]
            first, second = (item["id"] for item in api.results(job_id)[:2])
            assert convert(api, first)[0] == convert(api, second)[0] == 204
            signals = signal_of(api, first), signal_of(api, second)
            started = time.perf_counter()
        # the service closed: the first signal's retries were cut short, the second never sent
        assert time.perf_counter() - started < 2 * TIMEOUT + 1
    database = connect(tmp_path / "hindsight.db")
    try:
        cut, unsent_records = (SignalStore(database).deliveries(signal_id=i) for i in signals)
    finally:
        database.close()
    assert [(record.attempt, record.outcome) for record in cut] == [
        (1, "failed"),
        (0, "undelivered"),
    ]
    assert cut[1].detail == STOPPED_BEFORE_RETRYING
    (unsent,) = unsent_records
    assert (unsent.attempt, unsent.outcome, unsent.detail) == (
        0,
        "undelivered",
        STOPPED_BEFORE_SENDING,
    )
