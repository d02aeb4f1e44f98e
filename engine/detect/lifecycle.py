"""The signal lifecycle (SPEC §3.7): keepAlive, maxSignalDuration, re-opening and escalation.

Input: the *matched-case instants* of one rule (the times at which some case was true for some
group), each with the signal key it belongs to. Output: the signals ("job results") they form.
The loop runs over matched instants only, never over log rows.

For each signal key, in time order (sub-groups matching at one time in the order of their first
event, SPEC §3.6's `(timestamp, id)`):
- an open signal closes (lazily, before handling the instant) when the instant comes strictly more
  than keepAlive after its last update, or strictly more than maxSignalDuration after its first
  seen time; boundaries are inclusive;
- with no open signal, the instant opens one: first_seen = the earliest event in the evaluation
  window of the signal key (every sub-group with `groupSignalsBy`), so it may predate signals
  closed earlier (the window ignores signal state);
- otherwise the instant updates it (last_seen), raising its severity if a more severe case
  matched (never lowering it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Key = tuple[str, ...]


@dataclass(frozen=True)
class MatchedInstant:
    """A time at which a case matched for a group."""

    key: Key  # signal key: the group key projected on groupSignalsBy
    group: Key  # full group key
    time: int  # epoch ms
    case: int  # index of the first true case
    severity: int  # the SEVERITY_RANK of that case's status
    window_start: int  # earliest event time in the signal key's window at `time`
    first_id: str = ""  # smallest event id of the group at `time` (orders sub-groups at one time)


@dataclass
class SignalSpan:
    """One signal formed by the lifecycle, with the instants that opened and updated it."""

    key: Key
    opened_at: int
    first_seen: int
    last_seen: int
    case: int
    severity: int
    opening: MatchedInstant
    updates: list[MatchedInstant] = field(default_factory=list)

    @property
    def instants(self) -> list[MatchedInstant]:
        """The opening instant followed by every update, in time order."""
        return [self.opening, *self.updates]


def form_signals(
    instants: Iterable[MatchedInstant], *, keep_alive_ms: int, max_duration_ms: int
) -> list[SignalSpan]:
    """Signals formed by matched instants (any order), ordered by opening time then key."""
    ordered = sorted(instants, key=lambda item: (item.time, item.key, item.first_id, item.group))
    open_signals: dict[Key, SignalSpan] = {}
    signals: list[SignalSpan] = []
    for instant in ordered:
        current = open_signals.get(instant.key)
        if current is not None and (
            instant.time - current.last_seen > keep_alive_ms
            or instant.time - current.first_seen > max_duration_ms
        ):
            current = None
        if current is None:
            current = SignalSpan(
                key=instant.key,
                opened_at=instant.time,
                first_seen=min(instant.window_start, instant.time),
                last_seen=instant.time,
                case=instant.case,
                severity=instant.severity,
                opening=instant,
            )
            open_signals[instant.key] = current
            signals.append(current)
            continue
        current.last_seen = max(current.last_seen, instant.time)
        current.updates.append(instant)
        if instant.severity > current.severity:
            current.severity = instant.severity
            current.case = instant.case
    return signals
