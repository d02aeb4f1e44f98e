"""Seeded generator of the bundled sample logs: one week of Okta, CloudTrail and nginx events.

The output is a deterministic stream of canonical log events (SPEC §1.1): dicts with `id`,
`timestamp` (epoch milliseconds, UTC), the reserved fields `host`, `service`, `source`, `status`,
`message`, a lower-cased `tags` list and nested `attributes`, shaped the way Datadog's log
pipelines leave them (raw vendor keys plus the Datadog standard attributes such as `evt.name`,
`evt.outcome`, `usr.email`, `network.client.ip`, `network.client.geoip`, `http.useragent`).

The week is fixed (2024-03-04T00:00:00Z, a Monday, for 7 days). Background activity comes from a
few hundred employees (Okta sign-ins, AWS usage through IAM Identity Center), a handful of
service accounts and machine roles (CloudTrail), and shop customers (nginx access logs of
`web-store` and `web-api`). On top of it a fixed set of attacks is planted, each with near
misses; `PLANTED` describes them and does not depend on the seed (actors, IPs and times are
constants; only the background changes with the seed).

Layout: `catalog/` holds the fixed data, `sources/` one module per log source (event shape and
background), `scenarios/` one module per planted scenario, `week` the order in which they run on
one shared `Context` (random stream, IPs in use, emitted events). Standard library only.
"""

from __future__ import annotations

from .catalog.sites import CRAWLER_IP, SCANNER_IP
from .clock import WEEK_END_MS, WEEK_START_MS
from .scenarios.web_api_incident import INCIDENT_END, INCIDENT_HOST, INCIDENT_START
from .week import DEFAULT_SEED, PLANTED, generate

__all__ = [
    "CRAWLER_IP",
    "DEFAULT_SEED",
    "INCIDENT_END",
    "INCIDENT_HOST",
    "INCIDENT_START",
    "PLANTED",
    "SCANNER_IP",
    "WEEK_END_MS",
    "WEEK_START_MS",
    "generate",
]
