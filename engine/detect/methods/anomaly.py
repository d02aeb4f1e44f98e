"""`anomaly_detection` / `anomaly_threshold` (SPEC §3.12): a bucket far above its group's past.

Datadog's model is proprietary; this is the engine's own, documented in docs/rules.md:

- each query's events of a group are counted in `bucketDuration` buckets aligned on the epoch
  (`cardinality` queries count the distinct values of their fields in the bucket);
- at every instant `t` of the group, a query's *current value* `c` is its count in the bucket of
  `t` so far (events at or before `t`), so a burst is seen as it grows;
- the *baseline* of a bucket is the mean `m` and standard deviation `s` (population) of the
  query's counts in the `n` previous buckets of the last `learningDuration` hours, empty buckets
  counting 0, but only buckets since the group's first bucket: a group seen for the first time
  has no baseline (n = 0) and never triggers;
- the *score* is the one-sided normal CDF `Φ((c - m) / s)`; with `s = 0` it is 1 when `c > m`,
  0.5 when `c = m`, else 0. With `detectionTolerance` k the score is 0 unless `c > m + k·s`;
- the job's learning period (its first `learningDuration` hours, global to the job, or the
  look-back before `from` with `instantaneousBaseline`) gives no score, unless
  `learningPeriodBaseline` is set: then the score is 1 when `c` exceeds it, else 0;
- the cases compare the query's score (`a > 0.995`), and the signal lifecycle is the rule's.

A result carries `anomaly`: per query, the bucket's count, the baseline mean, stdev, and the score
of its opening instant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

from engine.core.times import format_timestamp
from engine.detect.base import DetectContext, Detection, DetectionMethod, register
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.lifecycle import SignalSpan
from engine.detect.prepare import QueryPlan, RulePlan
from engine.rules.conditions import condition_expr
from engine.rules.models import Rule
from engine.rules.options import AnomalyDetectionOptions
from engine.scan.plan import TIME

HOUR_MS = 3_600_000
#: Defaults of omitted options: 5-minute buckets, a day of history.
DEFAULT_BUCKET_SECONDS = 300
DEFAULT_LEARNING_HOURS = 24
_BUCKET = "_bucket"


def score_column(query: QueryPlan) -> str:
    """The instants frame's column with the query's anomaly score."""
    return f"_score{query.index}"


def _options(rule: Rule) -> AnomalyDetectionOptions:
    return rule.options.anomalyDetectionOptions or AnomalyDetectionOptions()


def _normal_cdf(z: pl.Expr) -> pl.Expr:
    """Φ(z), from erf's Abramowitz-Stegun approximation 7.1.26 (|error| < 1.5e-7)."""
    x = z.abs() / math.sqrt(2)
    t = 1 / (1 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1 - poly * (-(x * x)).exp()
    return pl.when(z >= 0).then(0.5 * (1 + erf)).otherwise(0.5 * (1 - erf))


class Anomaly(DetectionMethod):
    """Anomaly detection: each query's bucket count against its group's baseline."""

    name = "anomaly_detection"
    per_group = True  # each group's baseline is its own
    reads_first_time = True  # the job's learning period starts at the rule's first event

    def lookback_ms(self, rule: Rule) -> int:
        """The learning window, with `instantaneousBaseline`."""
        options = _options(rule)
        if not options.instantaneousBaseline:
            return 0
        return (options.learningDuration or DEFAULT_LEARNING_HOURS) * HOUR_MS

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """Each instant's scores, then the first case that holds on them."""
        frame = scores(rule, matches, context)
        columns = {query.name: pl.col(score_column(query)) for query in rule.queries}
        choice: pl.Expr = pl.lit(None, dtype=pl.Int32)
        conditions = rule.rule.case_conditions()
        for index in reversed(range(len(conditions))):
            condition = conditions[index]
            holds = (
                pl.any_horizontal([column.is_not_null() for column in columns.values()])
                if condition is None
                else condition_expr(condition, lambda name: columns[name])
            )
            choice = pl.when(holds).then(pl.lit(index, dtype=pl.Int32)).otherwise(choice)
        if context.start is not None:
            choice = pl.when(pl.col(TIME) >= context.start).then(choice)
        frame = frame.with_columns(choice.alias(CASE))
        keys = rule.key_columns
        notes = {
            (tuple(row[key] for key in keys), row[TIME]): _note(rule, row)
            for row in frame.filter(pl.col(CASE).is_not_null()).iter_rows(named=True)
        }
        values = {query.index: score_column(query) for query in rule.queries}
        return Detection(frame, values, notes)

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan, events: Sequence[str]
    ) -> dict[str, Any]:
        """`anomaly`: the bucket, counts, baselines and scores of the opening instant."""
        opening = signal.opening
        return {"anomaly": detection.notes[(opening.group, opening.time)]}

    def describe(self, note: Any) -> str:
        """Each query's bucket count against its baseline, and its score."""
        return "; ".join(
            f"{name}: {found['count']:g} vs {found['baseline_mean']} ± {found['baseline_stdev']}"
            f" (score {found['score']})"
            if found["baseline_mean"] is not None
            else f"{name}: {found['count']:g} (learning)"
            for name, found in note["queries"].items()
        )


def scores(rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> pl.DataFrame:
    """One row per (group, instant): `_bucket`, `_first` (the bucket's first event) and, per
    query, its current count `_c<i>`, baseline `_m<i>`/`_sd<i>` and score `_score<i>`."""
    options = _options(rule.rule)
    bucket_ms = (options.bucketDuration or DEFAULT_BUCKET_SECONDS) * 1000
    learning_ms = (options.learningDuration or DEFAULT_LEARNING_HOURS) * HOUR_MS
    history = max(1, learning_ms // bucket_ms)
    keys = rule.key_columns
    over = keys or None
    frame = matches.with_columns((pl.col(TIME) // bucket_ms).alias(_BUCKET))
    first_bucket = pl.col(_BUCKET).min()
    instants = (
        frame.group_by([*keys, TIME])
        .agg(pl.col(_BUCKET).first())
        .sort([*keys, TIME])
        .with_columns(
            pl.col(TIME).min().over([*keys, _BUCKET]).alias(WINDOW_START),
            (first_bucket.over(over) if over else first_bucket).alias("_b0"),
        )
    )
    buckets = instants.select(*keys, _BUCKET).unique().sort([*keys, _BUCKET])
    learning_end = context.learning_end(learning_ms)
    baseline = options.learningPeriodBaseline
    for query in rule.queries:
        i = query.index
        current = _current_counts(query, frame, keys)
        totals = current.group_by([*keys, _BUCKET]).agg(pl.col("_c").max().alias("_total"))
        past = buckets.join(totals, on=[*keys, _BUCKET], how="left").with_columns(
            pl.col("_total").fill_null(0.0)
        )
        window = f"{history}i"
        total_sum = pl.col("_total").rolling_sum_by(_BUCKET, window_size=window, closed="left")
        square_sum = (pl.col("_total") ** 2).rolling_sum_by(
            _BUCKET, window_size=window, closed="left"
        )
        past = past.with_columns(
            (total_sum.over(over) if over else total_sum).alias("_sum"),
            (square_sum.over(over) if over else square_sum).alias("_squares"),
        ).drop("_total")
        instants = instants.join(past, on=[*keys, _BUCKET], how="left").sort(TIME)
        instants = instants.join_asof(
            current.sort(TIME),
            on=TIME,
            by=[*keys, _BUCKET],
            strategy="backward",
            check_sortedness=False,
        ).with_columns(pl.col("_c").fill_null(0.0))
        n = pl.min_horizontal(pl.lit(history), pl.col(_BUCKET) - pl.col("_b0")).cast(pl.Float64)
        mean = pl.col("_sum") / n
        stdev = (pl.col("_squares") / n - mean * mean).clip(lower_bound=0.0).sqrt()
        instants = instants.with_columns(
            pl.when(n > 0).then(mean).alias(f"_m{i}"), pl.when(n > 0).then(stdev).alias(f"_sd{i}")
        ).rename({"_c": f"_c{i}"})
        count, mean, stdev = pl.col(f"_c{i}"), pl.col(f"_m{i}"), pl.col(f"_sd{i}")
        normal = pl.when(stdev > 0).then(_normal_cdf((count - mean) / stdev))
        flat = pl.when(count > mean).then(1.0).when(count == mean).then(0.5).otherwise(0.0)
        score = normal.otherwise(flat)
        if options.detectionTolerance is not None:
            score = (
                pl.when(count > mean + options.detectionTolerance * stdev)
                .then(score)
                .otherwise(0.0)
            )
        score = pl.when(mean.is_not_null()).then(score)
        if learning_end is not None:
            learning = pl.lit(None, dtype=pl.Float64)
            if baseline is not None:
                learning = pl.when(count > baseline).then(1.0).otherwise(0.0)
            score = pl.when(pl.col(TIME) < learning_end).then(learning).otherwise(score)
        instants = instants.with_columns(score.alias(score_column(query))).drop("_sum", "_squares")
    return instants.sort([*keys, TIME])


def _current_counts(query: QueryPlan, frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per (group, bucket, instant) of the query: its count in the bucket so far (`_c`)."""
    rows = frame.filter(pl.col("_q") == query.index).sort([*keys, TIME, "id"])
    bucket = [*keys, _BUCKET]
    if query.aggregation == "cardinality":
        values = rows.select(*bucket, TIME, "_d").explode("_d").drop_nulls("_d")
        firsts = values.with_columns(
            pl.col(TIME).min().over([*bucket, "_d"]).eq(pl.col(TIME)).alias("_new")
        ).unique(subset=[*bucket, "_d"], keep="first", maintain_order=True)
        counted = firsts.group_by([*bucket, TIME]).agg(pl.col("_new").sum().alias("_step"))
    else:
        counted = rows.group_by([*bucket, TIME]).agg(pl.len().alias("_step"))
    return (
        counted.sort([*bucket, TIME])
        .with_columns(pl.col("_step").cum_sum().over(bucket).cast(pl.Float64).alias("_c"))
        .drop("_step")
    )


def _note(rule: RulePlan, row: dict[str, Any]) -> dict[str, Any]:
    options = _options(rule.rule)
    bucket_seconds = options.bucketDuration or DEFAULT_BUCKET_SECONDS
    return {
        "bucket_duration": bucket_seconds,
        "bucket_start": format_timestamp(row[_BUCKET] * bucket_seconds * 1000),
        "queries": {
            query.name: {
                "count": row[f"_c{query.index}"],
                "baseline_mean": _rounded(row[f"_m{query.index}"]),
                "baseline_stdev": _rounded(row[f"_sd{query.index}"]),
                "score": _rounded(row[score_column(query)]),
            }
            for query in rule.queries
        },
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class AnomalyThreshold(Anomaly):
    """`anomaly_threshold`: the same model (an alias, SPEC §3.12)."""

    name = "anomaly_threshold"


register(Anomaly())
register(AnomalyThreshold())
