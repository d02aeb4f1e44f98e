"""The seeded week: every source's background and every planted scenario, in a fixed order.

All of them draw from one random stream, so the order of the steps below is part of the output:
changing it changes every event after the change (`tests/test_sample_generator.py` pins the
output of seed 7 by its hash).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

from .context import Context, Event
from .population import build_population
from .scenarios import (
    aws_console_login_failures,
    aws_leaked_key,
    aws_snapshot_public,
    okta_brute_force,
    okta_impossible_travel,
    okta_new_country,
    okta_password_spray,
    web_api_incident,
    web_scan,
)
from .sources.cloudtrail_machines import datadog_crawler, instance_roles
from .sources.cloudtrail_people import break_glass_users, engineers
from .sources.cloudtrail_service_accounts import service_accounts
from .sources.nginx import web_background
from .sources.okta import okta_background

DEFAULT_SEED = 7

PLANTED: list[dict[str, Any]] = [
    attack.as_dict()
    for attack in (
        okta_brute_force.ATTACK,
        okta_password_spray.ATTACK,
        okta_new_country.ATTACK,
        okta_impossible_travel.ATTACK,
        aws_console_login_failures.ATTACK,
        aws_leaked_key.ADMIN_USER_CREATED,
        aws_leaked_key.STOP_LOGGING,
        aws_snapshot_public.ATTACK,
        web_scan.ATTACK,
    )
]
"""One entry per planted attack: name, kind (detection method that finds it), start and end
(epoch ms, inclusive), actor (user e-mail, IP or ARN) and details (source, counts, the query a
rule needs, near misses). Identical for every seed."""


def generate(seed: int = DEFAULT_SEED) -> Iterator[Event]:
    """Yield the week's canonical events, sorted by (timestamp, generation order).

    The same seed always yields the same events (no clock, no network, no global state); the
    planted attacks in `PLANTED` are present for every seed.
    """
    # Hundreds of thousands of small dicts: the cyclic GC would rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
    try:
        events = _week(seed)
    finally:
        if enabled:
            gc.enable()
    events.reverse()  # hand events out one by one so a streaming consumer frees them as it goes
    while events:
        yield events.pop()


def _week(seed: int) -> list[Event]:
    """Run every step of the week in order and return the sorted events."""
    ctx = Context(seed)
    population = build_population(ctx)
    # Okta
    okta_background(ctx, population)
    okta_brute_force.plant(ctx)
    okta_password_spray.plant(ctx, population)
    okta_new_country.plant(ctx)
    okta_impossible_travel.plant(ctx)
    # CloudTrail
    datadog_crawler(ctx)
    instance_roles(ctx, population)
    service_accounts(ctx)
    aws_leaked_key.plant_terraform_near_miss(ctx)
    engineers(ctx, population)
    break_glass_users(ctx, aws_console_login_failures.NEAR_MISS_DAYS)
    aws_console_login_failures.plant(ctx)
    aws_leaked_key.plant(ctx)
    aws_snapshot_public.plant(ctx)
    # nginx
    web_background(ctx, population, web_api_incident.BAD_DEPLOY)
    web_api_incident.plant(ctx, population)
    web_scan.plant(ctx)
    return ctx.events()
