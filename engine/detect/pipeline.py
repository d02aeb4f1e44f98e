"""One rule's detection, from its scanned rows to its results: the one place it is orchestrated.

`detect_rule` runs the steps every method shares around the method's own `detect`:

1. the matches frame (`DetectionMethod.matches`, by default `prepare.matches`): one row per
   (event, query, group);
2. the method's evaluated instants (`DetectionMethod.detect`);
3. the matched instants with their signal keys (`instants.matched_instants`);
4. the signal lifecycle (`lifecycle.form_signals`: the method's keepAlive, maxSignalDuration);
5. the results (`assemble.build_results`: attached events, samples, message, the method's
   attributes).

The context's `first_time` is the earliest time of the rule's rows over all its groups; when the
caller does not give it, it is taken from `rows` (a partitioned caller must give it).

`engine.run` calls it for every rule; `explain` calls it for one rule, restricted to the groups of
one signal key (`keep`), and reads every intermediate frame it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import polars as pl

from engine.detect.assemble import build_results
from engine.detect.base import DetectContext, Detection, DetectionMethod
from engine.detect.instants import matched_instants
from engine.detect.lifecycle import SignalSpan, form_signals
from engine.detect.prepare import RulePlan
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
) -> RuleDetection:
    """`rule`'s detection over its scanned `rows` (see the module docstring).

    `keep` restricts the matches frame before the method runs (exact when it keeps whole signal
    keys); `step` is told the fraction of the rule's work done after each step.
    """
    done = step or (lambda _fraction: None)
    context = context or DetectContext()
    if context.first_time is None and rows.height:
        context = replace(context, first_time=rows.select(pl.col(TIME).min()).item())
    frame = method.matches(rule, rows, context)
    if keep is not None:
        frame = keep(frame)
    done(DETECTION_STEPS[0])
    if frame.height == 0:
        return RuleDetection(rule, frame, None)
    detection = method.detect(rule, frame, context)
    done(DETECTION_STEPS[1])
    keep_alive_ms, max_duration_ms = method.lifecycle_ms(rule)
    signals = form_signals(
        matched_instants(rule, detection.instants, frame),
        keep_alive_ms=keep_alive_ms,
        max_duration_ms=max_duration_ms,
    )
    done(DETECTION_STEPS[2])
    results = build_results(
        rule,
        frame,
        detection,
        signals,
        method.samples(source, context),
        job_id=job_id,
        extra=lambda signal, events: method.attributes(rule, detection, signal, events),
    )
    done(DETECTION_STEPS[3])
    return RuleDetection(rule, frame, detection, signals, results)
