"""The timeline chart: buckets, counts (against naive references) and the SVG drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.severity import SEVERITIES_DESCENDING as SEVERITIES
from engine.search import search
from engine.web.matched import matched_event_counts
from engine.web.timeline import DAY, HOUR, MAX_BUCKETS, MINUTE, STEPS, Timeline, bucket_size
from tests.web.conftest import EACH_FAILURE, SAMPLE_ARCHIVE, Web

SVG = "{http://www.w3.org/2000/svg}"


def _parse(chart: Timeline) -> ET.Element:
    return ET.fromstring(
        str(chart.svg()).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    )


@given(span=st.integers(min_value=1, max_value=400 * DAY))
def test_buckets_are_round_and_at_most_the_maximum(span: int) -> None:
    size = bucket_size(span)
    assert -(-span // size) <= MAX_BUCKETS
    assert size in STEPS or size % DAY == 0
    smaller = [step for step in STEPS if step < size]
    assert all(-(-span // step) > MAX_BUCKETS for step in smaller)


@settings(max_examples=80, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=10**12),
    length=st.integers(min_value=MINUTE, max_value=30 * DAY),
    points=st.lists(
        st.tuples(st.floats(min_value=0, max_value=0.999999), st.sampled_from(SEVERITIES)),
        max_size=60,
    ),
)
def test_results_are_counted_in_their_bucket_by_severity(
    start: int, length: int, points: list[tuple[float, str]]
) -> None:
    results = [(start + int(fraction * length), severity) for fraction, severity in points]
    chart = Timeline.build(start, start + length, results)
    for position, stack in enumerate(chart.results):
        low = start + position * chart.bucket_ms
        high = low + chart.bucket_ms
        for severity in SEVERITIES:
            naive = sum(1 for t, s in results if s == severity and low <= t < high)
            assert stack.get(severity, 0) == naive
    assert chart.total_results == len(results)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(
        st.dictionaries(st.sampled_from(SEVERITIES), st.integers(1, 40), max_size=3),
        min_size=1,
        max_size=30,
    ),
    events=st.lists(st.integers(0, 5000), min_size=30, max_size=30),
)
def test_the_svg_draws_one_bar_per_bucket_and_severity_on_one_scale(
    counts: list[dict[str, int]], events: list[int]
) -> None:
    chart = Timeline(0, len(counts) * HOUR, HOUR, counts, events[: len(counts)])
    root = _parse(chart)
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == sum(len(stack) for stack in counts)
    heights = [float(bar.get("height", "0")) / int(bar.get("data-count", "1")) for bar in bars]
    assert max(heights, default=0) - min(heights, default=0) < 0.1  # every result is as tall
    assert sorted(int(bar.get("data-count", "0")) for bar in bars) == sorted(
        count for stack in counts for count in stack.values()
    )
    dots = root.findall(f"{SVG}circle")
    assert sorted(int(dot.get("data-count", "0")) for dot in dots) == sorted(
        count for count in events[: len(counts)] if count
    )
    times = [
        label.get("data-time", "") for label in root.iter(f"{SVG}text") if label.get("data-time")
    ]
    instants = [datetime.fromisoformat(text.replace("Z", "+00:00")) for text in times]
    assert instants == sorted(instants) and len(instants) >= 2


def test_matched_events_per_bucket_are_the_archives(signed_in: Web) -> None:
    job_id = signed_in.run(signed_in.stored_rule(EACH_FAILURE))
    job = signed_in.service.get(job_id)
    chart = Timeline.build(job.from_ms, job.to_ms, [])
    counts = matched_event_counts(
        signed_in.service, job, bucket_ms=chart.bucket_ms, buckets=len(chart.results)
    )
    found = search(
        EACH_FAILURE["queries"][0]["query"], SAMPLE_ARCHIVE, start=job.from_ms, end=job.to_ms
    )
    stamps = [int(value.timestamp() * 1000) for value in found["timestamp"].to_list()]
    naive = [
        sum(
            1
            for t in stamps
            if job.from_ms + i * chart.bucket_ms <= t < job.from_ms + (i + 1) * chart.bucket_ms
        )
        for i in range(len(counts))
    ]
    assert counts == naive and sum(counts) == len(stamps) > 0


def test_the_timeline_fragment_shows_the_jobs_results_and_events(signed_in: Web) -> None:
    job_id = signed_in.run(signed_in.stored_rule(EACH_FAILURE))
    html = signed_in.get(f"/jobs/{job_id}/timeline").text
    assert html.count('data-severity="high"') >= 1 and 'data-severity="low"' in html
    assert "220 results" in html and "matched events" in html
    assert "buckets of 3 h" in html
