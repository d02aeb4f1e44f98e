"""Builders for detection tests: rules as Datadog JSON, events at `T + n` seconds, archives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import ingest

T = 1_704_067_200_000  # 2024-01-01T00:00:00.000Z, "T" in SPEC §8


def at(seconds: float) -> int:
    """Epoch ms of `T + seconds`."""
    return T + round(seconds * 1000)


def rule(
    *queries: dict[str, Any],
    cases: list[dict[str, Any]] | None = None,
    window: int = 300,
    keep_alive: int = 600,
    max_duration: int = 3600,
    **extra: Any,
) -> dict[str, Any]:
    """A threshold rule in Datadog JSON (defaults: SPEC §8 rule R1)."""
    if not queries:
        queries = (query(),)
    return {
        "name": extra.pop("name", "R1"),
        "type": "log_detection",
        "queries": list(queries),
        "cases": cases if cases is not None else [{"status": "high", "condition": "a > 3"}],
        "options": {
            "detectionMethod": "threshold",
            "evaluationWindow": window,
            "keepAlive": keep_alive,
            "maxSignalDuration": max_duration,
        },
        "message": extra.pop("message", "Failed logins"),
        **extra,
    }


def query(
    text: str = "source:auth @evt.outcome:failure",
    group_by: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A count query grouped by `@usr.id` unless told otherwise."""
    return {
        "query": text,
        "aggregation": extra.pop("aggregation", "count"),
        "groupByFields": ["@usr.id"] if group_by is None else group_by,
        **extra,
    }


def event(seconds: float, user: str | None = "alice", **attributes: Any) -> dict[str, Any]:
    """An auth failure of `user` at `T + seconds` (attributes merged in)."""
    attrs: dict[str, Any] = {"evt": {"outcome": "failure"}}
    if user is not None:
        attrs["usr"] = {"id": user}
    attrs.update(attributes)
    return {
        "timestamp": at(seconds),
        "source": attrs.pop("source", "auth"),
        "service": attrs.pop("service", "auth-api"),
        "attributes": attrs,
    }


def times(result: Any) -> tuple[int, int]:
    """(first_seen, last_seen) of a result in seconds after T."""
    first = round(result.first_seen.timestamp() * 1000 - T) // 1000
    last = round(result.last_seen.timestamp() * 1000 - T) // 1000
    return first, last


def archive_of(logs: list[dict[str, Any]], root: Path) -> Path:
    """An archive under `root` holding `logs` (ingested from a JSON-lines file)."""
    source = root / "logs.ndjson"
    source.write_text("\n".join(json.dumps(item) for item in logs))
    ingest(source, root / "archive")
    return root / "archive"
