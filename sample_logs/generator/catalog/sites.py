"""Fixed network sites: the attackers', the near misses' and the company's own infrastructure.

These IPs are constants (the planted attacks are the same for every seed); `INFRASTRUCTURE_IPS`
keeps the random background off them.
"""

from __future__ import annotations

from .geo import (
    P_AMSTERDAM,
    P_ANNEMASSE,
    P_ASHBURN,
    P_BUCHAREST,
    P_CHICAGO,
    P_FRANKFURT,
    P_MANCHESTER,
    P_NEW_YORK,
    P_SINGAPORE,
    P_ST_PETERSBURG,
    P_WARSAW,
    Site,
    home,
)

# Attacker / near-miss infrastructure (fixed).
S_BRUTE = Site(
    "73.162.44.91",
    P_CHICAGO,
    7922,
    "comcast cable communications, llc",
    "comcast",
    "comcast.net",
    proxy=True,
)  # residential proxy
S_SPRAY = Site(
    "45.134.26.19", P_AMSTERDAM, 9009, "m247 europe srl", "m247 ltd", "m247.com", proxy=True
)
S_SLOW_SPRAY = Site(
    "91.232.105.18", P_WARSAW, 50599, "dataspace p.s.a.", "dataspace", "dataspace.pl", proxy=True
)
S_NEW_COUNTRY = Site(
    "86.124.77.30", P_BUCHAREST, 8708, "rcs & rds s.a.", "digi romania", "rcs-rds.ro"
)
S_SINGAPORE = Site(
    "103.6.151.20",
    P_SINGAPORE,
    55720,
    "gigabit hosting sdn bhd",
    "gigabit hosting",
    "gbnetwork.com",
)
S_JULIEN_NY = Site(
    "64.124.9.88", P_NEW_YORK, 6461, "zayo bandwidth", "zayo bandwidth", "zayo.com"
)  # hotel wifi in Manhattan
S_OLIVER_MOBILE = Site(
    "82.132.225.14", P_MANCHESTER, 35228, "telefonica uk limited", "o2 uk", "o2.co.uk"
)  # mobile carrier egress geolocated to Manchester
S_LUKAS_HOME = home("90.63.214.77", P_ANNEMASSE)
S_CONSOLE_BRUTE = Site(
    "5.188.62.140", P_ST_PETERSBURG, 49505, "selectel", "selectel ltd", "selectel.ru"
)
S_AWS_ATTACKER = Site(
    "185.193.126.61",
    P_FRANKFURT,
    24940,
    "hetzner online gmbh",
    "hetzner online gmbh",
    "hetzner.com",
)
S_DATADOG = Site(
    "3.233.146.29", P_ASHBURN, 14618, "amazon.com, inc.", "amazon.com", "amazonaws.com"
)
S_BACKUP = Site("54.210.33.17", P_ASHBURN, 14618, "amazon.com, inc.", "amazon.com", "amazonaws.com")
S_CI_RUNNERS = tuple(
    Site(ip, P_ASHBURN, 8075, "microsoft corporation", "microsoft azure", "microsoft.com")
    for ip in ("20.57.79.12", "20.57.79.140", "52.176.148.6", "52.176.151.93", "20.85.222.48")
)
SCANNER_IP = "193.142.146.35"
CRAWLER_IP = "66.249.66.147"  # Googlebot re-crawling a retired catalogue (near miss)

INFRASTRUCTURE_IPS = frozenset(
    {
        S_BRUTE.ip,
        S_SPRAY.ip,
        S_SLOW_SPRAY.ip,
        S_NEW_COUNTRY.ip,
        S_SINGAPORE.ip,
        S_JULIEN_NY.ip,
        S_OLIVER_MOBILE.ip,
        S_LUKAS_HOME.ip,
        S_CONSOLE_BRUTE.ip,
        S_AWS_ATTACKER.ip,
        S_DATADOG.ip,
        S_BACKUP.ip,
        SCANNER_IP,
        CRAWLER_IP,
    }
    | {site.ip for site in S_CI_RUNNERS}
)
