"""Background incident, not an attack: a bad deploy on `web-api-03` (Thursday 14:02-14:09).

The node answers about 40% of its requests with 502 and fails fast, so the load balancer (least
outstanding requests) sends it a request every few seconds until the deploy is rolled back: up
to 38 server errors in 5 min on that host, at most 1 on any other. It is not in `PLANTED`; the
bundled rules must not mistake it for an attack.
"""

from __future__ import annotations

from ..clock import at
from ..context import Context, ri
from ..population import Population
from ..sources.nginx import BadDeploy, api_visit, app_client

INCIDENT_HOST = "web-api-03"
INCIDENT_START = at(3, 14, 2)
INCIDENT_END = at(3, 14, 9)
BAD_DEPLOY = BadDeploy(INCIDENT_HOST, INCIDENT_START, INCIDENT_END, failure_rate=0.4)


def plant(ctx: Context, population: Population) -> None:
    """The load balancer's extra requests to the failing node (the background already sees its
    502s through `BAD_DEPLOY`)."""
    rng = ctx.rng
    t = INCIDENT_START + ri(rng, 0, 2_000)
    while t < INCIDENT_END:
        ip, agent = app_client(ctx, population)
        api_visit(ctx, t, ip, agent, [INCIDENT_HOST], BAD_DEPLOY, calls=1)
        t += ri(rng, 2_000, 4_000)
