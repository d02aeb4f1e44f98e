"""The bundled sample-log generator (the `sample_logs/generator/` package, loaded through its
command line `sample_logs/generate.py`): determinism, shape, volume, and that every planted
attack (and its near misses) is in the data exactly as `PLANTED` and `sample_logs/README.md`
describe it."""

from __future__ import annotations

import gc
import gzip
import hashlib
import importlib.util
import json
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from engine.archive.ingest import no_cyclic_gc

GENERATOR_PATH = Path(__file__).resolve().parent.parent / "sample_logs" / "generate.py"
CANONICAL_KEYS = {
    "id",
    "timestamp",
    "host",
    "service",
    "source",
    "status",
    "message",
    "tags",
    "attributes",
}
MINUTE = 60_000
# sha256 of seed 7's NDJSON (the CLI's lines, before gzip), from which sample_logs/archive is built.
SEED_7_NDJSON_SHA256 = "b22d65b294dd03abc2ee7b4bd2c3fbb75321d3559ef92db45e7bbfffdd9a8807"

Event = dict[str, Any]


def _load() -> ModuleType:
    name = "hindsight_sample_generate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, GENERATOR_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def events(gen: ModuleType) -> Iterator[list[Event]]:
    with no_cyclic_gc():
        data = list(gen.generate())
        gc.freeze()  # keep the module's data out of later collections (events hold no cycles)
    yield data
    gc.unfreeze()


@pytest.fixture(scope="module")
def by_source(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        out[event["source"]].append(event)
    return out


@pytest.fixture(scope="module")
def planted(gen: ModuleType) -> dict[str, dict[str, Any]]:
    return {attack["name"]: attack for attack in gen.PLANTED}


# ---- helpers ---------------------------------------------------------------------------------


def attr(event: Event, path: str) -> Any:
    value: Any = event["attributes"]
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def max_in_window(points: Sequence[tuple[int, Hashable]], window_ms: int, *, distinct: bool) -> int:
    """Largest count (or number of distinct values) over sliding windows (t - W, t]."""
    best, start = 0, 0
    inside: Counter[Hashable] = Counter()
    for ts, value in points:
        inside[value] += 1
        while points[start][0] <= ts - window_ms:
            old = points[start][1]
            inside[old] -= 1
            if not inside[old]:
                del inside[old]
            start += 1
        best = max(best, len(inside) if distinct else sum(inside.values()))
    return best


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def okta_logins(okta: list[Event], outcome: str) -> list[Event]:
    return [
        e
        for e in okta
        if attr(e, "evt.name") == "user.session.start" and attr(e, "evt.outcome") == outcome
    ]


def grouped(
    items: list[Event], key: Callable[[Event], Any], value: Callable[[Event], Any]
) -> dict[Any, list[tuple[int, Any]]]:
    out: dict[Any, list[tuple[int, Any]]] = defaultdict(list)
    for e in items:
        out[key(e)].append((e["timestamp"], value(e)))
    return out


def located_successes(okta: list[Event]) -> dict[str, list[tuple[int, tuple[float, float], str]]]:
    """Per user: (time, (lat, lon), country) of every successful Okta event, in time order."""
    out: dict[str, list[tuple[int, tuple[float, float], str]]] = defaultdict(list)
    for e in okta:
        if attr(e, "evt.outcome") != "success":
            continue
        geo = attr(e, "network.client.geoip")
        point = (geo["location"]["latitude"], geo["location"]["longitude"])
        out[attr(e, "usr.email")].append((e["timestamp"], point, geo["country"]["name"]))
    return out


def travel_detections(
    located: dict[str, list[tuple[int, tuple[float, float], str]]],
) -> list[tuple[str, int, int, float, float]]:
    """SPEC §3.11: consecutive located events with d > 500 km and speed > 1000 km/h."""
    hits = []
    for user, points in located.items():
        for (t0, p0, _), (t1, p1, _) in pairwise(points):
            distance = haversine_km(p0, p1)
            hours = (t1 - t0) / 3_600_000
            speed = math.inf if hours == 0 else distance / hours
            if distance > 500 and speed > 1000:
                hits.append((user, t0, t1, distance, speed))
    return hits


def _tuesday() -> int:
    """Start of day 2 (Tuesday 2024-03-05T00:00:00Z)."""
    return int(_load().WEEK_START_MS) + 86_400_000


def inside(attack: dict[str, Any], ts: int) -> bool:
    return bool(attack["start"] <= ts <= attack["end"])


# ---- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_events(gen: ModuleType, events: list[Event]) -> None:
    count = 0
    with no_cyclic_gc():
        for again, first in zip(gen.generate(gen.DEFAULT_SEED), events, strict=True):
            assert again == first
            count += 1
    assert count == len(events)


def test_seed_7_output_is_byte_identical_to_the_pinned_hash(events: list[Event]) -> None:
    # Any change to the generator's draws, their order or an event's shape changes this hash; the
    # bundled archive and the documented counts would then have to be rebuilt.
    digest = hashlib.sha256()
    for event in events:
        line = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest.update(line.encode() + b"\n")
    assert digest.hexdigest() == SEED_7_NDJSON_SHA256


def test_different_seed_changes_background_but_not_the_attacks(
    gen: ModuleType, events: list[Event]
) -> None:
    attack_ips = {attack["details"]["ip"] for attack in gen.PLANTED if "ip" in attack["details"]}
    differs = False
    other_attack_events = []
    with no_cyclic_gc():
        for index, event in enumerate(gen.generate(8)):
            if index < len(events) and event != events[index]:
                differs = True
            if attr(event, "network.client.ip") in attack_ips:
                other_attack_events.append(event)
    assert differs
    ours = [e for e in events if attr(e, "network.client.ip") in attack_ips]

    def fingerprint(e: Event) -> tuple[Any, ...]:
        return (
            e["timestamp"],
            e["source"],
            attr(e, "evt.name") or attr(e, "http.url"),
            attr(e, "network.client.ip"),
            attr(e, "userIdentity.arn"),
        )

    assert len(ours) > 150
    assert Counter(map(fingerprint, other_attack_events)) == Counter(map(fingerprint, ours))


def test_cli_writes_deterministic_gzip_ndjson(
    gen: ModuleType,
    events: list[Event],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = events[:3000]
    monkeypatch.setattr(gen, "generate", lambda seed=7: iter(sample))
    first, second = tmp_path / "a.ndjson.gz", tmp_path / "sub" / "b.ndjson.gz"
    second.parent.mkdir()
    assert gen.main(["--out", str(first)]) == 0
    assert gen.main(["--out", str(second), "--seed", "7"]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime = 0
    lines = gzip.decompress(first.read_bytes()).decode().splitlines()
    assert [json.loads(line) for line in lines] == sample
    assert lines[0] == json.dumps(
        sample[0], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    summary = capsys.readouterr().out.strip().splitlines()
    assert len(summary) == 2
    assert summary[0].startswith("wrote 3000 events (")
    assert all(attack["name"] in summary[0] for attack in gen.PLANTED)


# ---- shape and volume ------------------------------------------------------------------------


def test_events_have_the_canonical_shape(gen: ModuleType, events: list[Event]) -> None:
    previous = (0, "")
    ids = set()
    for e in events:
        assert set(e) == CANONICAL_KEYS
        assert isinstance(e["id"], str) and e["id"]
        assert isinstance(e["timestamp"], int)
        assert gen.WEEK_START_MS <= e["timestamp"] < gen.WEEK_END_MS
        assert e["timestamp"] >= previous[0]
        previous = (e["timestamp"], e["id"])
        ids.add(e["id"])
        assert e["host"] is None or isinstance(e["host"], str)
        assert e["source"] in ("okta", "cloudtrail", "nginx")
        assert isinstance(e["service"], str)
        assert e["status"] in ("info", "warn", "error")
        assert isinstance(e["message"], str) and e["message"]
        assert e["tags"] and all(t == t.lower() and ":" in t for t in e["tags"])
        assert "env:prod" in e["tags"]
        assert isinstance(e["attributes"], dict)
    assert len(ids) == len(events)
    for e in events[::97]:  # JSON round trip on a sample
        assert json.loads(json.dumps(e)) == e


def test_volume_and_population(
    gen: ModuleType, events: list[Event], by_source: dict[str, list[Event]]
) -> None:
    # light enough for a sample archive of a few MB (seed 7: 27,853 events)
    assert 25_000 <= len(events) <= 32_000
    assert set(by_source) == {"okta", "cloudtrail", "nginx"}
    assert 7_000 <= len(by_source["okta"]) <= 9_000
    assert 8_000 <= len(by_source["cloudtrail"]) <= 11_000
    assert 9_500 <= len(by_source["nginx"]) <= 12_500
    users = {attr(e, "usr.email") for e in by_source["okta"]}
    assert 300 <= len(users) <= 400
    hosts = {e["host"] for e in events if e["host"] is not None}
    assert 24 <= len(hosts) <= 60
    identities = {attr(e, "userIdentity.userName") for e in by_source["cloudtrail"]}
    assert {"svc_backup", "svc_ci", "svc_reporting", "d.kowalski", "a.lindqvist"} <= identities
    services = {e["service"] for e in by_source["nginx"]}
    assert services == {"web-store", "web-api"}


def test_diurnal_and_weekly_patterns(gen: ModuleType, by_source: dict[str, list[Event]]) -> None:
    web_hours = Counter(
        (e["timestamp"] - gen.WEEK_START_MS) // 3_600_000 % 24 for e in by_source["nginx"]
    )
    assert max(web_hours.values()) > 3 * min(web_hours.values())
    login_days = Counter(
        (e["timestamp"] - gen.WEEK_START_MS) // 86_400_000
        for e in okta_logins(by_source["okta"], "success")
    )
    weekday = min(login_days[d] for d in range(5))
    weekend = max(login_days[d] for d in (5, 6))
    assert weekday > 5 * weekend > 0


def test_okta_events_carry_okta_and_datadog_attributes(by_source: dict[str, list[Event]]) -> None:
    for e in by_source["okta"]:
        assert e["service"] == "okta"
        assert attr(e, "evt.name") == attr(e, "eventType")
        assert attr(e, "evt.outcome") == attr(e, "outcome.result").lower()
        assert attr(e, "evt.outcome") in ("success", "failure")
        assert attr(e, "usr.email") == attr(e, "actor.alternateId")
        assert attr(e, "usr.id") == attr(e, "actor.id")
        assert attr(e, "network.client.ip") == attr(e, "client.ipAddress")
        assert attr(e, "http.useragent") == attr(e, "client.userAgent.rawUserAgent")
        geo = attr(e, "network.client.geoip")
        okta_geo = attr(e, "client.geographicalContext")
        assert geo["country"]["name"] == okta_geo["country"]
        assert geo["city"]["name"] == okta_geo["city"]
        assert len(geo["country"]["iso_code"]) == 2
        assert geo["location"] == {
            "latitude": okta_geo["geolocation"]["lat"],
            "longitude": okta_geo["geolocation"]["lon"],
        }
        if attr(e, "evt.outcome") == "failure":
            assert attr(e, "outcome.reason")
            assert e["status"] == "warn"


def test_cloudtrail_events_carry_the_datadog_remap(by_source: dict[str, list[Event]]) -> None:
    names: Counter[str] = Counter()
    for e in by_source["cloudtrail"]:
        names[attr(e, "eventName")] += 1
        assert e["service"] == "cloudtrail"
        assert attr(e, "evt.name") == attr(e, "eventName")
        assert attr(e, "http.useragent") == attr(e, "userAgent")
        assert attr(e, "network.client.ip") == attr(e, "sourceIPAddress")
        failed = attr(e, "errorCode") is not None or (
            attr(e, "responseElements.ConsoleLogin") == "Failure"
        )
        assert attr(e, "evt.outcome") == ("failure" if failed else "success")
        assert attr(e, "level") == ("Error" if failed else "Info")
        assert e["status"] == ("error" if failed else "info")
        assert attr(e, "error.kind") == attr(e, "errorCode")
        assert attr(e, "eventTime").endswith("Z") and e["timestamp"] % 1000 == 0
        identity = attr(e, "userIdentity")
        if identity["type"] == "AssumedRole":
            assert identity["arn"].rsplit("/", 1)[1] == identity["session_name"]
            assert identity["arn"].split("/")[1] == identity["assumed_role"]
        if identity.get("session_name", "").startswith("i-0"):
            assert e["host"] == identity["session_name"]
    # a realistic background mix: reads dominate, and the variety of calls is kept
    assert names["AssumeRole"] > 500
    assert names["ConsoleLogin"] > 50
    reads = sum(v for k, v in names.items() if k.startswith(("Describe", "List", "Get")))
    assert 0.6 * sum(names.values()) < reads
    assert len(names) >= 80


def test_web_events_look_like_parsed_nginx_lines(
    gen: ModuleType, by_source: dict[str, list[Event]]
) -> None:
    planted_ips = {gen.SCANNER_IP, gen.CRAWLER_IP}
    statuses: Counter[int] = Counter()  # of the background traffic
    for e in by_source["nginx"]:
        code = attr(e, "http.status_code")
        assert isinstance(code, int)
        if attr(e, "network.client.ip") not in planted_ips:
            statuses[code // 100] += 1
        assert e["status"] == ("error" if code >= 500 else "warn" if code >= 400 else "info")
        assert isinstance(attr(e, "duration"), int) and attr(e, "duration") > 0
        method, url = attr(e, "http.method"), attr(e, "http.url")
        assert e["message"].startswith(attr(e, "network.client.ip") + " - - [")
        assert f'"{method} {url} HTTP/1.1" {code} ' in e["message"]
        assert attr(e, "http.url_details.path") == url.partition("?")[0]
    assert statuses[2] + statuses[3] > 0.97 * sum(statuses.values())
    assert statuses[4] > 50 and statuses[5] > 10


def test_background_web_incident(gen: ModuleType, by_source: dict[str, list[Event]]) -> None:
    """Not an attack: a bad deploy on web-api-03 (Thu 14:02-14:09) answers ~40% with 502."""
    errors = [e for e in by_source["nginx"] if attr(e, "http.status_code") >= 500]
    per_host = grouped(errors, lambda e: e["host"], lambda e: 0)
    peaks = {h: max_in_window(p, 5 * MINUTE, distinct=False) for h, p in per_host.items()}
    # a "degraded" host (more than 20 server errors in 5 min), short of an outage (over 100)
    assert 20 < peaks.pop(gen.INCIDENT_HOST) < 100
    assert max(peaks.values()) <= 5
    incident = [
        attr(e, "http.status_code")
        for e in by_source["nginx"]
        if e["host"] == gen.INCIDENT_HOST
        and gen.INCIDENT_START <= e["timestamp"] < gen.INCIDENT_END
    ]
    assert 0.25 < incident.count(502) / len(incident) < 0.55


# ---- PLANTED ---------------------------------------------------------------------------------


def test_planted_entries_are_well_formed(gen: ModuleType) -> None:
    names = [attack["name"] for attack in gen.PLANTED]
    assert len(names) == len(set(names)) >= 9
    assert set(names) == set(CHECKS)
    for attack in gen.PLANTED:
        assert set(attack) == {"name", "kind", "start", "end", "actor", "details"}
        assert attack["kind"] in ("threshold", "new_value", "impossible_travel")
        assert gen.WEEK_START_MS <= attack["start"] <= attack["end"] < gen.WEEK_END_MS
        assert isinstance(attack["actor"], str) and attack["actor"]
        assert attack["details"]["source"] in ("okta", "cloudtrail", "nginx")
        assert isinstance(attack["details"]["near_misses"], list)
    json.dumps(gen.PLANTED)


def check_brute_force(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    failures = okta_logins(src["okta"], "failure")
    mine = [
        e
        for e in failures
        if attr(e, "usr.email") == d["user"] and attr(e, "network.client.ip") == d["ip"]
    ]
    assert len(mine) == d["failures"] >= 10
    assert mine[-1]["timestamp"] - mine[0]["timestamp"] < 5 * MINUTE
    successes = [
        e
        for e in okta_logins(src["okta"], "success")
        if attr(e, "usr.email") == d["user"] and attr(e, "network.client.ip") == d["ip"]
    ]
    assert [e["timestamp"] for e in successes] == [d["success_at"]]
    assert mine[-1]["timestamp"] < d["success_at"] < mine[0]["timestamp"] + 5 * MINUTE
    assert all(inside(attack, e["timestamp"]) for e in mine + successes)
    # threshold matters: every other user stays at 4 or fewer failures in any 5 minutes
    per_user = grouped(failures, lambda e: attr(e, "usr.email"), lambda e: 0)
    peaks = {u: max_in_window(p, 5 * MINUTE, distinct=False) for u, p in per_user.items()}
    assert peaks.pop(d["user"]) == d["failures"]
    liam, noah = (m["user"] for m in d["near_misses"])
    assert peaks[liam] == 4 and max(peaks.values()) == 4
    assert peaks[noah] <= 2
    for miss in d["near_misses"]:
        user_failures = [t for t, _ in per_user[miss["user"]] if miss["start"] <= t <= miss["end"]]
        assert len(user_failures) == (4 if miss["user"] == liam else 11)
        assert any(
            miss["end"] == e["timestamp"] and attr(e, "usr.email") == miss["user"]
            for e in okta_logins(src["okta"], "success")
        )


def check_spray(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    failures = okta_logins(src["okta"], "failure")
    per_ip = grouped(
        failures, lambda e: attr(e, "network.client.ip"), lambda e: attr(e, "usr.email")
    )
    spray = per_ip.pop(d["ip"])
    assert all(inside(attack, t) for t, _ in spray)
    assert len({u for _, u in spray}) == len(spray) == d["distinct_users"]
    assert max_in_window(spray, 10 * MINUTE, distinct=True) == d["distinct_users"] >= 15
    assert not [
        e for e in okta_logins(src["okta"], "success") if attr(e, "network.client.ip") == d["ip"]
    ]
    (slow,) = d["near_misses"]
    slow_points = per_ip[slow["ip"]]
    assert len({u for _, u in slow_points}) == 30
    assert max(max_in_window(p, 10 * MINUTE, distinct=True) for p in per_ip.values()) <= 3


def check_new_country(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    located = located_successes(src["okta"])
    sofia = located[d["user"]]
    before = {country for t, _, country in sofia if t < attack["start"]}
    assert before == {d["usual_country"]}
    first_new = min(t for t, _, country in sofia if country == d["new_country"])
    assert first_new == attack["start"]
    # all first (user, country) pairs after Monday: Sofia's Romania and Camille's Singapore only
    first_seen: dict[tuple[str, str], int] = {}
    for user, points in located.items():
        for t, _, country in points:
            first_seen.setdefault((user, country), t)
    late = {key for key, t in first_seen.items() if t >= _tuesday()}
    also = {(x["user"], x["country"]) for x in d["also_new_country"]}
    assert late == {(d["user"], d["new_country"])} | also
    lukas, julien = (m["user"] for m in d["near_misses"])
    lukas_countries = [(t, c) for t, _, c in located[lukas]]
    assert {c for _, c in lukas_countries} == {"Switzerland", "France"}
    france = [t for t, c in lukas_countries if c == "France"]
    assert france[0] < _tuesday() < france[-1]
    assert first_seen[(julien, "United States")] < _tuesday()


def check_impossible_travel(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    located = located_successes(src["okta"])
    hits = travel_detections(located)
    assert len(hits) == 1
    user, t0, t1, distance, speed = hits[0]
    assert user == d["user"] == attack["actor"]
    assert t1 == d["second_location"]["at"] and inside(attack, t0) and inside(attack, t1)
    assert distance > 10_000 and speed > 10_000
    points = {t: (p, c) for t, p, c in located[user]}
    assert points[d["first_location"]["at"]][1] == "France"
    assert points[t1][1] == "Singapore"
    julien, oliver = (m["user"] for m in d["near_misses"])
    julien_trip = [
        (t, p)
        for t, p, _ in located[julien]
        if d["near_misses"][0]["start"] <= t <= d["near_misses"][0]["end"]
    ]
    (ta, pa), (tb, pb) = julien_trip[-2], julien_trip[-1]
    assert haversine_km(pa, pb) > 5_000
    assert 500 < haversine_km(pa, pb) / ((tb - ta) / 3_600_000) < 1000
    oliver_hop = [
        (t, p)
        for t, p, _ in located[oliver]
        if d["near_misses"][1]["start"] <= t <= d["near_misses"][1]["end"]
    ]
    (ta, pa), (tb, pb) = oliver_hop[-2], oliver_hop[-1]
    assert 200 < haversine_km(pa, pb) < 500
    assert haversine_km(pa, pb) / ((tb - ta) / 3_600_000) > 1000
    # no impossible travel among successful AWS console logins either
    console: dict[str, list[tuple[int, tuple[float, float], str]]] = defaultdict(list)
    for e in src["cloudtrail"]:
        if attr(e, "eventName") == "ConsoleLogin" and attr(e, "evt.outcome") == "success":
            loc = attr(e, "network.client.geoip.location")
            console[attr(e, "userIdentity.arn")].append(
                (e["timestamp"], (loc["latitude"], loc["longitude"]), "")
            )
    assert console and not travel_detections(console)


def check_console_failures(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    logins = [e for e in src["cloudtrail"] if attr(e, "evt.name") == "ConsoleLogin"]
    failures = [e for e in logins if attr(e, "evt.outcome") == "failure"]
    assert all(attr(e, "responseElements.ConsoleLogin") == "Failure" for e in failures)
    assert all(attr(e, "errorMessage") == "Failed authentication" for e in failures)
    per_arn = grouped(failures, lambda e: attr(e, "userIdentity.arn"), lambda e: 0)
    mine = per_arn.pop(attack["actor"])
    assert len(mine) == d["failures"] >= 8
    assert mine[-1][0] - mine[0][0] < 5 * MINUTE and all(inside(attack, t) for t, _ in mine)
    assert {
        attr(e, "network.client.ip")
        for e in failures
        if attr(e, "userIdentity.arn") == attack["actor"]
    } == {d["ip"]}
    assert not [
        e
        for e in logins
        if attr(e, "network.client.ip") == d["ip"] and attr(e, "evt.outcome") == "success"
    ]
    assert max(max_in_window(p, 5 * MINUTE, distinct=False) for p in per_arn.values()) == 3
    (anna,) = d["near_misses"]
    assert any(
        e["timestamp"] == anna["end"]
        and attr(e, "userIdentity.userName") == anna["user"]
        and attr(e, "evt.outcome") == "success"
        for e in logins
    )


def _ct(src: dict[str, list[Event]], name: str) -> list[Event]:
    return [e for e in src["cloudtrail"] if attr(e, "evt.name") == name]


def check_admin_user(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    attach = _ct(src, "AttachUserPolicy")
    hits = [
        e
        for e in attach
        if attr(e, "eventSource") == "iam.amazonaws.com"
        and attr(e, "requestParameters.policyArn") == admin
    ]
    assert len(hits) == 1
    (hit,) = hits
    assert inside(attack, hit["timestamp"]) and attr(hit, "userIdentity.arn") == attack["actor"]
    assert attr(hit, "requestParameters.userName") == d["new_user"]
    assert attr(hit, "network.client.ip") == d["ip"] and "kali" in attr(hit, "http.useragent")
    created = [
        e for e in _ct(src, "CreateUser") if attr(e, "requestParameters.userName") == d["new_user"]
    ]
    assert len(created) == 1
    assert 0 < hit["timestamp"] - created[0]["timestamp"] <= 600_000  # "CreateUser THEN attach"
    keys = [
        e
        for e in _ct(src, "CreateAccessKey")
        if attr(e, "responseElements.accessKey.status") == "Active"
    ]
    assert [attr(e, "requestParameters.userName") for e in keys] == [d["new_user"]]
    assert attack["end"] == keys[0]["timestamp"]
    # near miss: a ReadOnlyAccess attachment after a CreateUser (Terraform)
    (miss,) = d["near_misses"]
    others = [e for e in attach if e is not hit]
    assert [attr(e, "requestParameters.policyArn") for e in others] == [
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    ]
    assert others[0]["timestamp"] == miss["end"]
    (readonly_user,) = [e for e in _ct(src, "CreateUser") if e["timestamp"] == miss["start"]]
    assert attr(readonly_user, "requestParameters.userName") == "auditor-readonly"


def check_stop_logging(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    (stop,) = _ct(src, "StopLogging")
    assert stop["timestamp"] == attack["start"] == attack["end"]
    assert attr(stop, "userIdentity.arn") == attack["actor"]
    assert attr(stop, "requestParameters.name") == d["trail"]
    assert attr(stop, "network.client.ip") == d["ip"]
    assert not _ct(src, "DeleteTrail") and not _ct(src, "UpdateTrail")
    assert len(_ct(src, "DescribeTrails")) > 100 and len(_ct(src, "GetTrailStatus")) > 100


def check_public_snapshot(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    modify = _ct(src, "ModifySnapshotAttribute")

    def groups(e: Event) -> list[Any]:
        items = attr(e, "requestParameters.createVolumePermission.add.items") or []
        return [item.get("group") for item in items]

    public = [e for e in modify if "all" in groups(e)]
    assert len(public) == 1
    (hit,) = public
    assert hit["timestamp"] == attack["start"] and attr(hit, "userIdentity.arn") == attack["actor"]
    assert attr(hit, "requestParameters.snapshotId") == d["snapshot"]
    shared = [e for e in modify if e is not hit]
    assert len(shared) >= 7
    assert all(attr(e, "userIdentity.userName") == "svc_backup" for e in shared)
    assert all(groups(e) == [None] for e in shared)  # userId shares, never group "all"


def check_web_scan(attack: dict[str, Any], src: dict[str, list[Event]]) -> None:
    d = attack["details"]
    not_found = [e for e in src["nginx"] if attr(e, "http.status_code") == 404]
    per_ip = grouped(
        not_found, lambda e: attr(e, "network.client.ip"), lambda e: attr(e, "http.url")
    )
    scan = per_ip.pop(d["ip"])
    assert all(inside(attack, t) for t, _ in scan)
    assert max_in_window(scan, 10 * MINUTE, distinct=True) == d["distinct_404_urls"] >= 50
    scanner_requests = [e for e in src["nginx"] if attr(e, "network.client.ip") == d["ip"]]
    assert len(scanner_requests) == d["requests"]
    assert {e["service"] for e in scanner_requests} == {d["service"]}
    (crawler,) = d["near_misses"]
    assert max_in_window(per_ip.pop(crawler["ip"]), 10 * MINUTE, distinct=True) == 35
    assert max(max_in_window(p, 10 * MINUTE, distinct=True) for p in per_ip.values()) <= 5


CHECKS: dict[str, Callable[[dict[str, Any], dict[str, list[Event]]], None]] = {
    "okta_brute_force_then_success": check_brute_force,
    "okta_password_spray": check_spray,
    "okta_login_from_new_country": check_new_country,
    "okta_impossible_travel": check_impossible_travel,
    "aws_console_login_failures": check_console_failures,
    "aws_iam_admin_user_created": check_admin_user,
    "aws_cloudtrail_stop_logging": check_stop_logging,
    "aws_ebs_snapshot_made_public": check_public_snapshot,
    "web_404_scan": check_web_scan,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_planted_attack_is_in_the_data(
    name: str, planted: dict[str, dict[str, Any]], by_source: dict[str, list[Event]]
) -> None:
    CHECKS[name](planted[name], by_source)
