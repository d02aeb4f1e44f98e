"""The vectorized lifecycle against a naive reference: the instant-by-instant loop of SPEC §3.7."""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.detect.lifecycle import (
    CASE,
    FIRST_ID,
    SEVERITY,
    WINDOW_START,
    MatchedInstant,
    form_signals,
)

KEYS = ["_k0", "_k1"]


def reference(
    instants: list[MatchedInstant], keep_alive: int, max_duration: int
) -> list[dict[str, Any]]:
    """Instant by instant: close lazily on keepAlive / maxSignalDuration, open, or update."""
    ordered = sorted(instants, key=lambda i: (i.time, i.key, i.first_id, i.group))
    open_signals: dict[tuple[str, ...], dict[str, Any]] = {}
    signals: list[dict[str, Any]] = []
    for instant in ordered:
        current = open_signals.get(instant.key)
        if current is not None and (
            instant.time - current["last_seen"] > keep_alive
            or instant.time - current["first_seen"] > max_duration
        ):
            current = None
        if current is None:
            current = {
                "key": instant.key,
                "opened_at": instant.time,
                "first_seen": min(instant.window_start, instant.time),
                "last_seen": instant.time,
                "case": instant.case,
                "severity": instant.severity,
                "instants": [(instant.group, instant.time)],
            }
            open_signals[instant.key] = current
            signals.append(current)
            continue
        current["last_seen"] = max(current["last_seen"], instant.time)
        current["instants"].append((instant.group, instant.time))
        if instant.severity > current["severity"]:
            current["severity"], current["case"] = instant.severity, instant.case
    return signals


INSTANT = st.tuples(
    st.sampled_from(["a", "b"]),  # first key part
    st.sampled_from(["x", "y", "z"]),  # second key part
    st.integers(0, 40),  # time (x 100 ms)
    st.integers(0, 2),  # case
    st.integers(0, 30),  # window length (x 100 ms)
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(INSTANT, min_size=1, max_size=40, unique_by=lambda i: (i[0], i[1], i[2])),
    st.sampled_from([0, 100, 300, 1000]),
    st.sampled_from([0, 200, 500, 1500]),
    st.booleans(),
)
def test_the_frame_lifecycle_agrees_with_the_loop(
    drawn: list[tuple[str, str, int, int, int]], keep_alive: int, max_duration: int, project: bool
) -> None:
    severities = [2, 4, 3]
    instants = [
        MatchedInstant(
            key=(first,) if project else (first, second),
            group=(first, second),
            time=time * 100,
            case=case,
            severity=severities[case],
            window_start=time * 100 - span * 100,
            first_id=f"id-{second}" if project else "",
        )
        for first, second, time, case, span in drawn
    ]
    frame = pl.DataFrame(
        {
            "_k0": [i.group[0] for i in instants],
            "_k1": [i.group[1] for i in instants],
            "_t": [i.time for i in instants],
            CASE: [i.case for i in instants],
            SEVERITY: [i.severity for i in instants],
            WINDOW_START: [i.window_start for i in instants],
            FIRST_ID: [i.first_id for i in instants],
        }
    )
    lifecycle = form_signals(
        frame,
        keys=KEYS,
        signal_keys=KEYS[:1] if project else KEYS,
        keep_alive_ms=keep_alive,
        max_duration_ms=max_duration,
    )
    got = [
        {
            "key": s.key,
            "opened_at": s.opened_at,
            "first_seen": s.first_seen,
            "last_seen": s.last_seen,
            "case": s.case,
            "severity": s.severity,
            "instants": [(i.group, i.time) for i in s.instants],
        }
        for s in lifecycle.signals
    ]
    assert got == reference(instants, keep_alive, max_duration)


def test_no_key_and_no_instant() -> None:
    empty = pl.DataFrame(
        schema={"_t": pl.Int64, CASE: pl.Int64, SEVERITY: pl.Int64, WINDOW_START: pl.Int64}
    ).with_columns(pl.lit("").alias(FIRST_ID))
    assert (
        form_signals(empty, keys=[], signal_keys=[], keep_alive_ms=0, max_duration_ms=0).signals
        == []
    )
    one = pl.DataFrame(
        {"_t": [5, 9], CASE: [0, 0], SEVERITY: [1, 1], WINDOW_START: [1, 2], FIRST_ID: ["", ""]}
    )
    (signal,) = form_signals(
        one, keys=[], signal_keys=[], keep_alive_ms=10, max_duration_ms=10
    ).signals
    assert (signal.key, signal.first_seen, signal.last_seen) == ((), 1, 9)
