"""nginx access logs of the shop, as Datadog's nginx integration parses them, and its traffic.

`access_line` shapes one combined-log-format line and its parsed attributes; `web_background`
is the week's visitors (browsers and bots on web-store, app clients on web-api) on a diurnal,
weekly curve. A `BadDeploy` makes one node fail part of its requests for a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from ..catalog.agents import Agent
from ..catalog.shop import (
    API_HOSTS,
    CATEGORIES,
    DAILY_SHOP,
    HOURLY_SHOP,
    REFERERS,
    SEARCH_TERMS,
    SHOP_ORIGIN,
    STALE_LINKS,
    STORE_ASSETS,
    STORE_HOSTS,
)
from ..clock import HOUR_MS, WEEK_START_MS, clf_time
from ..context import Context, Event, pick, ri
from ..population import Population


@dataclass(frozen=True, slots=True)
class BadDeploy:
    """A node that answers part of its requests with 502 in [start, end) (a bad deploy)."""

    host: str
    start: int
    end: int
    failure_rate: float

    def fails(self, rng: Random, host: str, t: int) -> bool:
        """Whether a request to `host` at `t` fails (draws only on the bad node, in the window)."""
        return host == self.host and self.start <= t < self.end and rng.random() < self.failure_rate


def access_line(
    ctx: Context,
    ts: int,
    service: str,
    host: str,
    ip: str,
    method: str,
    url: str,
    status: int,
    size: int,
    referer: str,
    agent: Agent,
    duration_ns: int,
) -> None:
    """Emit one nginx access log line, parsed the way Datadog's nginx pipeline does.

    The combined log format has second precision (`$time_local`), and `$request_time`
    millisecond precision, so the timestamp is whole seconds and the duration whole ms.
    """
    ts -= ts % 1000
    duration_ns = max(1, duration_ns // 1_000_000) * 1_000_000
    path, _, query = url.partition("?")
    url_details: Event = {"path": path}
    if query:
        url_details["queryString"] = dict(
            part.partition("=")[::2] for part in query.split("&") if part
        )
    message = (
        f'{ip} - - [{clf_time(ts)}] "{method} {url} HTTP/1.1" {status} {size} '
        f'"{referer}" "{agent.raw}"'
    )
    level = "error" if status >= 500 else "warn" if status >= 400 else "info"
    zone = "us-east-1a" if int(host[-2:]) % 2 else "us-east-1b"
    ctx.emit(
        {
            "id": "",
            "timestamp": ts,
            "host": host,
            "service": service,
            "source": "nginx",
            "status": level,
            "message": message,
            "tags": [
                "env:prod",
                "source:nginx",
                f"service:{service}",
                "team:storefront",
                f"availability-zone:{zone}",
            ],
            "attributes": {
                "http": {
                    "method": method,
                    "url": url,
                    "status_code": status,
                    "version": "1.1",
                    "referer": referer,
                    "useragent": agent.raw,
                    "useragent_details": agent.details(),
                    "url_details": url_details,
                },
                "network": {"client": {"ip": ip}, "bytes_written": size},
                "duration": duration_ns,
                "date_access": ts,
            },
        }
    )


def web_background(ctx: Context, population: Population, bad_deploy: BadDeploy) -> None:
    """Each hour of the week: store visits and app sessions, as many as the traffic curve says."""
    rng = ctx.rng
    web_clients = population.web_clients
    n_clients = len(web_clients)
    for hour in range(7 * 24):
        weight = HOURLY_SHOP[hour % 24] * DAILY_SHOP[hour // 24]
        hour_start = WEEK_START_MS + hour * HOUR_MS
        for _ in range(max(0, round(rng.gauss(11 * weight, 1.5)))):
            ip, agent = web_clients[int(n_clients * rng.random() ** 2.2)]
            store_visit(ctx, hour_start + ri(rng, 0, HOUR_MS - 1), ip, agent)
        for _ in range(max(0, round(rng.gauss(6 * weight, 1)))):
            ip, agent = app_client(ctx, population)
            api_visit(ctx, hour_start + ri(rng, 0, HOUR_MS - 1), ip, agent, API_HOSTS, bad_deploy)


def app_client(ctx: Context, population: Population) -> tuple[str, Agent]:
    """A random app client, the first ones far more often (a few heavy users)."""
    clients = population.app_clients
    return clients[int(len(clients) * ctx.rng.random() ** 2.0)]


def store_visit(ctx: Context, t: int, ip: str, agent: Agent) -> None:
    """A visitor's (or bot's) pages on web-store, with the static files the CDN missed."""
    rng = ctx.rng
    bot = agent.device == "Spider"
    referer = pick(rng, REFERERS)
    pages = ri(rng, 1, 3) if bot else 1 + int(rng.expovariate(1 / 3.5))
    for page_no in range(min(pages, 14)):
        url, status = store_page(ctx, page_no)
        method = "GET"
        if url.startswith("/checkout/submit"):
            method = "POST"
        if rng.random() < 0.0025:
            status = pick(rng, (500, 502, 503, 504))
        size = 0 if status in (301, 302, 304) else ri(rng, 9_000, 95_000)
        if status == 404:
            size = ri(rng, 1_500, 3_500)
        duration = int(rng.lognormvariate(17.4, 0.6))  # ~36 ms median
        host = pick(rng, STORE_HOSTS)
        access_line(
            ctx, t, "web-store", host, ip, method, url, status, size, referer, agent, duration
        )
        referer = SHOP_ORIGIN + url.partition("?")[0]
        # the CDN serves most static files: nginx sees a few misses on a visit's first page
        if not bot and status == 200 and page_no == 0 and rng.random() < 0.5:
            for asset in rng.sample(STORE_ASSETS, ri(rng, 1, 3)):
                t += ri(rng, 30, 400)
                cached = rng.random() < 0.35
                access_line(
                    ctx,
                    t,
                    "web-store",
                    host,
                    ip,
                    "GET",
                    asset,
                    304 if cached else 200,
                    0 if cached else ri(rng, 2_000, 180_000),
                    referer,
                    agent,
                    int(rng.lognormvariate(14.5, 0.5)),
                )
        t += ri(rng, 4_000, 95_000)


def store_page(ctx: Context, page_no: int) -> tuple[str, int]:
    """(url, status) of a visit's `page_no`-th page."""
    rng = ctx.rng
    roll = rng.random()
    if page_no == 0 and roll < 0.3:
        return "/", 200
    if roll < 0.55:
        product = ri(rng, 1000, 4999)
        status = 404 if rng.random() < 0.012 else 200
        return f"/products/{product}", status
    if roll < 0.72:
        return f"/category/{pick(rng, CATEGORIES)}?page={ri(rng, 1, 5)}", 200
    if roll < 0.82:
        return f"/search?q={pick(rng, SEARCH_TERMS)}", 200
    if roll < 0.9:
        return "/cart", 200
    if roll < 0.94:
        return "/checkout", 200
    if roll < 0.96:
        return "/checkout/submit", 302
    if roll < 0.98:
        return "/account/login", 200
    if roll < 0.995:
        return pick(rng, ("/about", "/shipping", "/returns", "/contact", "/robots.txt")), 200
    return pick(rng, STALE_LINKS), 404


def api_visit(
    ctx: Context,
    t: int,
    ip: str,
    agent: Agent,
    hosts: list[str],
    bad_deploy: BadDeploy,
    *,
    calls: int | None = None,
) -> None:
    """A mobile-app session's calls to web-api (`calls` of them, or a random number)."""
    rng = ctx.rng
    cart = ctx.uuid()
    for _ in range(calls or 1 + int(rng.expovariate(1 / 4.0))):
        roll = rng.random()
        method, status = "GET", 200
        if roll < 0.35:
            url = f"/api/v2/products?category={pick(rng, CATEGORIES)}&page={ri(rng, 1, 6)}"
        elif roll < 0.65:
            url = f"/api/v2/products/{ri(rng, 1000, 4999)}"
            if rng.random() < 0.01:
                status = 404
        elif roll < 0.75:
            url = "/api/v2/users/me"
            if rng.random() < 0.06:
                status = 401
        elif roll < 0.86:
            method, url, status = "POST", f"/api/v2/carts/{cart}/items", 201
            if rng.random() < 0.02:
                status = 400
        elif roll < 0.91:
            method, url, status = (
                "DELETE",
                f"/api/v2/carts/{cart}/items/{ri(rng, 1, 9)}",
                204,
            )
        elif roll < 0.95:
            method, url, status = "POST", "/api/v2/orders", 201
            if rng.random() < 0.03:
                status = 402
        elif roll < 0.98:
            method, url = "POST", "/api/v2/auth/token"
            if rng.random() < 0.08:
                status = 401
        else:
            url = f"/api/v2/recommendations?product={ri(rng, 1000, 4999)}"
        if rng.random() < 0.003:
            status = 429
        host = pick(rng, hosts)
        if bad_deploy.fails(rng, host, t):
            status = 502
        elif rng.random() < 0.002:
            status = pick(rng, (500, 503, 504))
        size = 0 if status == 204 else ri(rng, 120, 24_000) if status < 400 else ri(rng, 60, 400)
        duration = int(rng.lognormvariate(17.9, 0.7))  # ~60 ms median
        access_line(ctx, t, "web-api", host, ip, method, url, status, size, "-", agent, duration)
        t += ri(rng, 300, 45_000)
