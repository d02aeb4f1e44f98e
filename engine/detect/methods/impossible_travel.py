"""`impossible_travel` (SPEC §3.11): two successive locations a user cannot have travelled between.

The location of an event is read under the query's `geo_data` metric (`@network.client.geoip`):
`location.latitude`/`location.longitude` (or `location.lat`/`location.lon`), `city.name` and
`country.name`. Events without valid coordinates (missing, not numbers, latitude outside
[-90, 90] or longitude outside [-180, 180]) are ignored. Per user (the group key), in time order,
each located event is compared with the previous located one: the great-circle (haversine,
R = 6371 km) distance `d` and the time between them `Δt`; it is a detection when `d > 500 km`
and (`Δt = 0` or `d / Δt > 1000 km/h`).

`baselineUserLocations`: during the first `baselineUserLocationsDuration` days (default 1) after
the user's first located event, detections are suppressed and the (country, city) pairs seen are
learned; afterwards a detection whose new location is a learned pair is suppressed too. The
previous location is updated by every located event.

A result carries `impossible_travel`: the two locations of its opening detection (`city`,
`country`, `latitude`, `longitude`, `timestamp`), `distance_km` and `speed_kmh` (null when
`Δt = 0`), so the out-of-the-box message templates render
(`{{@impossible_travel.triggering_locations.first_location.city}}`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import polars as pl

from engine.core.times import format_timestamp
from engine.detect.base import DetectContext, Detection, DetectionMethod, PlanContext, register
from engine.detect.instants import CASE, WINDOW_START
from engine.detect.lifecycle import SignalSpan
from engine.detect.prepare import RulePlan
from engine.rules.models import Rule
from engine.scan.plan import TIME, ScanPlan

EARTH_RADIUS_KM = 6371.0
MIN_DISTANCE_KM = 500.0
MIN_SPEED_KMH = 1000.0
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
DEFAULT_LOCATION = "@network.client.geoip"

#: The frame columns of a location, and the paths under the geo_data metric they are read at.
_PARTS: dict[str, tuple[str, ...]] = {
    "_lat": (".location.latitude", ".location.lat"),
    "_lon": (".location.longitude", ".location.lon"),
    "_city": (".city.name",),
    "_country": (".country.name",),
}
_NUMERIC = ("_lat", "_lon")


def haversine_km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """The great-circle distance in km between two points given in degrees."""
    phi1, phi2 = lat1.radians(), lat2.radians()
    dphi, dlambda = (lat2 - lat1).radians(), (lon2 - lon1).radians()
    a = (dphi / 2).sin().pow(2) + phi1.cos() * phi2.cos() * (dlambda / 2).sin().pow(2)
    return 2 * EARTH_RADIUS_KM * a.sqrt().clip(upper_bound=1.0).arcsin()


class ImpossibleTravel(DetectionMethod):
    """`impossible_travel`: per user, each located event against the previous one."""

    name = "impossible_travel"
    per_group = True  # the previous location and the baseline are the user's own

    def plan(self, rule: Rule, plan: ScanPlan, context: PlanContext) -> RulePlan:
        """The generic plan, and each query's location values (coordinates, city, country)."""
        planned = super().plan(rule, plan, context)
        queries = []
        for query in planned.queries:
            base = next(iter(rule.queries[query.index].metric_fields()), DEFAULT_LOCATION)
            carry = []
            for name, suffixes in _PARTS.items():
                reads = [
                    _scalar(
                        planned.numeric_values(base + suffix, plan.schema)
                        if name in _NUMERIC
                        else planned.text_values(base + suffix, plan.schema),
                        plan.schema,
                    )
                    for suffix in suffixes
                ]
                carry.append((name, plan.column(pl.coalesce(reads), "g")))
            queries.append(replace(query, carry=tuple(carry)))
        return replace(planned, queries=tuple(queries))

    def detect(self, rule: RulePlan, matches: pl.DataFrame, context: DetectContext) -> Detection:
        """The located events compared with the previous one of their group."""
        keys = rule.key_columns
        located = travels(rule, matches)
        found = located.filter(pl.col("_detected"))
        per_instant = found.group_by([*keys, TIME], maintain_order=True).agg(
            pl.all().exclude([*keys, TIME]).first()
        )
        instants = (
            located.select(*keys, TIME)
            .unique(maintain_order=True)
            .join(per_instant, on=[*keys, TIME], how="left")
            .with_columns(
                pl.when(pl.col("_detected")).then(pl.lit(0, dtype=pl.Int32)).alias(CASE),
                pl.coalesce(pl.col("_prev_t"), pl.col(TIME)).alias(WINDOW_START),
            )
        )
        notes = {
            (tuple(row[k] for k in keys), row[TIME]): _note(row)
            for row in instants.filter(pl.col(CASE).is_not_null()).iter_rows(named=True)
        }
        return Detection(instants.select(*keys, TIME, CASE, WINDOW_START, "_km", "_kmh"), {}, notes)

    def attributes(
        self, rule: RulePlan, detection: Detection, signal: SignalSpan, events: Sequence[str]
    ) -> dict[str, Any]:
        """`impossible_travel`: the two locations, distance and speed of the opening detection."""
        opening = signal.opening
        return {"impossible_travel": detection.notes[(opening.group, opening.time)]}

    def describe(self, note: Any) -> str:
        """From where to where, how far, how fast."""
        places = note["triggering_locations"]
        first, second = places["first_location"], places["second_location"]
        speed = "same instant" if note["speed_kmh"] is None else f"{note['speed_kmh']:,} km/h"
        return (
            f"{first['city']}, {first['country']} -> {second['city']}, {second['country']}: "
            f"{note['distance_km']:,} km, {speed}"
        )


def _scalar(values: pl.Expr, schema: dict[str, pl.DataType]) -> pl.Expr:
    """A field read as one value per event (the first element of an array field)."""
    (dtype,) = pl.LazyFrame(schema=schema).select(values).collect_schema().dtypes()
    return values.list.first() if isinstance(dtype, pl.List) else values


def travels(rule: RulePlan, matches: pl.DataFrame) -> pl.DataFrame:
    """The located events of each group in time order, with the previous location, distance,
    speed, and `_detected` (the baseline applied)."""
    keys = rule.key_columns
    frame = matches.unique(subset=["id", *keys], keep="first")
    valid = (
        pl.col("_lat").is_between(-90, 90)
        & pl.col("_lon").is_between(-180, 180)
        & pl.col("_lat").is_not_nan()
        & pl.col("_lon").is_not_nan()
    )
    frame = frame.filter(valid.fill_null(False)).sort([*keys, TIME, "id"])
    over = keys or None

    def previous(column: str) -> pl.Expr:
        shifted = pl.col(column).shift(1)
        return shifted.over(over) if over else shifted

    frame = frame.with_columns(
        previous(TIME).alias("_prev_t"),
        previous("_lat").alias("_prev_lat"),
        previous("_lon").alias("_prev_lon"),
        previous("_city").alias("_prev_city"),
        previous("_country").alias("_prev_country"),
    )
    hours = (pl.col(TIME) - pl.col("_prev_t")) / HOUR_MS
    distance = haversine_km(
        pl.col("_prev_lat"), pl.col("_prev_lon"), pl.col("_lat"), pl.col("_lon")
    )
    frame = frame.with_columns(
        distance.alias("_km"),
        pl.when(hours > 0).then(distance / hours).alias("_kmh"),
    )
    detected = (pl.col("_km") > MIN_DISTANCE_KM) & (
        (pl.col("_prev_t") == pl.col(TIME)) | (pl.col("_kmh") > MIN_SPEED_KMH)
    )
    frame = frame.with_columns(detected.fill_null(False).alias("_detected"))
    options = rule.rule.options.impossibleTravelOptions
    if options is None or not options.baselineUserLocations:
        return frame
    days = options.baselineUserLocationsDuration or 1
    first = pl.col(TIME).min()
    baseline_end = (first.over(over) if over else first) + days * DAY_MS
    frame = frame.with_columns(baseline_end.alias("_baseline_end"))
    learning = frame.filter(pl.col(TIME) < pl.col("_baseline_end"))
    places = [*keys, "_country", "_city"]
    learned = learning.select(places).unique().with_columns(pl.lit(True).alias("_known"))
    frame = frame.join(learned, on=places, how="left", nulls_equal=True)
    suppressed = (pl.col(TIME) < pl.col("_baseline_end")) | pl.col("_known").fill_null(False)
    return frame.with_columns((pl.col("_detected") & ~suppressed).alias("_detected")).sort(
        [*keys, TIME, "id"]
    )


def _location(city: Any, country: Any, lat: Any, lon: Any, at: Any) -> dict[str, Any]:
    return {
        "city": city,
        "country": country,
        "latitude": lat,
        "longitude": lon,
        "timestamp": format_timestamp(at) if at is not None else None,
    }


def _note(row: dict[str, Any]) -> dict[str, Any]:
    speed = row["_kmh"]
    return {
        "triggering_locations": {
            "first_location": _location(
                row["_prev_city"],
                row["_prev_country"],
                row["_prev_lat"],
                row["_prev_lon"],
                row["_prev_t"],
            ),
            "second_location": _location(
                row["_city"], row["_country"], row["_lat"], row["_lon"], row[TIME]
            ),
        },
        "distance_km": round(row["_km"], 1),
        "speed_kmh": None if speed is None or math.isinf(speed) else round(speed, 1),
    }


register(ImpossibleTravel())
