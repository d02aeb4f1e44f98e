"""The signal lifecycle (SPEC §3.7): keepAlive, maxSignalDuration, re-opening and escalation.

Input: the *matched-case instants* of one rule (the times at which some case was true for some
group), one row each in a frame, with the signal key it belongs to. Output: the signals ("job
results") they form. The work is done with polars over the instants; the only Python loop runs
over signals (splitting a burst longer than maxSignalDuration, building the `SignalSpan`s).

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

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

Key = tuple[str, ...]

#: Columns of the matched-instants frame (besides the group key columns and `_t`): the matched
#: case's index, the earliest event time of the signal key's window, the case's SEVERITY_RANK,
#: and the smallest event id of the group at that time (orders sub-groups matching at one time).
CASE = "_case"
WINDOW_START = "_first"
SEVERITY = "_sev"
FIRST_ID = "_id0"
#: The lifecycle's columns: the signal number of an instant, and whether it opened the signal.
SIGNAL = "_s"
OPENS = "_open"
_TIME = "_t"  # engine.scan.plan.TIME (not imported: the lifecycle depends on nothing above it)


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
    """One signal formed by the lifecycle, with the instants that opened and updated it.

    `updates` is read from the lifecycle's frame the first time it is asked for.
    """

    key: Key
    opened_at: int
    first_seen: int
    last_seen: int
    case: int
    severity: int
    opening: MatchedInstant
    _updates: list[MatchedInstant] | None = field(default=None, repr=False)
    _lifecycle: Lifecycle | None = field(default=None, repr=False, compare=False)
    _number: int = field(default=0, repr=False)

    @property
    def updates(self) -> list[MatchedInstant]:
        """The instants that updated the signal, in time order."""
        if self._updates is None:
            assert self._lifecycle is not None
            self._updates = self._lifecycle.updates_of(self._number, self.key)
        return self._updates

    @property
    def instants(self) -> list[MatchedInstant]:
        """The opening instant followed by every update, in time order."""
        return [self.opening, *self.updates]


@dataclass
class Lifecycle:
    """The signals of a rule, and its matched instants with the signal each opened or updated
    (`SIGNAL`, `OPENS`), ordered by signal then time."""

    keys: list[str]  # the group key columns
    signals: list[SignalSpan]
    instants: pl.DataFrame
    _by_signal: dict[int, pl.DataFrame] | None = None

    def updates_of(self, number: int, key: Key) -> list[MatchedInstant]:
        """The updating instants of signal `number` (whose signal key is `key`)."""
        if self._by_signal is None:
            updates = self.instants.filter(~pl.col(OPENS))
            parts = updates.partition_by(SIGNAL, as_dict=True, include_key=False)
            self._by_signal = {int(name[0]): part for name, part in parts.items()}
        part = self._by_signal.get(number)
        if part is None:
            return []
        return [_instant(row, self.keys, key) for row in part.iter_rows(named=True)]


def _instant(row: dict[str, object], keys: Sequence[str], key: Key) -> MatchedInstant:
    return MatchedInstant(
        key=key,
        group=tuple(str(row[name]) for name in keys),
        time=int(row[_TIME]),  # type: ignore[call-overload]
        case=int(row[CASE]),  # type: ignore[call-overload]
        severity=int(row[SEVERITY]),  # type: ignore[call-overload]
        window_start=int(row[WINDOW_START]),  # type: ignore[call-overload]
        first_id=str(row[FIRST_ID]),
    )


def form_signals(
    instants: pl.DataFrame,
    *,
    keys: Sequence[str],
    signal_keys: Sequence[str],
    keep_alive_ms: int,
    max_duration_ms: int,
) -> Lifecycle:
    """Signals formed by matched instants (a frame with the group `keys`, `_t`, `CASE`,
    `SEVERITY`, `WINDOW_START`, `FIRST_ID`; any order), ordered by opening time then key."""
    keys, signal_keys = list(keys), list(signal_keys)
    same_key = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in signal_keys] or [True])
    ordered = (
        instants.sort([_TIME, *signal_keys, FIRST_ID, *keys])
        .with_row_index("_g")
        .sort([*signal_keys, "_g"])
        .with_row_index("_i")
        .with_columns(
            (~same_key | (pl.col(_TIME) - pl.col(_TIME).shift(1) > keep_alive_ms))
            .fill_null(True)
            .alias(OPENS),
            pl.min_horizontal(WINDOW_START, _TIME).alias("_fs"),
        )
    )
    split = _long_signal_openings(ordered, max_duration_ms)
    ordered = ordered.with_columns(
        pl.col(OPENS) | pl.col("_i").is_in(split.implode())
    ).with_columns(pl.col(OPENS).cum_sum().alias("_n"))
    # signals numbered in opening order (the global order of their opening instants)
    openings = ordered.filter(pl.col(OPENS)).sort("_g").with_row_index(SIGNAL)
    ordered = (
        ordered.join(openings.select("_n", SIGNAL), on="_n")
        .sort(SIGNAL, "_g")
        .drop("_n", "_g", "_i", "_fs")
        .with_columns(pl.col(SIGNAL).cast(pl.Int64))
    )
    facts = (
        ordered.group_by(SIGNAL)
        .agg(
            pl.col(_TIME).max().alias("_last"),
            pl.col(SEVERITY).max().alias("_top"),
            pl.col(CASE).get(pl.col(SEVERITY).arg_max()).alias("_topcase"),
        )
        .sort(SIGNAL)
    )
    lifecycle = Lifecycle(keys, [], ordered)
    for opening, last, top, top_case in zip(
        openings.iter_rows(named=True),
        facts["_last"].to_list(),
        facts["_top"].to_list(),
        facts["_topcase"].to_list(),
        strict=True,
    ):
        key = tuple(str(opening[name]) for name in signal_keys)
        first = _instant(opening, keys, key)
        lifecycle.signals.append(
            SignalSpan(
                key=key,
                opened_at=first.time,
                first_seen=min(first.window_start, first.time),
                last_seen=last,
                case=top_case,
                severity=top,
                opening=first,
                _lifecycle=lifecycle,
                _number=int(opening[SIGNAL]),
            )
        )
    return lifecycle


def _long_signal_openings(ordered: pl.DataFrame, max_duration_ms: int) -> pl.Series:
    """Row numbers (`_i`) of the instants that open a signal because the signal they would update
    began more than `max_duration_ms` before them (`ordered`: by key then time, `OPENS` marking
    run starts, `_fs` the first_seen an instant would give a signal it opens).

    Only runs (a key's instants with no gap over keepAlive) longer than that are looked at; the
    loop runs over the signals they split into, jumping by bisection.
    """
    runs = ordered.with_columns(pl.col(OPENS).cum_sum().alias("_r"))
    long = (
        runs.group_by("_r")
        .agg(
            pl.col("_i").first().alias("_a"),
            pl.col("_i").last().alias("_b"),
            pl.col("_fs").first(),
            pl.col(_TIME).last(),
        )
        .filter(pl.col(_TIME) - pl.col("_fs") > max_duration_ms)
    )
    found: list[int] = []
    if long.height:
        rows = runs.filter(pl.col("_r").is_in(long["_r"].implode()))
        index = {row: position for position, row in enumerate(rows["_i"].to_list())}
        times, first_seen = rows[_TIME].to_list(), rows["_fs"].to_list()
        for first, last in long.select("_a", "_b").iter_rows():
            at, end = index[first], index[last] + 1
            while at + 1 < end and times[end - 1] - first_seen[at] > max_duration_ms:
                limit = first_seen[at] + max_duration_ms
                at = max(at + 1, bisect.bisect_right(times, limit, at, end))
                found.append(at)
        positions = rows["_i"].to_list()
        found = [positions[at] for at in found]
    return pl.Series("_i", found, dtype=pl.UInt32)
