"""Planted: Okta password spray (`okta_password_spray`).

One hosting IP in Amsterdam tries one password against 24 distinct employees, 20 s apart, on
Tuesday 02:30 (python-requests, flagged `threatSuspected`). Near miss: a low-and-slow spray from
Warsaw, 30 distinct users one every 6 minutes (at most 2 in any 10 minutes).
"""

from __future__ import annotations

from ..catalog.agents import A_PYTHON_REQUESTS, A_SPRAY_BROWSER
from ..catalog.people import FIXED_PEOPLE
from ..catalog.sites import S_SLOW_SPRAY, S_SPRAY
from ..clock import at
from ..context import Context
from ..population import Population
from ..sources.okta import failed_login
from .attack import OKTA_LOGIN, Attack

SPRAY_USERS = 24
SPRAY_TIMES = [at(1, 2, 30, 0) + i * 20_000 + (i * 7_919) % 900 for i in range(SPRAY_USERS)]
# near miss: low-and-slow spray, 30 distinct users, one every 6 minutes (Wed 00:00-02:54).
SLOW_SPRAY_USERS = 30
SLOW_SPRAY_TIMES = [
    at(2, 0, 0, 0) + i * 360_000 + (i * 4_973) % 30_000 for i in range(SLOW_SPRAY_USERS)
]

ATTACK = Attack(
    "okta_password_spray",
    "threshold",
    SPRAY_TIMES[0],
    SPRAY_TIMES[-1],
    S_SPRAY.ip,
    {
        "source": "okta",
        "ip": S_SPRAY.ip,
        "distinct_users": SPRAY_USERS,
        "what_a_rule_sees": (
            f"{OKTA_LOGIN} @evt.outcome:failure grouped by @network.client.ip, "
            f"cardinality(@usr.email) = {SPRAY_USERS} in 7m40s "
            "(user agent python-requests/2.31.0)"
        ),
        "near_misses": [
            {
                "ip": S_SLOW_SPRAY.ip,
                "start": SLOW_SPRAY_TIMES[0],
                "end": SLOW_SPRAY_TIMES[-1],
                "description": "low-and-slow spray: 30 distinct users, one every 6 min "
                "(at most 2 distinct users in any 10 min)",
            }
        ],
    },
)


def plant(ctx: Context, population: Population) -> None:
    """The spray and the slow spray, each against distinct random employees."""
    rng = ctx.rng
    candidates = [p for p in population.people if p not in FIXED_PEOPLE]
    for ts, victim in zip(SPRAY_TIMES, rng.sample(candidates, SPRAY_USERS), strict=True):
        failed_login(ctx, ts, victim, S_SPRAY, agent=A_PYTHON_REQUESTS, threat=True)
    for ts, victim in zip(SLOW_SPRAY_TIMES, rng.sample(candidates, SLOW_SPRAY_USERS), strict=True):
        failed_login(ctx, ts, victim, S_SLOW_SPRAY, agent=A_SPRAY_BROWSER)
