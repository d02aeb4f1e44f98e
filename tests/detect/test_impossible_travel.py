"""`impossible_travel` (SPEC §3.11): TC-29, the edges of its rule, and a naive reference."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.results.result import JobResult
from engine.run import run
from tests.detect.builders import T, at, event, query, rule, times

H = 3600
DAY = 86_400
PARIS = (48.8566, 2.3522, "Paris", "France")
NEW_YORK = (40.7128, -74.0060, "New York", "United States")
LYON = (45.764, 4.8357, "Lyon", "France")
TOKYO = (35.6762, 139.6503, "Tokyo", "Japan")
BERLIN = (52.52, 13.405, "Berlin", "Germany")
PLACES = [PARIS, NEW_YORK, LYON, TOKYO, BERLIN]


def travel_rule(keep_alive: int = 0, **options: Any) -> dict[str, Any]:
    """SPEC §8 TC-29's rule: geo_data on `@network.client.geoip`, grouped by user."""
    found = rule(
        query("source:auth", aggregation="geo_data", metrics=["@network.client.geoip"]),
        cases=[{"status": "medium", "name": "travel"}],
        window=0,
        keep_alive=keep_alive,
        max_duration=DAY,
    )
    found["options"]["detectionMethod"] = "impossible_travel"
    if options:
        found["options"]["impossibleTravelOptions"] = options
    return found


def access(seconds: float, place: tuple[Any, ...] | None, user: str = "alice") -> dict[str, Any]:
    """An access of `user` from `place` (latitude, longitude, city, country) at `T + seconds`."""
    if place is None:
        return event(seconds, user)
    lat, lon, city, country = place
    geoip = {
        "location": {"latitude": lat, "longitude": lon},
        "city": {"name": city},
        "country": {"name": country},
    }
    return event(seconds, user, network={"client": {"geoip": geoip}})


def found(rule_json: dict[str, Any], logs: list[dict[str, Any]]) -> list[JobResult]:
    return run(rule_json, logs, start=T, end=at(40 * DAY)).results


def test_tc29_paris_to_new_york_in_an_hour() -> None:
    (result,) = found(travel_rule(), [access(0, PARIS), access(H, NEW_YORK)])
    travel = result.extra["impossible_travel"]
    first = travel["triggering_locations"]["first_location"]
    second = travel["triggering_locations"]["second_location"]
    assert (first["city"], first["country"]) == ("Paris", "France")
    assert (second["city"], second["country"]) == ("New York", "United States")
    assert (first["latitude"], first["longitude"]) == (48.8566, 2.3522)
    assert first["timestamp"] == "2024-01-01T00:00:00.000Z"
    assert second["timestamp"] == "2024-01-01T01:00:00.000Z"
    assert travel["distance_km"] == pytest.approx(5837, abs=1)
    assert travel["speed_kmh"] == pytest.approx(5837, abs=1)
    assert times(result) == (0, H)  # from the first location to the second
    assert result.group_by == {"@usr.id": "alice"}


def test_tc29_paris_to_new_york_in_ten_hours_is_possible() -> None:
    assert found(travel_rule(), [access(0, PARIS), access(10 * H, NEW_YORK)]) == []


def test_tc29_paris_to_lyon_in_five_minutes_is_too_short_a_trip() -> None:
    assert found(travel_rule(), [access(0, PARIS), access(300, LYON)]) == []


def test_two_places_at_the_same_instant_are_impossible() -> None:
    (result,) = found(travel_rule(), [access(0, PARIS), access(0, BERLIN)])
    assert result.extra["impossible_travel"]["speed_kmh"] is None


@pytest.mark.parametrize(
    ("place", "fires"),
    [
        (None, False),
        ((91.0, 2.0, "Nowhere", "None"), False),
        ((40.0, -181.0, "Nowhere", "None"), False),
        (("north", "west", "New York", "United States"), False),
        (NEW_YORK, True),
    ],
    ids=["no_coordinates", "latitude_out_of_range", "longitude_out_of_range", "text", "valid"],
)
def test_events_without_valid_coordinates_are_ignored(
    place: tuple[Any, ...] | None, fires: bool
) -> None:
    logs = [access(0, PARIS), access(1800, place), access(H, PARIS)]
    results = found(travel_rule(), logs)
    assert len(results) == (2 if fires else 0)


def test_lat_lon_spelling_is_read_too() -> None:
    short = access(H, NEW_YORK)
    geoip = short["attributes"]["network"]["client"]["geoip"]
    geoip["location"] = {"lat": 40.7128, "lon": -74.0060}
    assert len(found(travel_rule(), [access(0, PARIS), short])) == 1


def test_users_are_compared_with_their_own_previous_location() -> None:
    logs = [access(0, PARIS), access(H, NEW_YORK, user="bob")]
    assert found(travel_rule(), logs) == []


@pytest.mark.parametrize(
    ("second", "expected"),
    [(DAY - 1, []), (DAY + H, [DAY + H])],
    ids=["inside_the_baseline", "after_the_baseline"],
)
def test_baseline_user_locations_suppresses_the_first_day(second: int, expected: list[int]) -> None:
    logs = [access(0, PARIS), access(second - H, PARIS), access(second, NEW_YORK)]
    results = found(travel_rule(baselineUserLocations=True), logs)
    assert [times(r)[1] for r in results] == expected


def test_a_learned_location_is_not_impossible_after_the_baseline() -> None:
    logs = [access(0, PARIS), access(2 * H, NEW_YORK), access(2 * DAY, PARIS)]
    logs.append(access(2 * DAY + H, NEW_YORK))
    assert found(travel_rule(baselineUserLocations=True), logs) == []
    assert len(found(travel_rule(), logs)) == 2


def test_the_baseline_duration_is_in_days() -> None:
    logs = [access(0, PARIS), access(2 * DAY, PARIS), access(2 * DAY + H, TOKYO)]
    rule_json = travel_rule(baselineUserLocations=True, baselineUserLocationsDuration=3)
    assert found(rule_json, logs) == []
    assert len(found(travel_rule(baselineUserLocations=True), logs)) == 1


def test_the_message_template_renders_the_locations() -> None:
    rule_json = travel_rule()
    rule_json["message"] = (
        "{{@impossible_travel.triggering_locations.first_location.city}} -> "
        "{{@impossible_travel.triggering_locations.second_location.city}}"
    )
    (result,) = found(rule_json, [access(0, PARIS), access(H, NEW_YORK)])
    assert "Paris -> New York" in result.message


# --- property: the engine against a deliberately naive replay ---------------------------------


def naive_km(a: tuple[Any, ...], b: tuple[Any, ...]) -> float:
    """Haversine, written out with the math module."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def naive_travels(
    accesses: list[tuple[int, str, tuple[Any, ...] | None]], baseline: bool
) -> list[tuple[str, int]]:
    """(user, time) of each detection, replaying accesses one by one (times distinct per user)."""
    previous: dict[str, tuple[int, tuple[Any, ...]]] = {}
    first: dict[str, int] = {}
    learned: dict[str, set[tuple[str, str]]] = {}
    fired = []
    for time, user, place in sorted(accesses, key=lambda item: item[0]):
        if place is None:
            continue
        first.setdefault(user, time)
        in_baseline = time < first[user] + DAY
        if in_baseline:
            learned.setdefault(user, set()).add((place[3], place[2]))
        if user in previous:
            then, where = previous[user]
            km, hours = naive_km(where, place), (time - then) / H
            detected = km > 500 and (hours == 0 or km / hours > 1000)
            if baseline and (in_baseline or (place[3], place[2]) in learned.get(user, set())):
                detected = False
            if detected:
                fired.append((user, time))
        previous[user] = (time, place)
    return fired


@settings(max_examples=60, deadline=None)
@given(
    stream=st.lists(
        st.tuples(
            st.integers(0, 4 * 24 * 4),
            st.sampled_from(["alice", "bob"]),
            st.one_of(st.none(), st.sampled_from(PLACES)),
        ),
        max_size=25,
        unique_by=lambda item: item[0],
    ),
    baseline=st.booleans(),
)
def test_impossible_travel_matches_a_naive_replay(
    stream: list[tuple[int, str, tuple[Any, ...] | None]], baseline: bool
) -> None:
    accesses = [(quarters * 900, user, place) for quarters, user, place in stream]
    logs = [access(time, place, user=user) for time, user, place in accesses]
    rule_json = travel_rule(baselineUserLocations=True) if baseline else travel_rule()
    results = found(rule_json, logs) if logs else []
    engine = sorted((r.group_by["@usr.id"], times(r)[1]) for r in results)
    assert engine == sorted(naive_travels(accesses, baseline))
