"""A library of varied threshold rules over the auth workload (`workload.py`), for scale runs.

Rules combine 8 filter shapes, 4 group-bys, counts and cardinalities, several evaluation windows
and thresholds: `varied_rules(100)` is the "100 varied rules" of the scale benchmark; any count
cycles through the same shapes with new thresholds, so 1,000 rules share predicates as a real
library does.
"""

from __future__ import annotations

from typing import Any

FILTERS = (
    "source:auth @evt.outcome:failure",
    "source:auth @evt.outcome:failure -@usr.id:svc_*",
    "@http.status_code:401",
    "status:warn",
    "source:auth region:eu @evt.outcome:failure",
    "@network.client.geoip.country.iso_code:(FR OR DE) @evt.outcome:failure",
    "service:okta @evt.outcome:success -@usr.id:user*",
    "@usr.id:user0* @evt.outcome:failure",
)
GROUP_BYS = ("@usr.id", "@network.client.ip", "host", "@network.client.geoip.country.iso_code")
#: For a cardinality rule grouped by the key, the field whose distinct values it counts.
DISTINCT = {
    "@usr.id": "@network.client.ip",
    "@network.client.ip": "@usr.id",
    "host": "@usr.id",
    "@network.client.geoip.country.iso_code": "@usr.id",
}
#: (evaluationWindow, keepAlive) pairs, in seconds.
WINDOWS = ((300, 600), (600, 900), (900, 1800), (1800, 3600))


def varied_rule(number: int) -> dict[str, Any]:
    """The `number`th rule of the library (deterministic)."""
    query = FILTERS[number % len(FILTERS)]
    group = GROUP_BYS[(number // len(FILTERS)) % len(GROUP_BYS)]
    window, keep_alive = WINDOWS[(number // 3) % len(WINDOWS)]
    spec: dict[str, Any] = {"query": query, "groupByFields": [group]}
    if number % 2:
        spec |= {"aggregation": "cardinality", "distinctFields": [DISTINCT[group]]}
    else:
        spec |= {"aggregation": "count"}
    threshold = 3 + number % 5
    if group in ("host", "@network.client.geoip.country.iso_code"):
        threshold *= 25  # coarse groups see many events per window
    return {
        "name": f"scale rule {number:04d}",
        "type": "log_detection",
        "queries": [spec],
        "cases": [
            {"status": "medium", "condition": f"a > {threshold}"},
            {"status": "low", "condition": f"a > {threshold // 2}"},
        ][: 1 + number % 2],
        "options": {
            "evaluationWindow": window,
            "keepAlive": keep_alive,
            "maxSignalDuration": 3600,
        },
        "message": f"{{{{{group}}}}}: {{{{events_matched}}}} events",
    }


def varied_rules(count: int) -> list[dict[str, Any]]:
    """`count` varied rules (the first `count` of the library)."""
    return [varied_rule(number) for number in range(count)]
