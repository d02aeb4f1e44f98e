"""One rule's detection, from its scanned rows to its results: the one place it is orchestrated.

`detect_rule` runs the steps every method shares around the method's own `detect`:

1. the matches frame (`DetectionMethod.matches`, by default `prepare.matches`): one row per
   (event, query, group);
2. the method's evaluated instants (`DetectionMethod.detect`);
3. the matched instants with their signal keys (`instants.matched_instants`);
4. the signal lifecycle over the matched-instants frame (`lifecycle.form_signals`: the method's
   keepAlive, maxSignalDuration);
5. the results (`assemble.pending_results`: attached events, counts, the method's attributes;
   then samples and message).

The context's `first_time` is the earliest time of the rule's rows over all its groups; when the
caller does not give it, it is taken from `rows` (a partitioned caller must give it).

`engine.run` calls it for every rule; `explain` calls it for one rule, restricted to the groups of
one signal key (`keep`), and reads every intermediate frame it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import polars as pl

from engine.detect.assemble import PendingResults, pending_results
from engine.detect.base import DetectContext, Detection, DetectionMethod
from engine.detect.instants import matched_instants
from engine.detect.lifecycle import SignalSpan, form_signals
from engine.detect.prepare import RulePlan, signal_key_positions
from engine.results.result import JobResult
from engine.scan.plan import TIME
from engine.scan.source import LogSource

#: Progress within one rule's detection after each step: matches frame, evaluated instants,
#: signal lifecycle, results.
DETECTION_STEPS = (0.2, 0.6, 0.7, 1.0)


@dataclass
class RuleDetection:
    """Every step of one rule's detection."""

    plan: RulePlan
    matches: pl.DataFrame  # the matches frame (restricted by `keep`)
    detection: Detection | None  # None when nothing matched
    signals: list[SignalSpan] = field(default_factory=list)
    results: list[JobResult] = field(default_factory=list)
    pending: PendingResults | None = None  # with `samples=False`: the results to finish


def detect_rule(
    method: DetectionMethod,
    rule: RulePlan,
    rows: pl.DataFrame,
    source: LogSource,
    *,
    context: DetectContext | None = None,
    job_id: str | None = None,
    keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    step: Callable[[float], None] | None = None,
    samples: bool = True,
    frame: pl.DataFrame | None = None,
) -> RuleDetection:
    """`rule`'s detection over its scanned `rows` (see the module docstring).

    `keep` restricts the matches frame before the method runs (exact when it keeps whole signal
    keys); `step` is told the fraction of the rule's work done after each step. With
    `samples=False` the results are left `pending`, for the caller to read every rule's sample
    logs in one pass (`PendingResults.finish`). `frame`: the rule's matches frame, when the
    caller has it already (rules with the same queries over the same rows share it).
    """
    done = step or (lambda _fraction: None)
    context = context or DetectContext()
    if context.first_time is None and rows.height:
        context = replace(context, first_time=rows.select(pl.col(TIME).min()).item())
    frame = method.matches(rule, rows, context) if frame is None else frame
    if keep is not None:
        frame = keep(frame)
    done(DETECTION_STEPS[0])
    if frame.height == 0:
        return RuleDetection(rule, frame, None)
    detection = method.detect(rule, frame, context)
    done(DETECTION_STEPS[1])
    keep_alive_ms, max_duration_ms = method.lifecycle_ms(rule)
    keys = rule.key_columns
    lifecycle = form_signals(
        matched_instants(rule, detection.instants, frame),
        keys=keys,
        signal_keys=[keys[position] for position in signal_key_positions(rule)],
        keep_alive_ms=keep_alive_ms,
        max_duration_ms=max_duration_ms,
    )
    done(DETECTION_STEPS[2])
    pending = pending_results(
        rule,
        frame,
        detection,
        lifecycle,
        method.samples(source, context),
        job_id=job_id,
        extra=lambda signal, events: method.attributes(rule, detection, signal, events),
    )
    found = RuleDetection(rule, frame, detection, lifecycle.signals, pending=pending)
    if samples:
        found.results = pending.finish(
            source.logs_by_id(pending.sample_ids, pending.low, pending.high)
        )
        found.pending = None
    done(DETECTION_STEPS[3])
    return found
