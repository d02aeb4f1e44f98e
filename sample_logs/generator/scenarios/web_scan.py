"""Planted: web vulnerability scan (`web_404_scan`).

Nuclei from one IP requests 134 URLs on web-store, 3 s apart, on Sunday 04:10: 126 distinct URLs
answered 404 (`/.env`, `/wp-login.php`, `/actuator/env`, ...). Near miss: Googlebot re-crawls 35
retired product URLs (404) in under 9 minutes.
"""

from __future__ import annotations

from ..catalog import words
from ..catalog.agents import A_GOOGLEBOT, A_NUCLEI, Agent
from ..catalog.shop import STORE_HOSTS
from ..catalog.sites import CRAWLER_IP, SCANNER_IP
from ..clock import at
from ..context import Context, pick, ri
from ..sources.nginx import access_line
from .attack import Attack

SCAN_START = at(6, 4, 10, 0)
CRAWL_START = at(5, 10, 0, 0)  # near miss: 35 distinct 404s in 10 min from Googlebot
CRAWL_404S = 35

SCAN_PATHS: tuple[str, ...] = words(
    "/.env /.env.bak /.env.production /.git/config /.git/HEAD /.svn/entries /.hg/hgrc "
    "/.DS_Store /.htaccess /.htpasswd /.aws/credentials /.ssh/id_rsa /.vscode/sftp.json /.npmrc "
    "/.dockerenv /docker-compose.yml /Dockerfile /config.json /config.yml /config.php "
    "/configuration.php /settings.py /web.config /app.config /wp-login.php /wp-admin/ "
    "/wp-config.php /wp-config.php.bak /wp-content/debug.log /xmlrpc.php /wp-json/wp/v2/users "
    "/phpmyadmin/ /pma/ /adminer.php /phpinfo.php /info.php /test.php /server-status "
    "/server-info /actuator /actuator/env /actuator/health /actuator/heapdump /jolokia/list "
    "/console/ /manager/html /jenkins/login /solr/admin/info/system /cgi-bin/luci "
    "/cgi-bin/test-cgi /owa/auth/logon.aspx /autodiscover/autodiscover.xml /ecp/ /remote/login "
    "/vpn/index.html /dana-na/auth/url_default/welcome.cgi /global-protect/login.esp "
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php /telescope/requests /_profiler/phpinfo "
    "/debug/default/view /_debugbar/open /horizon/api/stats /api/swagger.json /swagger-ui.html "
    "/v2/api-docs /graphql /graphiql /api/graphql /.well-known/security.txt /sitemap.xml.gz "
    "/backup.zip /backup.tar.gz /site.tar.gz /www.zip /db.sql /dump.sql /database.sql "
    "/storage/logs/laravel.log /logs/error.log /error_log /admin/ /admin/login /administrator/ "
    "/login.action /user/login /cpanel /webmail/ /mailman/listinfo /druid/index.html /nacos/ "
    "/geoserver/web/ /boaform/admin/formLogin"
)
SCAN_DIRS = ("/old", "/backup", "/dev", "/test", "/staging", "/tmp")
SCAN_FILES = ("/.env", "/config.php", "/db.sql", "/index.php", "/admin.php", "/.git/config")
# Answered with something other than 404 by the shop (the scan also sees these).
SCAN_NON_404 = {
    "/.git/config": 403,
    "/.htaccess": 403,
    "/.htpasswd": 403,
    "/server-status": 403,
    "/.well-known/security.txt": 200,
    "/admin/": 301,
}


def _scan_requests() -> list[tuple[str, int]]:
    """The scanner's (url, status) sequence; fixed, so `PLANTED` can state its counts."""
    paths = list(SCAN_PATHS) + [d + f for d in SCAN_DIRS for f in SCAN_FILES]
    requests = [("/", 200), ("/robots.txt", 200)]
    requests += [(path, SCAN_NON_404.get(path, 404)) for path in paths]
    # a second pass over a few paths with a trailing query (still distinct URLs)
    requests += [(path + "?debug=1", 404) for path in ("/.env", "/config.php", "/info.php")]
    return requests


SCAN_REQUESTS = _scan_requests()
SCAN_GAP_MS = 3_000
SCAN_END = SCAN_START + (len(SCAN_REQUESTS) - 1) * SCAN_GAP_MS

SCAN_DISTINCT_404 = len({url for url, status in SCAN_REQUESTS if status == 404})

ATTACK = Attack(
    "web_404_scan",
    "threshold",
    SCAN_START,
    SCAN_END,
    SCANNER_IP,
    {
        "source": "nginx",
        "service": "web-store",
        "ip": SCANNER_IP,
        "requests": len(SCAN_REQUESTS),
        "distinct_404_urls": SCAN_DISTINCT_404,
        "what_a_rule_sees": (
            "source:nginx @http.status_code:404 grouped by @network.client.ip, "
            f"cardinality(@http.url) = {SCAN_DISTINCT_404} in "
            f"{(SCAN_END - SCAN_START) // 1000} s (Nuclei user agent)"
        ),
        "near_misses": [
            {
                "ip": CRAWLER_IP,
                "start": CRAWL_START,
                "end": CRAWL_START + (CRAWL_404S - 1) * 15_000,
                "description": f"Googlebot re-crawls {CRAWL_404S} retired product URLs "
                "(404) in under 9 min",
            }
        ],
    },
)


def plant(ctx: Context) -> None:
    """The scan, spread over the web-store hosts by the load balancer, then Googlebot's crawl."""
    rng = ctx.rng

    def get(
        ts: int, host: str, ip: str, url: str, status: int, size: int, agent: Agent, ns: int
    ) -> None:
        access_line(ctx, ts, "web-store", host, ip, "GET", url, status, size, "-", agent, ns)

    for i, (url, status) in enumerate(SCAN_REQUESTS):
        ts = SCAN_START + i * SCAN_GAP_MS
        host = pick(rng, STORE_HOSTS)
        size = ri(rng, 150, 600) if status != 200 else ri(rng, 400, 9_000)
        get(ts, host, SCANNER_IP, url, status, size, A_NUCLEI, int(rng.lognormvariate(15.5, 0.4)))
    retired = rng.sample(range(100, 999), CRAWL_404S)
    for i, product in enumerate(retired):
        ts = CRAWL_START + i * 15_000
        host = pick(rng, STORE_HOSTS)
        url, size = f"/products/{product}", ri(rng, 1_500, 3_500)
        get(ts, host, CRAWLER_IP, url, 404, size, A_GOOGLEBOT, int(rng.lognormvariate(16.0, 0.4)))
        if i % 5 == 0:  # and a live product now and then
            url, size = f"/products/{ri(rng, 1000, 4999)}", ri(rng, 9_000, 90_000)
            ns = int(rng.lognormvariate(17.4, 0.5))
            get(ts + 4_000, host, CRAWLER_IP, url, 200, size, A_GOOGLEBOT, ns)
