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

Run it on its own (standard library only)::

    python sample_logs/generate.py --out sample.ndjson.gz [--seed 7]
"""

from __future__ import annotations

import argparse
import base64
import gc
import gzip
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from random import Random
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_SEED",
    "PLANTED",
    "WEEK_END_MS",
    "WEEK_START_MS",
    "generate",
    "main",
]

Event = dict[str, Any]
_T = TypeVar("_T")

DEFAULT_SEED = 7
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_START_MS = 1_709_510_400_000  # 2024-03-04T00:00:00Z, a Monday
WEEK_END_MS = WEEK_START_MS + 7 * DAY_MS  # exclusive

AWS_ACCOUNT = "491783625870"
AWS_STAGING_ACCOUNT = "903355240118"
DATADOG_AWS_ACCOUNT = "464622532012"
EMAIL_DOMAIN = "example.com"
OKTA_ORG = "example.okta.com"
SHOP_ORIGIN = "https://shop.example.com"


def _at(day: int, hour: int, minute: int, second: int = 0, ms: int = 0) -> int:
    """Epoch ms of `day` (0 = Monday 2024-03-04) at the given UTC wall time."""
    return WEEK_START_MS + day * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + ms


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_TEXT: dict[int, tuple[str, str]] = {}


def _day_text(day_number: int) -> tuple[str, str]:
    """(`2024-03-04`, `04/Mar/2024`) for a day counted from the epoch (cached)."""
    text = _DAY_TEXT.get(day_number)
    if text is None:
        moment = datetime.fromtimestamp(day_number * 86_400, tz=UTC)
        text = (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}",
            f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year:04d}",
        )
        _DAY_TEXT[day_number] = text
    return text


def _split(epoch_ms: int) -> tuple[int, int, int, int, int]:
    seconds, ms = divmod(epoch_ms, 1000)
    day_number, second_of_day = divmod(seconds, 86_400)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return day_number, hour, minute, second, ms


def _iso_seconds(epoch_ms: int) -> str:
    """`2024-03-04T10:00:00Z` (CloudTrail `eventTime`)."""
    day_number, hour, minute, second, _ = _split(epoch_ms)
    return f"{_day_text(day_number)[0]}T{hour:02d}:{minute:02d}:{second:02d}Z"


def _iso_millis(epoch_ms: int) -> str:
    """`2024-03-04T10:00:00.123Z` (Okta `published`)."""
    day_number, hour, minute, second, ms = _split(epoch_ms)
    return f"{_day_text(day_number)[0]}T{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"


def _clf_time(epoch_ms: int) -> str:
    """`04/Mar/2024:10:00:00 +0000` (nginx `$time_local` on a UTC host)."""
    day_number, hour, minute, second, _ = _split(epoch_ms)
    return f"{_day_text(day_number)[1]}:{hour:02d}:{minute:02d}:{second:02d} +0000"


def _ri(rng: Random, low: int, high: int) -> int:
    """A uniform integer in [low, high] (a faster `Random.randint`)."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: Random, items: Sequence[_T]) -> _T:
    """A uniform element of `items` (a faster `Random.choice`)."""
    return items[int(rng.random() * len(items))]


# --------------------------------------------------------------------------------------------
# Places, network sites and user agents
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """A geolocated city, as a GeoIP database would describe it."""

    city: str
    region: str
    region_iso: str
    country: str
    iso: str
    continent: str
    continent_code: str
    lat: float
    lon: float
    postal: str


def _place(
    city: str,
    region: str,
    region_iso: str,
    country: str,
    iso: str,
    continent_code: str,
    lat: float,
    lon: float,
    postal: str,
) -> Place:
    continents = {"NA": "North America", "EU": "Europe", "AS": "Asia"}
    return Place(
        city,
        region,
        region_iso,
        country,
        iso,
        continents[continent_code],
        continent_code,
        lat,
        lon,
        postal,
    )


US, GB, FR, DE, CH = "United States", "United Kingdom", "France", "Germany", "Switzerland"

P_NEW_YORK = _place("New York", "New York", "NY", US, "US", "NA", 40.7128, -74.0060, "10004")
P_BROOKLYN = _place("Brooklyn", "New York", "NY", US, "US", "NA", 40.6782, -73.9442, "11201")
P_JERSEY_CITY = _place(
    "Jersey City", "New Jersey", "NJ", US, "US", "NA", 40.7178, -74.0431, "07302"
)
P_HOBOKEN = _place("Hoboken", "New Jersey", "NJ", US, "US", "NA", 40.7440, -74.0324, "07030")
P_YONKERS = _place("Yonkers", "New York", "NY", US, "US", "NA", 40.9312, -73.8988, "10701")
P_SAN_FRANCISCO = _place(
    "San Francisco", "California", "CA", US, "US", "NA", 37.7749, -122.4194, "94105"
)
P_OAKLAND = _place("Oakland", "California", "CA", US, "US", "NA", 37.8044, -122.2712, "94612")
P_BERKELEY = _place("Berkeley", "California", "CA", US, "US", "NA", 37.8716, -122.2727, "94704")
P_SAN_MATEO = _place("San Mateo", "California", "CA", US, "US", "NA", 37.5630, -122.3255, "94401")
P_AUSTIN = _place("Austin", "Texas", "TX", US, "US", "NA", 30.2672, -97.7431, "78701")
P_ROUND_ROCK = _place("Round Rock", "Texas", "TX", US, "US", "NA", 30.5083, -97.6789, "78664")
P_CHICAGO = _place("Chicago", "Illinois", "IL", US, "US", "NA", 41.8781, -87.6298, "60601")
P_ASHBURN = _place("Ashburn", "Virginia", "VA", US, "US", "NA", 39.0438, -77.4874, "20147")
P_LONDON = _place("London", "England", "ENG", GB, "GB", "EU", 51.5074, -0.1278, "EC2A")
P_CROYDON = _place("Croydon", "England", "ENG", GB, "GB", "EU", 51.3762, -0.0982, "CR0")
P_WATFORD = _place("Watford", "England", "ENG", GB, "GB", "EU", 51.6565, -0.3903, "WD17")
P_MANCHESTER = _place("Manchester", "England", "ENG", GB, "GB", "EU", 53.4808, -2.2426, "M1")
P_PARIS = _place("Paris", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8566, 2.3522, "75002")
P_BOULOGNE = _place(
    "Boulogne-Billancourt", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8397, 2.2399, "92100"
)
P_MONTREUIL = _place("Montreuil", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8638, 2.4485, "93100")
P_VERSAILLES = _place(
    "Versailles", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8049, 2.1204, "78000"
)
P_BERLIN = _place("Berlin", "Land Berlin", "BE", DE, "DE", "EU", 52.5200, 13.4050, "10117")
P_POTSDAM = _place("Potsdam", "Brandenburg", "BB", DE, "DE", "EU", 52.3906, 13.0645, "14467")
P_FRANKFURT = _place("Frankfurt am Main", "Hesse", "HE", DE, "DE", "EU", 50.1109, 8.6821, "60313")
P_GENEVA = _place("Geneva", "Geneva", "GE", CH, "CH", "EU", 46.2044, 6.1432, "1201")
P_ANNEMASSE = _place(
    "Annemasse", "Auvergne-Rhone-Alpes", "ARA", FR, "FR", "EU", 46.1934, 6.2342, "74100"
)
P_SINGAPORE = _place(
    "Singapore", "Singapore", "01", "Singapore", "SG", "AS", 1.3521, 103.8198, "018989"
)
P_BUCHAREST = _place(
    "Bucharest", "Bucuresti", "B", "Romania", "RO", "EU", 44.4268, 26.1025, "030167"
)
P_AMSTERDAM = _place(
    "Amsterdam", "North Holland", "NH", "Netherlands", "NL", "EU", 52.3676, 4.9041, "1012"
)
P_WARSAW = _place("Warsaw", "Mazovia", "14", "Poland", "PL", "EU", 52.2297, 21.0122, "00-001")
P_ST_PETERSBURG = _place(
    "Saint Petersburg", "St.-Petersburg", "SPE", "Russia", "RU", "EU", 59.9311, 30.3609, "190000"
)


@dataclass(frozen=True, slots=True)
class Site:
    """A public IP address with its GeoIP place and network owner."""

    ip: str
    place: Place
    asn: int
    as_org: str
    isp: str
    domain: str
    proxy: bool = False


_ISP_BY_COUNTRY: dict[str, tuple[int, str, str, str, tuple[str, ...]]] = {
    "US": (
        7922,
        "comcast cable communications, llc",
        "comcast",
        "comcast.net",
        ("73.162", "98.116", "24.91", "71.245", "68.173", "76.102"),
    ),
    "GB": (2856, "british telecommunications plc", "bt", "bt.com", ("86.151", "81.154", "109.150")),
    "FR": (3215, "orange s.a.", "orange", "orange.fr", ("90.63", "86.246", "83.202")),
    "DE": (
        3320,
        "deutsche telekom ag",
        "deutsche telekom ag",
        "telekom.de",
        ("79.206", "91.64", "87.178"),
    ),
    "CH": (3303, "swisscom (schweiz) ag", "swisscom", "swisscom.ch", ("85.1", "178.197")),
}


@dataclass(frozen=True, slots=True)
class Agent:
    """A user agent string with the parsed details Datadog's user-agent parser adds."""

    raw: str
    os: str
    browser: str
    device: str = "Other"


BROWSERS: tuple[Agent, ...] = (
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Mac OS X",
        "Chrome",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Safari/537.36",
        "Mac OS X",
        "Chrome",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3.1 Safari/605.1.15",
        "Mac OS X",
        "Safari",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Windows",
        "Chrome",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
        "Windows",
        "Edge",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.3; rv:123.0) Gecko/20100101 Firefox/123.0",
        "Mac OS X",
        "Firefox",
    ),
    Agent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Linux",
        "Chrome",
    ),
)
PHONES: tuple[Agent, ...] = (
    Agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
        "iOS",
        "Mobile Safari",
        "iPhone",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.6261.64 Mobile Safari/537.36",
        "Android",
        "Chrome Mobile",
        "Pixel 8",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.6167.178 Mobile Safari/537.36",
        "Android",
        "Chrome Mobile",
        "Samsung SM-S911B",
    ),
)
APP_AGENTS: tuple[Agent, ...] = (
    Agent("ShopApp/5.12.1 (iPhone; iOS 17.3.1; Scale/3.00)", "iOS", "ShopApp", "iPhone"),
    Agent("ShopApp/5.12.0 (iPhone; iOS 17.2.1; Scale/3.00)", "iOS", "ShopApp", "iPhone"),
    Agent("ShopApp/5.12.1 (Android 14; Pixel 7)", "Android", "ShopApp", "Pixel 7"),
    Agent("okhttp/4.12.0", "Android", "okhttp", "Other"),
)
BOTS: tuple[Agent, ...] = (
    Agent(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Other",
        "Googlebot",
        "Spider",
    ),
    Agent(
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Other",
        "bingbot",
        "Spider",
    ),
    Agent(
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Other",
        "AhrefsBot",
        "Spider",
    ),
)
A_GOOGLEBOT = BOTS[0]
A_PYTHON_REQUESTS = Agent("python-requests/2.31.0", "Other", "Python Requests")
A_SPRAY_BROWSER = Agent(
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/109.0.0.0 Safari/537.36",
    "Windows",
    "Chrome",
)
A_NUCLEI = Agent(
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "Other",
    "Other",
    "Spider",
)

# AWS SDK / CLI user agents, as they appear in CloudTrail `userAgent`.
UA_CLI_MAC = "aws-cli/2.15.24 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/{command}"
UA_CLI_CI = (
    "aws-cli/2.15.24 Python/3.11.8 Linux/6.5.0-1016-azure exe/x86_64.ubuntu.22 prompt/off "
    "command/{command}"
)
UA_CLI_KALI = (
    "aws-cli/2.15.19 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off "
    "command/{command}"
)
UA_BOTO3 = (
    "Boto3/1.34.49 md/Botocore#1.34.49 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.49"
)
UA_GO_SDK = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.7 md/GOOS#linux md/GOARCH#amd64 api/{api}"
UA_DD_AGENT = "aws-sdk-go/1.50.21 (go1.21.7; linux; amd64) datadog-agent/7.51.0"
UA_DD_CRAWLER = "aws-sdk-go/1.44.331 (go1.20.12; linux; amd64) DatadogAWSIntegration/1.0"
UA_JAVA = (
    "aws-sdk-java/2.25.6 Linux/5.10.210-201.852.amzn2.x86_64 "
    "OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS "
    "Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"
)
UA_TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) "
    "terraform-provider-aws/5.39.1 (+https://registry.terraform.io/providers/hashicorp/aws) "
    "aws-sdk-go/1.50.29 (go1.21.7; linux; amd64)"
)
UA_CONSOLE = "AWS Internal"


def _words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of `text` (compact data tables)."""
    return tuple(text.split())


FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony "
    "Betty Mark Sandra Paul Ashley Steven Kimberly Andrew Emily Joshua Donna Kevin Michelle "
    "Brian Carol George Amanda Timothy Melissa Ryan Deborah Jacob Stephanie Gary Rebecca "
    "Nicholas Laura Eric Helen Jonathan Sharon Priya Arjun Wei Mei Hiroshi Yuki Ahmed Fatima "
    "Carlos Lucia Mateo Sofia Pierre Claire Hugo Chloe Felix Hannah Jonas Lena Tom Amelia Harry "
    "Isla Omar Leila Ivan Olga Kwame Ama"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Taylor Thomas Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Scott Green Baker "
    "Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker "
    "Collins Edwards Stewart Morris Nguyen Patel Shah Chen Wang Kim Tanaka Sato Haddad Silva "
    "Costa Bernard Dubois Petit Lefebvre Schmidt Schneider Weber Wagner Becker Hoffmann Hughes "
    "Murphy Kelly Novak Horvat Jensen Nielsen Mensah Okafor Ivanova Popescu"
)

OKTA_APPS: tuple[tuple[str, str, int], ...] = (
    # (app label, app instance name, weight)
    ("Slack", "slack", 30),
    ("Google Workspace", "google", 25),
    ("GitHub Enterprise Cloud", "githubcloud", 12),
    ("Jira Software", "atlassian_jira", 12),
    ("Datadog", "datadog", 8),
    ("Zoom", "zoomus", 8),
    ("Salesforce", "salesforce", 6),
    ("AWS IAM Identity Center", "amazon_aws_sso", 6),
    ("Workday", "workday", 3),
)

# --------------------------------------------------------------------------------------------
# People, offices and AWS principals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Office:
    """A company office: its GeoIP place, time zone, NAT egress IPs and nearby home towns."""

    name: str
    place: Place
    tz_hours: int
    nat_ips: tuple[str, ...]
    homes: tuple[Place, ...]
    headcount: int

    @property
    def nat_sites(self) -> tuple[Site, ...]:
        """The office's egress IPs as sites (business line of the country's incumbent ISP)."""
        return tuple(_home(ip, self.place, business=True) for ip in self.nat_ips)


OFFICES: tuple[Office, ...] = (
    Office(
        "nyc",
        P_NEW_YORK,
        -5,
        ("38.140.22.17", "38.140.22.18"),
        (P_BROOKLYN, P_JERSEY_CITY, P_HOBOKEN, P_YONKERS, P_NEW_YORK),
        92,
    ),
    Office(
        "sfo",
        P_SAN_FRANCISCO,
        -8,
        ("12.199.84.33", "12.199.84.34"),
        (P_OAKLAND, P_BERKELEY, P_SAN_MATEO, P_SAN_FRANCISCO),
        70,
    ),
    Office("aus", P_AUSTIN, -6, ("67.79.121.5",), (P_AUSTIN, P_ROUND_ROCK), 36),
    Office(
        "lon", P_LONDON, 0, ("195.99.204.66", "195.99.204.67"), (P_CROYDON, P_WATFORD, P_LONDON), 52
    ),
    Office(
        "par",
        P_PARIS,
        1,
        ("193.252.118.40", "193.252.118.41"),
        (P_BOULOGNE, P_MONTREUIL, P_VERSAILLES, P_PARIS),
        36,
    ),
    Office("ber", P_BERLIN, 1, ("217.110.67.130",), (P_POTSDAM, P_BERLIN), 34),
    Office("gva", P_GENEVA, 1, ("85.5.166.210",), (P_GENEVA,), 0),
)
_OFFICE = {office.name: office for office in OFFICES}

SSO_ROLE_ENGINEERING = "AWSReservedSSO_Engineering_5f1c2a7e3b9d4c10"
SSO_ROLE_READONLY = "AWSReservedSSO_ReadOnly_a83e0b6d19c2f475"
SSO_ROLE_ADMIN = "AWSReservedSSO_AdministratorAccess_2d94c7e1f0ab6358"
SSO_ROLE_IDS = {
    SSO_ROLE_ENGINEERING: "AROAXBZV5EXAMPLE7KQ2P",
    SSO_ROLE_READONLY: "AROAXBZV5EXAMPLEL3M8D",
    SSO_ROLE_ADMIN: "AROAXBZV5EXAMPLE1TG4N",
}


@dataclass(frozen=True, slots=True)
class Person:
    """An employee with an Okta account; some also use AWS."""

    first: str
    last: str
    office: Office
    home_site: Site
    okta_id: str
    agent: Agent
    sso_role: str | None = None
    iam_user: str | None = None
    iam_user_id: str = ""
    # [start, end) epoch-ms intervals with no background activity (planted activity instead)
    blackouts: tuple[tuple[int, int], ...] = ()
    # (from_day, site, utc_offset_hours): from that day on the person works from `site` only
    relocation: tuple[int, Site, int] | None = None

    @property
    def email(self) -> str:
        """The Okta login / e-mail address."""
        return f"{self.first.lower()}.{self.last.lower()}@{EMAIL_DOMAIN}"

    @property
    def display(self) -> str:
        """The display name."""
        return f"{self.first} {self.last}"

    def quiet(self, ts: int) -> bool:
        """True when background activity must not be generated at `ts`."""
        return bool(self.blackouts) and any(start <= ts < end for start, end in self.blackouts)


def _stable_token(text: str, alphabet: str, length: int) -> str:
    """A token derived from `text` only (seed-independent ids for the planted actors)."""
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@lru_cache(maxsize=4096)
def _app_token(text: str) -> str:
    return _stable_token(text, _ALNUM, 17)


def _home(ip: str, place: Place, *, business: bool = False) -> Site:
    asn, org, isp, domain, _ = _ISP_BY_COUNTRY[place.iso]
    return Site(ip, place, asn, org, isp + " business" if business else isp, domain)


def _fixed_person(
    first: str,
    last: str,
    office: str,
    home: Site,
    agent: int,
    *,
    blackouts: tuple[tuple[int, int], ...] = (),
    relocation: tuple[int, Site, int] | None = None,
    sso_role: str | None = None,
    iam_user: tuple[str, str] | None = None,
) -> Person:
    email = f"{first.lower()}.{last.lower()}@{EMAIL_DOMAIN}"
    return Person(
        first,
        last,
        _OFFICE[office],
        home,
        "00u" + _stable_token(email, _ALNUM, 17),
        BROWSERS[agent],
        sso_role=sso_role,
        iam_user=iam_user[0] if iam_user else None,
        iam_user_id=iam_user[1] if iam_user else "",
        blackouts=blackouts,
        relocation=relocation,
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
S_LUKAS_HOME = _home("90.63.214.77", P_ANNEMASSE)
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

# The planted actors: fixed identities (ids, home IPs), present whatever the seed. Blackouts keep
# their background activity away from the planted events so the documented counts are exact.
EMMA = _fixed_person(  # brute force victim
    "Emma",
    "Larsen",
    "nyc",
    _home("73.162.201.45", P_BROOKLYN),
    0,
    blackouts=((_at(2, 23, 0), _at(3, 8, 0)),),
)
CAMILLE = _fixed_person(  # impossible travel
    "Camille",
    "Durand",
    "par",
    _home("90.63.130.12", P_BOULOGNE),
    2,
    blackouts=((_at(2, 0, 0), _at(3, 6, 0)),),
)
SOFIA = _fixed_person(  # login from a new country
    "Sofia",
    "Keller",
    "ber",
    _home("79.206.44.102", P_POTSDAM),
    3,
    blackouts=((_at(4, 20, 0), WEEK_END_MS),),
)
JULIEN = _fixed_person(  # slow traveller (near miss): Paris, then New York from Monday evening
    "Julien",
    "Moreau",
    "par",
    _home("86.246.77.190", P_MONTREUIL),
    0,
    blackouts=((WEEK_START_MS, _at(1, 0, 0)),),
    relocation=(1, S_JULIEN_NY, -5),
)
OLIVER = _fixed_person(  # short hop (near miss)
    "Oliver",
    "Wright",
    "lon",
    _home("86.151.20.77", P_WATFORD),
    1,
    blackouts=((_at(3, 10, 30), _at(3, 11, 45)),),
)
LIAM = _fixed_person(  # 4 failures then success (near miss)
    "Liam",
    "Oconnor",
    "lon",
    _home("81.154.98.3", P_CROYDON),
    4,
    blackouts=((_at(1, 8, 0), _at(1, 9, 30)),),
)
NOAH = _fixed_person(  # slow failures (near miss)
    "Noah",
    "Fischer",
    "ber",
    _home("91.64.188.219", P_BERLIN),
    5,
    blackouts=((_at(1, 5, 0), _at(1, 7, 0)),),
)
LUKAS = _fixed_person(  # cross-border commuter (near miss)
    "Lukas",
    "Meier",
    "gva",
    _home("85.1.77.154", P_GENEVA),
    6,
    blackouts=((_at(0, 17, 0), _at(0, 18, 30)), (_at(4, 7, 30), _at(4, 9, 0))),
)
MARCO = _fixed_person(  # makes an EBS snapshot public
    "Marco",
    "Rossi",
    "lon",
    _home("109.150.3.211", P_CROYDON),
    0,
    blackouts=((_at(4, 16, 0), _at(4, 17, 30)),),
    sso_role=SSO_ROLE_ENGINEERING,
)
DOROTA = _fixed_person(  # target of the AWS console brute force
    "Dorota",
    "Kowalski",
    "nyc",
    _home("98.116.54.8", P_HOBOKEN),
    3,
    iam_user=("d.kowalski", "AIDAXBZV5EXAMPLEQ4WHT"),
)
ANNA = _fixed_person(  # console typos (near miss)
    "Anna",
    "Lindqvist",
    "ber",
    _home("87.178.9.66", P_POTSDAM),
    1,
    iam_user=("a.lindqvist", "AIDAXBZV5EXAMPLE9ZC3R"),
)
FIXED_PEOPLE = (EMMA, CAMILLE, SOFIA, JULIEN, OLIVER, LIAM, NOAH, LUKAS, MARCO, DOROTA, ANNA)
FIXED_IPS = frozenset(
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
    | {person.home_site.ip for person in FIXED_PEOPLE}
    | {ip for office in OFFICES for ip in office.nat_ips}
)


@dataclass(frozen=True, slots=True)
class IamUser:
    """A long-lived IAM user with an access key (service accounts)."""

    name: str
    user_id: str
    access_key: str

    @property
    def arn(self) -> str:
        """The user's ARN."""
        return f"arn:aws:iam::{AWS_ACCOUNT}:user/{self.name}"


SVC_BACKUP = IamUser("svc_backup", "AIDAXBZV5EXAMPLEB7PLM", "AKIAXBZV5EXAMPLE3BKP")
SVC_CI = IamUser("svc_ci", "AIDAXBZV5EXAMPLEC1JXN", "AKIAXBZV5EXAMPLEQ7CI")
SVC_REPORTING = IamUser("svc_reporting", "AIDAXBZV5EXAMPLERP0TW", "AKIAXBZV5EXAMPLEMRPT")


@dataclass(frozen=True, slots=True)
class Instance:
    """An EC2 instance with an instance profile role."""

    instance_id: str
    role: str
    role_id: str
    private_ip: str
    hostname: str


@dataclass(frozen=True, slots=True)
class Attack:
    """A planted attack's public description (see `PLANTED`)."""

    name: str
    kind: str
    start: int
    end: int
    actor: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The `PLANTED` entry."""
        return {
            "name": self.name,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "actor": self.actor,
            "details": self.details,
        }


# --------------------------------------------------------------------------------------------
# Planted attack timeline (UTC; day 0 = Monday 2024-03-04)
# --------------------------------------------------------------------------------------------

# 1. Okta brute force then success: 12 failures in 2m34s then a success, same IP (Thu 03:12).
BRUTE_FAILS = [_at(3, 3, 12, 5) + i * 14_000 for i in range(12)]
BRUTE_SUCCESS = _at(3, 3, 15, 20)
BRUTE_END = _at(3, 3, 19, 2)
# near miss: Liam, 4 typos then success from the London office (Tue 08:47).
LIAM_FAILS = [_at(1, 8, 47, 3), _at(1, 8, 47, 31), _at(1, 8, 48, 2), _at(1, 8, 48, 40)]
LIAM_SUCCESS = _at(1, 8, 49, 15)
# near miss: Noah, 11 failures 4 minutes apart (stale password in a mail client), then success.
NOAH_FAILS = [_at(1, 5, 40, 0) + i * 240_000 for i in range(11)]
NOAH_SUCCESS = _at(1, 6, 23, 10)

# 2. Password spray: one IP, 24 distinct users, one failure each, 20 s apart (Tue 02:30).
SPRAY_USERS = 24
SPRAY_TIMES = [_at(1, 2, 30, 0) + i * 20_000 + (i * 7_919) % 900 for i in range(SPRAY_USERS)]
# near miss: low-and-slow spray, 30 distinct users, one every 6 minutes (Wed 00:00-02:54).
SLOW_SPRAY_USERS = 30
SLOW_SPRAY_TIMES = [
    _at(2, 0, 0, 0) + i * 360_000 + (i * 4_973) % 30_000 for i in range(SLOW_SPRAY_USERS)
]

# 3. New country: Sofia (only ever Germany) signs in from Bucharest on Saturday 02:37.
NEW_COUNTRY_TS = _at(5, 2, 37, 14)
NEW_COUNTRY_END = _at(5, 2, 51, 30)
LUKAS_FR_TIMES = (_at(0, 17, 30, 12), _at(4, 8, 10, 45))  # near miss: France already on Monday

# 4. Impossible travel: Camille, Paris 09:05 then Singapore 10:08 on Wednesday.
TRAVEL_PARIS = _at(2, 9, 5, 12)
TRAVEL_SINGAPORE = _at(2, 10, 8, 40)
TRAVEL_END = _at(2, 10, 25, 3)
JULIEN_PARIS = _at(0, 7, 40, 5)  # near miss: Paris then New York 10 h later (~580 km/h)
JULIEN_NEW_YORK = _at(0, 17, 45, 30)
OLIVER_LONDON = _at(3, 11, 0, 4)  # near miss: London then Manchester after 15 min (262 km)
OLIVER_MANCHESTER = _at(3, 11, 15, 9)

# 5. AWS console brute force: 9 failed ConsoleLogin for d.kowalski in 2m56s (Fri 19:22).
CONSOLE_FAILS = [_at(4, 19, 22, 10) + i * 22_000 for i in range(9)]
ANNA_CONSOLE_FAILS = [_at(1, 14, 3, 5), _at(1, 14, 3, 41), _at(1, 14, 4, 30)]
ANNA_CONSOLE_SUCCESS = _at(1, 14, 5, 2)

# 6-8. Leaked svc_ci access key used from a VPS on Saturday; engineer makes a snapshot public.
AWS_RECON = [_at(5, 3, 58, 2), _at(5, 3, 58, 30), _at(5, 3, 59, 5), _at(5, 3, 59, 40)]
AWS_CREATE_USER = _at(5, 4, 1, 12)
AWS_ATTACH_ADMIN = _at(5, 4, 1, 31)
AWS_CREATE_KEY = _at(5, 4, 1, 50)
AWS_STOP_LOGGING = _at(5, 4, 6, 5)
BACKDOOR_USER = "support-sync"
SNAPSHOT_PUBLIC = _at(4, 16, 47, 33)
PUBLIC_SNAPSHOT_ID = "snap-0c7d2e94a1b35f608"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{AWS_ACCOUNT}:trail/org-management-events"
TERRAFORM_READONLY_TS = _at(2, 15, 12, 40)  # near miss: AttachUserPolicy ReadOnlyAccess

# 9. Web scan: one IP, ~130 distinct 404 URLs in under 7 minutes (Sun 04:10).
SCAN_START = _at(6, 4, 10, 0)
# Background incident (not an attack): a bad deploy on one API node answers ~40% with 502.
INCIDENT_HOST = "web-api-03"
INCIDENT_START = _at(3, 14, 2)
INCIDENT_END = _at(3, 14, 9)
CRAWL_START = _at(5, 10, 0, 0)  # near miss: 35 distinct 404s in 10 min from Googlebot
CRAWL_404S = 35

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
READONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"

SCAN_PATHS: tuple[str, ...] = _words(
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


def _build_planted() -> list[Attack]:
    okta_login = "source:okta @evt.name:user.session.start"
    return [
        Attack(
            "okta_brute_force_then_success",
            "threshold",
            BRUTE_FAILS[0],
            BRUTE_END,
            EMMA.email,
            {
                "source": "okta",
                "user": EMMA.email,
                "usr_id": EMMA.okta_id,
                "ip": S_BRUTE.ip,
                "failures": len(BRUTE_FAILS),
                "failures_window_ms": BRUTE_FAILS[-1] - BRUTE_FAILS[0],
                "success_at": BRUTE_SUCCESS,
                "what_a_rule_sees": (
                    f"{okta_login} @evt.outcome:failure grouped by @usr.email: 12 failures from "
                    "one IP in 2m34s, then @evt.outcome:success from the same IP 41 s later "
                    "(followed by MFA and three app SSOs)"
                ),
                "near_misses": [
                    {
                        "user": LIAM.email,
                        "ip": OFFICES[3].nat_ips[0],
                        "start": LIAM_FAILS[0],
                        "end": LIAM_SUCCESS,
                        "description": "4 failed logins in 97 s, then a success",
                    },
                    {
                        "user": NOAH.email,
                        "start": NOAH_FAILS[0],
                        "end": NOAH_SUCCESS,
                        "description": "11 failures 4 minutes apart (at most 2 in any 5 min), "
                        "then a success",
                    },
                ],
            },
        ),
        Attack(
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
                    f"{okta_login} @evt.outcome:failure grouped by @network.client.ip, "
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
        ),
        Attack(
            "okta_login_from_new_country",
            "new_value",
            NEW_COUNTRY_TS,
            NEW_COUNTRY_END,
            SOFIA.email,
            {
                "source": "okta",
                "user": SOFIA.email,
                "usr_id": SOFIA.okta_id,
                "ip": S_NEW_COUNTRY.ip,
                "usual_country": "Germany",
                "new_country": "Romania",
                "what_a_rule_sees": (
                    f"{okta_login} @evt.outcome:success, new value of "
                    "@network.client.geoip.country.name per @usr.email: Romania after five days "
                    "of Germany only"
                ),
                "also_new_country": [
                    {
                        "user": CAMILLE.email,
                        "country": "Singapore",
                        "at": TRAVEL_SINGAPORE,
                        "description": "the impossible-travel login is also Camille's first "
                        "login from Singapore",
                    }
                ],
                "near_misses": [
                    {
                        "user": LUKAS.email,
                        "ip": S_LUKAS_HOME.ip,
                        "start": LUKAS_FR_TIMES[0],
                        "end": LUKAS_FR_TIMES[1],
                        "description": "cross-border commuter: Switzerland all week, France on "
                        "Monday evening and again on Friday (France is already known by then)",
                    },
                    {
                        "user": JULIEN.email,
                        "start": JULIEN_NEW_YORK,
                        "end": JULIEN_NEW_YORK,
                        "description": "first United States login on Monday 17:45 (inside a "
                        "learning period of one day or more)",
                    },
                ],
            },
        ),
        Attack(
            "okta_impossible_travel",
            "impossible_travel",
            TRAVEL_PARIS,
            TRAVEL_END,
            CAMILLE.email,
            {
                "source": "okta",
                "user": CAMILLE.email,
                "usr_id": CAMILLE.okta_id,
                "first_location": {"city": "Paris", "country": "France", "at": TRAVEL_PARIS},
                "second_location": {
                    "city": "Singapore",
                    "country": "Singapore",
                    "at": TRAVEL_SINGAPORE,
                    "ip": S_SINGAPORE.ip,
                },
                "what_a_rule_sees": (
                    "successful logins grouped by @usr.email with @network.client.geoip: Paris, "
                    "then Singapore (~10,700 km) 48 min after the last Paris event"
                ),
                "near_misses": [
                    {
                        "user": JULIEN.email,
                        "start": JULIEN_PARIS,
                        "end": JULIEN_NEW_YORK,
                        "description": "Paris then New York 10 h later (~5,800 km, ~580 km/h)",
                    },
                    {
                        "user": OLIVER.email,
                        "start": OLIVER_LONDON,
                        "end": OLIVER_MANCHESTER,
                        "description": "London office then a mobile IP in Manchester 15 min "
                        "later (~260 km: fast but under 500 km)",
                    },
                ],
            },
        ),
        Attack(
            "aws_console_login_failures",
            "threshold",
            CONSOLE_FAILS[0],
            CONSOLE_FAILS[-1],
            f"arn:aws:iam::{AWS_ACCOUNT}:user/{DOROTA.iam_user}",
            {
                "source": "cloudtrail",
                "user": DOROTA.iam_user,
                "ip": S_CONSOLE_BRUTE.ip,
                "failures": len(CONSOLE_FAILS),
                "what_a_rule_sees": (
                    "source:cloudtrail @evt.name:ConsoleLogin @evt.outcome:failure "
                    "(@responseElements.ConsoleLogin:Failure) grouped by @userIdentity.arn: "
                    "9 failures in 2m56s, no success"
                ),
                "near_misses": [
                    {
                        "user": ANNA.iam_user,
                        "start": ANNA_CONSOLE_FAILS[0],
                        "end": ANNA_CONSOLE_SUCCESS,
                        "description": "3 failed console logins, then a success",
                    }
                ],
            },
        ),
        Attack(
            "aws_iam_admin_user_created",
            "threshold",
            AWS_CREATE_USER,
            AWS_CREATE_KEY,
            SVC_CI.arn,
            {
                "source": "cloudtrail",
                "ip": S_AWS_ATTACKER.ip,
                "new_user": BACKDOOR_USER,
                "ootb_rules": [
                    "AWS IAM AdministratorAccess policy was applied to a user",
                    "AWS IAM User created with AdministratorAccess policy attached",
                ],
                "query": (
                    "source:cloudtrail @eventSource:iam.amazonaws.com @evt.name:AttachUserPolicy "
                    '@requestParameters.policyArn:"arn:aws:iam::aws:policy/AdministratorAccess"'
                ),
                "what_a_rule_sees": (
                    "the leaked svc_ci key (from a Hetzner VPS, Kali aws-cli) creates IAM user "
                    "support-sync, attaches AdministratorAccess to it and creates an access key "
                    "for it"
                ),
                "near_misses": [
                    {
                        "user": "TerraformDeployer",
                        "start": TERRAFORM_READONLY_TS - 15_000,
                        "end": TERRAFORM_READONLY_TS,
                        "description": "Terraform creates IAM user auditor-readonly and attaches "
                        "ReadOnlyAccess (not AdministratorAccess)",
                    }
                ],
            },
        ),
        Attack(
            "aws_cloudtrail_stop_logging",
            "threshold",
            AWS_STOP_LOGGING,
            AWS_STOP_LOGGING,
            SVC_CI.arn,
            {
                "source": "cloudtrail",
                "ip": S_AWS_ATTACKER.ip,
                "trail": TRAIL_ARN,
                "ootb_rules": ["AWS CloudTrail configuration modified"],
                "query": "source:cloudtrail @evt.name:StopLogging",
                "what_a_rule_sees": "one StopLogging call on the organisation trail (case "
                "'trail stopped'); the background only reads trails (DescribeTrails, "
                "GetTrailStatus)",
                "near_misses": [],
            },
        ),
        Attack(
            "aws_ebs_snapshot_made_public",
            "threshold",
            SNAPSHOT_PUBLIC,
            SNAPSHOT_PUBLIC,
            f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{SSO_ROLE_ENGINEERING}/{MARCO.email}",
            {
                "source": "cloudtrail",
                "snapshot": PUBLIC_SNAPSHOT_ID,
                "ootb_rules": ["AWS EBS Snapshot Made Public"],
                "query": (
                    "source:cloudtrail @evt.name:ModifySnapshotAttribute "
                    '@requestParameters.createVolumePermission.add.items.group:"all"'
                ),
                "what_a_rule_sees": "ModifySnapshotAttribute adding createVolumePermission "
                "group 'all' by an engineer's SSO session",
                "near_misses": [
                    {
                        "user": SVC_BACKUP.name,
                        "description": "svc_backup shares three snapshots a night with the DR "
                        f"account ({AWS_STAGING_ACCOUNT}) via createVolumePermission userId",
                    }
                ],
            },
        ),
        Attack(
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
        ),
    ]


_ATTACKS = _build_planted()
PLANTED: list[dict[str, Any]] = [attack.as_dict() for attack in _ATTACKS]
"""One entry per planted attack: name, kind (detection method that finds it), start and end
(epoch ms, inclusive), actor (user e-mail, IP or ARN) and details (source, counts, the query a
rule needs, near misses). Identical for every seed."""


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------

_HOURLY_SHOP = (
    1.0,
    0.9,
    0.75,
    0.55,
    0.4,
    0.3,
    0.25,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    0.95,
    1.0,
    1.0,
    1.05,
    1.1,
    1.15,
    1.2,
    1.2,
    1.1,
)
_DAILY_SHOP = (1.0, 0.97, 1.0, 1.02, 0.96, 1.15, 1.1)


class _Generator:
    """Builds the week's events; one instance per `generate` call."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = Random(seed)
        self.events: list[tuple[int, int, Event]] = []
        self.used_ips: set[str] = set(FIXED_IPS)
        self.people: list[Person] = []
        self.instances: list[Instance] = []
        self.web_clients: list[tuple[str, Agent]] = []
        self.app_clients: list[tuple[str, Agent]] = []

    # ---- helpers ---------------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        ts = event["timestamp"]
        if WEEK_START_MS <= ts < WEEK_END_MS:
            self.events.append((ts, len(self.events), event))

    def uuid(self) -> str:
        """A random (version 4 shaped) UUID from the seeded generator."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"

    def token(self, alphabet: str, length: int) -> str:
        """`length` random characters of `alphabet`."""
        rng = self.rng
        size = len(alphabet)
        return "".join([alphabet[int(rng.random() * size)] for _ in range(length)])

    def public_ip(self, prefixes: Sequence[str]) -> str:
        while True:
            ip = f"{_pick(self.rng, prefixes)}.{_ri(self.rng, 0, 255)}.{_ri(self.rng, 1, 254)}"
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip

    def home_site(self, place: Place) -> Site:
        asn, org, isp, domain, prefixes = _ISP_BY_COUNTRY[place.iso]
        return Site(self.public_ip(prefixes), place, asn, org, isp, domain)

    # ---- population ------------------------------------------------------------------------

    def build_population(self) -> None:
        rng = self.rng
        taken = {(p.first, p.last) for p in FIXED_PEOPLE}
        names = sorted(
            {(f, last) for f in FIRST_NAMES for last in LAST_NAMES if (f, last) not in taken}
        )
        rng.shuffle(names)
        people: list[Person] = []
        for office in OFFICES:
            for _ in range(office.headcount):
                first, last = names.pop()
                agent = _pick(rng, BROWSERS) if rng.random() < 0.9 else _pick(rng, PHONES)
                # AWS access through IAM Identity Center for about a quarter of the staff.
                roll = rng.random()
                role = None
                if roll < 0.02:
                    role = SSO_ROLE_ADMIN
                elif roll < 0.20:
                    role = SSO_ROLE_ENGINEERING
                elif roll < 0.26:
                    role = SSO_ROLE_READONLY
                home = self.home_site(_pick(rng, office.homes))
                okta_id = "00u" + self.token(_ALNUM, 17)
                people.append(Person(first, last, office, home, okta_id, agent, sso_role=role))
        people.extend(FIXED_PEOPLE)
        self.people = people
        # EC2 instances with instance-profile roles (their CloudTrail calls carry host:i-...).
        roles = (
            ("web-store-role", "AROAXBZV5EXAMPLEWS01K", "web-store", 8),
            ("web-api-role", "AROAXBZV5EXAMPLEWA02M", "web-api", 6),
            ("batch-worker-role", "AROAXBZV5EXAMPLEBW03Q", "batch-worker", 4),
            ("bastion-role", "AROAXBZV5EXAMPLEBA04T", "bastion", 2),
        )
        for role, role_id, prefix, count in roles:
            for n in range(1, count + 1):
                instance_id = "i-0" + self.token("0123456789abcdef", 16)
                private_ip = f"10.20.{_ri(rng, 1, 60)}.{_ri(rng, 4, 250)}"
                self.instances.append(
                    Instance(instance_id, role, role_id, private_ip, f"{prefix}-{n:02d}")
                )
        # Shop customers.
        first_octets = (
            23,
            24,
            47,
            50,
            63,
            64,
            65,
            66,
            67,
            68,
            69,
            70,
            71,
            72,
            73,
            74,
            75,
            76,
            77,
            78,
            79,
            80,
            81,
            82,
            83,
            84,
            85,
            86,
            87,
            88,
            89,
            90,
            92,
            93,
            94,
            95,
            96,
            97,
            98,
            99,
            104,
            107,
            108,
            142,
            173,
            174,
            184,
            206,
            207,
            208,
            209,
        )
        for _ in range(5200):
            ip = self.public_ip([f"{_pick(rng, first_octets)}.{_ri(rng, 0, 255)}"])
            roll = rng.random()
            if roll < 0.55:
                agent = _pick(rng, BROWSERS)
            elif roll < 0.96:
                agent = _pick(rng, PHONES)
            else:
                agent = _pick(rng, BOTS)
            self.web_clients.append((ip, agent))
        for _ in range(2600):
            ip = self.public_ip([f"{_pick(rng, first_octets)}.{_ri(rng, 0, 255)}"])
            self.app_clients.append((ip, _pick(rng, APP_AGENTS)))

    # ---- Okta ------------------------------------------------------------------------------

    def okta(
        self,
        ts: int,
        person: Person,
        site: Site,
        event_type: str,
        *,
        success: bool = True,
        reason: str | None = None,
        agent: Agent | None = None,
        app: tuple[str, str, int] | None = None,
        session: str = "",
        factor: str | None = None,
        threat: bool = False,
    ) -> None:
        """Emit one Okta System Log event, as Datadog's Okta pipeline stores it."""
        agent = agent or person.agent
        result = "SUCCESS" if success else "FAILURE"
        display = _OKTA_DISPLAY[event_type]
        request_id = self.token(_ALNUM, 27)
        place = site.place
        attributes: Event = {
            "uuid": self.uuid(),
            "published": _iso_millis(ts),
            "eventType": event_type,
            "version": "0",
            "severity": "INFO" if success else "WARN",
            "displayMessage": display,
            "legacyEventType": _OKTA_LEGACY.get(event_type)
            if success
            else _OKTA_LEGACY_FAILED.get(event_type),
            "actor": {
                "id": person.okta_id,
                "type": "User",
                "alternateId": person.email,
                "displayName": person.display,
                "detailEntry": None,
            },
            "client": {
                "userAgent": {
                    "rawUserAgent": agent.raw,
                    "os": agent.os,
                    "browser": agent.browser.upper().replace(" ", "_"),
                },
                "zone": "null",
                "device": "Mobile" if agent.device not in ("Other", "Spider") else "Computer",
                "id": None,
                "ipAddress": site.ip,
                "geographicalContext": {
                    "city": place.city,
                    "state": place.region,
                    "country": place.country,
                    "postalCode": place.postal,
                    "geolocation": {"lat": place.lat, "lon": place.lon},
                },
            },
            "authenticationContext": {
                "authenticationProvider": "OKTA_AUTHENTICATION_PROVIDER"
                if event_type == "user.session.start"
                else None,
                "credentialProvider": None,
                "credentialType": "PASSWORD" if event_type == "user.session.start" else None,
                "issuer": None,
                "interface": None,
                "authenticationStep": 0,
                "externalSessionId": session or ("trs" + self.token(_ALNUM, 22)),
            },
            "outcome": {"result": result, "reason": reason},
            "securityContext": {
                "asNumber": site.asn,
                "asOrg": site.as_org,
                "isp": site.isp,
                "domain": site.domain,
                "isProxy": site.proxy,
            },
            "debugContext": {
                "debugData": {
                    "requestId": request_id,
                    "requestUri": _OKTA_URI[event_type],
                    "threatSuspected": "true" if threat else "false",
                    "url": _OKTA_URI[event_type] + "?",
                }
            },
            "transaction": {"type": "WEB", "id": request_id, "detail": {}},
            "request": {
                "ipChain": [
                    {
                        "ip": site.ip,
                        "geographicalContext": {
                            "city": place.city,
                            "state": place.region,
                            "country": place.country,
                            "postalCode": place.postal,
                            "geolocation": {"lat": place.lat, "lon": place.lon},
                        },
                        "version": "V4",
                        "source": None,
                    }
                ]
            },
            "target": None,
            # Datadog standard attributes added by the Okta pipeline
            "evt": {
                "name": event_type,
                "outcome": "success" if success else "failure",
                "category": _OKTA_CATEGORY[event_type],
            },
            "usr": {"id": person.okta_id, "email": person.email, "name": person.display},
            "network": {"client": {"ip": site.ip, "geoip": _geoip(site)}},
            "http": {"useragent": agent.raw, "useragent_details": _ua_details(agent)},
        }
        if factor is not None:
            attributes["authenticationContext"]["credentialType"] = factor
        if app is not None:
            label, name, _ = app
            attributes["target"] = [
                {
                    "id": "0oa" + _app_token(name),
                    "type": "AppInstance",
                    "alternateId": label,
                    "displayName": label,
                    "detailEntry": {"signOnModeType": "SAML_2_0"},
                },
                {
                    "id": "0ua" + _app_token(name + person.email),
                    "type": "AppUser",
                    "alternateId": person.email,
                    "displayName": person.display,
                    "detailEntry": None,
                },
            ]
            uri = f"/app/{name}/exk{_app_token(name)}/sso/saml"
            attributes["debugContext"]["debugData"]["requestUri"] = uri
            attributes["debugContext"]["debugData"]["url"] = uri + "?"
        message = display if success else f"{display} ({reason})"
        self.emit(
            {
                "id": "",
                "timestamp": ts,
                "host": None,
                "service": "okta",
                "source": "okta",
                "status": "info" if success else "warn",
                "message": message,
                "tags": ["env:prod", "source:okta", f"okta_org:{OKTA_ORG}"],
                "attributes": attributes,
            }
        )

    def okta_login(
        self,
        ts: int,
        person: Person,
        site: Site,
        *,
        failures: int = 0,
        agent: Agent | None = None,
        planted: bool = False,
    ) -> tuple[int, str]:
        """Failed attempts (if any), a successful login and its MFA step; returns (end, session).

        Planted logins use fixed timings and factor (Okta Verify push) so their events are the
        same for every seed.
        """
        rng = self.rng
        for _ in range(failures):
            self.okta(
                ts,
                person,
                site,
                "user.session.start",
                success=False,
                reason="INVALID_CREDENTIALS",
                agent=agent,
            )
            ts += _ri(rng, 9_000, 40_000)
        session = "102" + self.token(_ALNUM, 22)
        self.okta(ts, person, site, "user.session.start", agent=agent, session=session)
        if planted:
            ts += 17_000
            factor = "OKTA_VERIFY_PUSH"
        else:
            ts += _ri(rng, 4_000, 25_000)
            factor = rng.choices(("OKTA_VERIFY_PUSH", "TOTP", "WEBAUTHN"), (70, 20, 10))[0]
            if factor == "OKTA_VERIFY_PUSH" and rng.random() < 0.02:
                self.okta(
                    ts,
                    person,
                    site,
                    "user.mfa.okta_verify.deny_push",
                    success=False,
                    reason="INVALID_CREDENTIALS",
                    agent=agent,
                    session=session,
                )
                ts += _ri(rng, 8_000, 30_000)
        self.okta(
            ts,
            person,
            site,
            "user.authentication.auth_via_mfa",
            agent=agent,
            session=session,
            factor=factor,
        )
        return ts, session

    @staticmethod
    def person_sites(person: Person, day: int) -> tuple[int, list[Site]]:
        """(UTC offset in hours, [home site, office sites...]) where the person works on `day`."""
        if person.relocation is not None and day >= person.relocation[0]:
            return person.relocation[2], [person.relocation[1]]
        return person.office.tz_hours, [person.home_site, *person.office.nat_sites]

    def okta_background(self) -> None:
        rng = self.rng
        apps = OKTA_APPS
        app_weights = [w for _, _, w in apps]
        for person in self.people:
            for day in range(7):
                weekend = day >= 5
                if day == 0:
                    active = True
                elif weekend:
                    active = rng.random() < 0.1
                else:
                    active = rng.random() < 0.93
                if not active:
                    continue
                tz_hours, sites = self.person_sites(person, day)
                remote = rng.random() < (0.9 if weekend else 0.35)
                site = sites[0] if remote or len(sites) == 1 else _pick(rng, sites[1:])
                local_midnight = WEEK_START_MS + day * DAY_MS - tz_hours * HOUR_MS
                if weekend:
                    start_h = min(max(rng.gauss(11.0, 2.0), 8.0), 20.0)
                    length_h = rng.uniform(0.3, 2.0)
                else:
                    start_h = min(max(rng.gauss(8.6, 0.9), 6.5), 11.5)
                    length_h = min(max(rng.gauss(8.8, 1.0), 5.0), 11.0)
                start = local_midnight + int(start_h * HOUR_MS) + _ri(rng, 0, 59_999)
                end = start + int(length_h * HOUR_MS)
                if person.quiet(start):
                    continue
                roll = rng.random()
                failures = 0 if roll > 0.06 else (1 if roll > 0.012 else 2)
                if roll < 0.002:
                    failures = 3
                login_end, session = self.okta_login(start, person, site, failures=failures)
                # most app sessions outlive a day, so only a few SSOs show up per day
                sso_count = _ri(rng, 0, 1) if weekend else _ri(rng, 1, 3)
                for _ in range(sso_count):
                    ts = _ri(rng, login_end + 30_000, max(end, login_end + 60_000))
                    if person.quiet(ts):
                        continue
                    app = rng.choices(apps, app_weights)[0]
                    self.okta(ts, person, site, "user.authentication.sso", app=app, session=session)
                if not weekend and rng.random() < 0.15:
                    relog = local_midnight + int(rng.uniform(12.5, 14.5) * HOUR_MS)
                    if relog > login_end and not person.quiet(relog):
                        self.okta_login(relog, person, site, failures=int(rng.random() < 0.03))
                if rng.random() < 0.45 and not person.quiet(end):
                    self.okta(end, person, site, "user.session.end", session=session)
                if rng.random() < 0.006 and not person.quiet(login_end + 120_000):
                    self.okta(login_end + 120_000, person, site, "user.account.update_password")
                if rng.random() < 0.003 and not person.quiet(login_end + 300_000):
                    self.okta(
                        login_end + 300_000,
                        person,
                        site,
                        "user.mfa.factor.activate",
                        factor="OKTA_VERIFY_PUSH",
                    )

    def okta_planted(self) -> None:
        rng = self.rng
        london = _OFFICE["lon"].nat_sites[0]
        # 1. brute force then success (Emma, residential proxy in Chicago)
        for ts in BRUTE_FAILS:
            self.okta(
                ts,
                EMMA,
                S_BRUTE,
                "user.session.start",
                success=False,
                reason="INVALID_CREDENTIALS",
                agent=A_SPRAY_BROWSER,
            )
        session = "102" + self.token(_ALNUM, 22)
        self.okta(
            BRUTE_SUCCESS,
            EMMA,
            S_BRUTE,
            "user.session.start",
            agent=A_SPRAY_BROWSER,
            session=session,
        )
        self.okta(
            BRUTE_SUCCESS + 21_000,
            EMMA,
            S_BRUTE,
            "user.authentication.auth_via_mfa",
            agent=A_SPRAY_BROWSER,
            session=session,
            factor="OKTA_VERIFY_PUSH",
        )
        for ts, app in zip(
            (_at(3, 3, 16, 4), _at(3, 3, 17, 37), BRUTE_END),
            (OKTA_APPS[1], OKTA_APPS[6], OKTA_APPS[7]),
            strict=True,
        ):
            self.okta(
                ts,
                EMMA,
                S_BRUTE,
                "user.authentication.sso",
                agent=A_SPRAY_BROWSER,
                app=app,
                session=session,
            )
        # near miss: Liam, 4 failures then success
        for ts in LIAM_FAILS:
            self.okta(
                ts, LIAM, london, "user.session.start", success=False, reason="INVALID_CREDENTIALS"
            )
        self.okta_login(LIAM_SUCCESS, LIAM, london, planted=True)
        # near miss: Noah, 11 slow failures then success
        for ts in NOAH_FAILS:
            self.okta(
                ts,
                NOAH,
                NOAH.home_site,
                "user.session.start",
                success=False,
                reason="INVALID_CREDENTIALS",
                agent=PHONES[0],
            )
        self.okta_login(NOAH_SUCCESS, NOAH, NOAH.home_site, planted=True)

        # 2. password spray: distinct random users (not the planted actors)
        candidates = [p for p in self.people if p not in FIXED_PEOPLE]
        for ts, victim in zip(SPRAY_TIMES, rng.sample(candidates, SPRAY_USERS), strict=True):
            self.okta(
                ts,
                victim,
                S_SPRAY,
                "user.session.start",
                success=False,
                reason="INVALID_CREDENTIALS",
                agent=A_PYTHON_REQUESTS,
                threat=True,
            )
        for ts, victim in zip(
            SLOW_SPRAY_TIMES, rng.sample(candidates, SLOW_SPRAY_USERS), strict=True
        ):
            self.okta(
                ts,
                victim,
                S_SLOW_SPRAY,
                "user.session.start",
                success=False,
                reason="INVALID_CREDENTIALS",
                agent=A_SPRAY_BROWSER,
            )

        # 3. new country (Sofia from Bucharest), with data access after the login
        _, session = self.okta_login(
            NEW_COUNTRY_TS, SOFIA, S_NEW_COUNTRY, agent=BROWSERS[3], planted=True
        )
        for ts, app in zip(
            (_at(5, 2, 39, 2), _at(5, 2, 44, 51), NEW_COUNTRY_END),
            (OKTA_APPS[1], OKTA_APPS[6], OKTA_APPS[0]),
            strict=True,
        ):
            self.okta(
                ts,
                SOFIA,
                S_NEW_COUNTRY,
                "user.authentication.sso",
                app=app,
                session=session,
                agent=BROWSERS[3],
            )
        # near miss: Lukas logs in from his home in France on Monday and Friday
        for ts in LUKAS_FR_TIMES:
            self.okta_login(ts, LUKAS, S_LUKAS_HOME, planted=True)

        # 4. impossible travel (Camille: Paris office, then Singapore one hour later)
        _, session = self.okta_login(
            TRAVEL_PARIS, CAMILLE, _OFFICE["par"].nat_sites[0], planted=True
        )
        self.okta(
            _at(2, 9, 20, 41),
            CAMILLE,
            _OFFICE["par"].nat_sites[0],
            "user.authentication.sso",
            app=OKTA_APPS[0],
            session=session,
        )
        _, session = self.okta_login(
            TRAVEL_SINGAPORE, CAMILLE, S_SINGAPORE, agent=BROWSERS[6], planted=True
        )
        for ts, app in ((_at(2, 10, 11, 9), OKTA_APPS[1]), (TRAVEL_END, OKTA_APPS[2])):
            self.okta(
                ts,
                CAMILLE,
                S_SINGAPORE,
                "user.authentication.sso",
                app=app,
                session=session,
                agent=BROWSERS[6],
            )
        # near miss: Julien flies Paris -> New York (10 h) and works from New York afterwards
        paris = _OFFICE["par"].nat_sites[1]
        _, session = self.okta_login(JULIEN_PARIS, JULIEN, paris, planted=True)
        self.okta(
            _at(0, 7, 52, 10),
            JULIEN,
            paris,
            "user.authentication.sso",
            app=OKTA_APPS[0],
            session=session,
        )
        _, session = self.okta_login(JULIEN_NEW_YORK, JULIEN, S_JULIEN_NY, planted=True)
        self.okta(
            _at(0, 18, 10, 2),
            JULIEN,
            S_JULIEN_NY,
            "user.authentication.sso",
            app=OKTA_APPS[1],
            session=session,
        )
        # near miss: Oliver, London office then a Manchester-geolocated mobile IP
        _, session = self.okta_login(OLIVER_LONDON, OLIVER, london, planted=True)
        self.okta_login(OLIVER_MANCHESTER, OLIVER, S_OLIVER_MOBILE, agent=PHONES[0], planted=True)

    # ---- CloudTrail ------------------------------------------------------------------------

    def cloudtrail(
        self,
        ts: int,
        identity: Event,
        event_source: str,
        event_name: str,
        source_ip: str,
        user_agent: str,
        *,
        region: str = "us-east-1",
        read_only: bool | None = None,
        request: Any = None,
        response: Any = None,
        error: tuple[str, str] | None = None,
        event_type: str = "AwsApiCall",
        extra: Event | None = None,
        site: Site | None = None,
        host: str | None = None,
        vpce: str | None = None,
    ) -> None:
        """Emit one CloudTrail record plus the attributes Datadog's CloudTrail pipeline adds."""
        ts = ts - ts % 1000  # CloudTrail eventTime has second precision
        if read_only is None:
            read_only = event_name in _READ_ONLY_EXTRA or event_name.startswith(
                ("Describe", "List", "Get", "Lookup", "Head", "Filter")
            )
        service = event_source.split(".", maxsplit=1)[0]
        header = (
            f"{service}.{region}.amazonaws.com"
            if service not in ("iam", "signin", "sts", "s3", "tagging")
            else f"{service}.amazonaws.com"
        )
        if service == "signin":
            header = "signin.aws.amazon.com"
        attributes: Event = {
            "eventVersion": "1.09" if event_type == "AwsApiCall" else "1.08",
            "userIdentity": identity,
            "eventTime": _iso_seconds(ts),
            "eventSource": event_source,
            "eventName": event_name,
            "awsRegion": region,
            "sourceIPAddress": source_ip,
            "userAgent": user_agent,
            "requestParameters": _clone(request),
            "responseElements": _clone(response),
            "requestID": self.uuid(),
            "eventID": self.uuid(),
            "readOnly": read_only,
            "eventType": event_type,
            "managementEvent": True,
            "recipientAccountId": AWS_ACCOUNT,
            "eventCategory": "Management",
        }
        if not source_ip.endswith("amazonaws.com") and source_ip != "AWS Internal":
            attributes["tlsDetails"] = {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": header,
            }
        if vpce is not None:
            attributes["vpcEndpointId"] = vpce
            attributes["vpcEndpointAccountId"] = AWS_ACCOUNT
        if extra:
            attributes.update(_clone(extra))
        console_failure = isinstance(response, dict) and response.get("ConsoleLogin") == "Failure"
        failed = error is not None or console_failure
        if error is not None:
            attributes["errorCode"], attributes["errorMessage"] = error
        # Datadog standard attributes
        attributes["evt"] = {"name": event_name, "outcome": "failure" if failed else "success"}
        attributes["http"] = {"useragent": user_agent}
        client: Event = {"ip": source_ip}
        if site is not None:
            client["geoip"] = _geoip(site)
        attributes["network"] = {"client": client}
        attributes["level"] = "Error" if failed else "Info"
        if error is not None:
            attributes["error"] = {"kind": error[0], "message": error[1]}
        elif console_failure:
            attributes["error"] = {"message": attributes.get("errorMessage", "")}
        self.emit(
            {
                "id": "",
                "timestamp": ts,
                "host": host,
                "service": "cloudtrail",
                "source": "cloudtrail",
                "status": "error" if failed else "info",
                "message": f"{event_type} {event_source} {event_name}",
                "tags": [
                    "env:prod",
                    "source:cloudtrail",
                    f"aws_account:{AWS_ACCOUNT}",
                    f"region:{region}",
                    "forwardername:datadog-forwarder",
                ],
                "attributes": attributes,
            }
        )

    @staticmethod
    def iam_user_identity(user: IamUser) -> Event:
        return {
            "type": "IAMUser",
            "principalId": user.user_id,
            "arn": user.arn,
            "accountId": AWS_ACCOUNT,
            "accessKeyId": user.access_key,
            "userName": user.name,
        }

    @staticmethod
    def role_identity(
        role: str,
        role_id: str,
        session: str,
        key: str,
        created: int,
        *,
        path: str = "/",
        mfa: bool = False,
        extra: Event | None = None,
    ) -> Event:
        identity: Event = {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": AWS_ACCOUNT,
            "accessKeyId": key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": f"arn:aws:iam::{AWS_ACCOUNT}:role{path}{role}",
                    "accountId": AWS_ACCOUNT,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": _iso_seconds(created),
                    "mfaAuthenticated": "true" if mfa else "false",
                },
            },
            # Datadog's CloudTrail pipeline extracts these from the assumed-role ARN
            "session_name": session,
            "assumed_role": role,
        }
        if extra:
            identity.update(extra)
        return identity

    def temp_key(self) -> str:
        return "ASIAXBZV5" + self.token(_UPPER_NUM, 11)

    def read_params(self, name: str) -> Any:
        """requestParameters for a read-only call (small but plausible; None for most)."""
        factory = _READ_PARAMS.get(name)
        return factory(self.rng) if factory else None

    def cloudtrail_background(self) -> None:
        self.ct_datadog_integration()
        self.ct_instances()
        self.ct_service_accounts()
        self.ct_engineers()
        self.ct_iam_humans()

    def ct_datadog_integration(self) -> None:
        """Datadog's AWS integration crawler: AssumeRole hourly, Describe*/List*/Get* polls.

        It wakes every 10 min and polls each call on its own period (`_DATADOG_PERIODS`: 30 min to
        2 h in us-east-1, three times slower in eu-west-1).
        """
        rng = self.rng
        role, role_id = "DatadogIntegrationRole", "AROAXBZV5EXAMPLEDD9IR"
        session_start = WEEK_START_MS - 20 * 60_000
        key = self.temp_key()
        ts = WEEK_START_MS + _ri(rng, 0, 60_000)
        tick = _ri(rng, 0, 35)  # 10-minute ticks; the phase of the poll schedule
        while ts < WEEK_END_MS:
            if ts - session_start >= HOUR_MS:
                session_start = ts - _ri(rng, 1_000, 5_000)
                key = self.temp_key()
                self.cloudtrail(
                    session_start,
                    {
                        "type": "AWSAccount",
                        "principalId": "AROAWQJ6ZJDRKYKK2NFS3:datadog",
                        "accountId": DATADOG_AWS_ACCOUNT,
                    },
                    "sts.amazonaws.com",
                    "AssumeRole",
                    S_DATADOG.ip,
                    UA_DD_CRAWLER,
                    read_only=True,
                    request={
                        "roleArn": f"arn:aws:iam::{AWS_ACCOUNT}:role/{role}",
                        "roleSessionName": "DatadogAWSIntegration",
                        "externalId": "4b5e0b2ac0f74c8c9b6f2c3e1f0d9a7e",
                        "durationSeconds": 3600,
                    },
                    response={
                        "credentials": {
                            "accessKeyId": key,
                            "expiration": _datetime_text(session_start + HOUR_MS),
                            "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
                        },
                        "assumedRoleUser": {
                            "assumedRoleId": f"{role_id}:DatadogAWSIntegration",
                            "arn": _assumed_role_arn(role, "DatadogAWSIntegration"),
                        },
                    },
                    site=S_DATADOG,
                )
            identity_args = (role, role_id, "DatadogAWSIntegration", key, session_start)
            tick += 1
            for region, slower in (("us-east-1", 1), ("eu-west-1", 3)):
                t = ts + _ri(rng, 0, 20_000)
                for (source, name), period in zip(_DATADOG_POLL, _DATADOG_PERIODS, strict=True):
                    if tick % (period * slower) or rng.random() > 0.9:
                        continue
                    t += _ri(rng, 50, 2_500)
                    error = None
                    if rng.random() < 0.004:
                        error = ("ThrottlingException", "Rate exceeded")
                    request = self.read_params(name)
                    self.cloudtrail(
                        t,
                        self.role_identity(*identity_args),
                        source,
                        name,
                        S_DATADOG.ip,
                        UA_DD_CRAWLER,
                        region=region,
                        request=request,
                        error=error,
                        site=S_DATADOG,
                    )
            ts += 10 * 60_000 + _ri(rng, -15_000, 15_000)

    def ct_instances(self) -> None:
        """Instance-profile roles: credential refreshes, tag lookups, KMS/SSM/Secrets reads.

        The EC2 service re-assumes each instance's role every ~6 h (the credential lifetime); the
        applications cache what they decrypt or read, so each instance calls AWS well under once
        an hour.
        """
        rng = self.rng
        vpce = {
            "kms": "vpce-0a3f61c9e2d7b8410",
            "ssm": "vpce-07c2e9d4b1a6f3825",
            "secretsmanager": "vpce-0e5b8a2d9c4f71360",
            "ec2": "vpce-0b9d7e1a4c2f63587",
        }
        rates = {  # calls per hour per instance
            "web-store-role": (("kms", 0.3), ("ssm", 0.1), ("secretsmanager", 0.08), ("ec2", 0.2)),
            "web-api-role": (("kms", 0.4), ("ssm", 0.1), ("secretsmanager", 0.1), ("ec2", 0.2)),
            "batch-worker-role": (("kms", 0.3), ("ssm", 0.15), ("ec2", 0.2), ("ecr", 0.12)),
            "bastion-role": (("ec2", 0.2), ("ssm", 0.08)),
        }
        for inst in self.instances:
            key = self.temp_key()
            created = WEEK_START_MS - _ri(rng, 0, 6 * HOUR_MS)
            refresh = WEEK_START_MS + _ri(rng, 0, 6 * HOUR_MS)
            while refresh < WEEK_END_MS:
                # the EC2 service assumes the role for the instance profile
                self.cloudtrail(
                    refresh,
                    {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
                    "sts.amazonaws.com",
                    "AssumeRole",
                    "ec2.amazonaws.com",
                    "ec2.amazonaws.com",
                    read_only=True,
                    request={
                        "roleArn": f"arn:aws:iam::{AWS_ACCOUNT}:role/{inst.role}",
                        "roleSessionName": inst.instance_id,
                    },
                    response={
                        "assumedRoleUser": {
                            "assumedRoleId": f"{inst.role_id}:{inst.instance_id}",
                            "arn": _assumed_role_arn(inst.role, inst.instance_id),
                        }
                    },
                    extra={"sharedEventID": self.uuid()},
                )
                refresh += 6 * HOUR_MS + _ri(rng, -600_000, 600_000)
            for service, per_hour in rates[inst.role]:
                ts = WEEK_START_MS + int(rng.expovariate(per_hour) * HOUR_MS)
                while ts < WEEK_END_MS:
                    if ts - created > 6 * HOUR_MS:
                        created, key = ts - _ri(rng, 60_000, 600_000), self.temp_key()
                    identity = self.role_identity(
                        inst.role,
                        inst.role_id,
                        inst.instance_id,
                        key,
                        created,
                        extra={"ec2RoleDelivery": "2.0"},
                    )
                    name, source, request, agent = _instance_call(service, inst, rng)
                    self.cloudtrail(
                        ts,
                        identity,
                        source,
                        name,
                        inst.private_ip,
                        agent,
                        request=request,
                        host=inst.instance_id,
                        vpce=vpce.get(service),
                    )
                    ts += int(rng.expovariate(per_hour) * HOUR_MS) + 1_000

    def ct_service_accounts(self) -> None:
        rng = self.rng
        # svc_backup: nightly EBS snapshots, retention clean-up, DR sharing (near miss).
        backup = partial(self.iam_user_identity, SVC_BACKUP)
        volumes = ["vol-0" + self.token("0123456789abcdef", 16) for _ in range(12)]
        for day in range(7):
            t = _at(day, 2, 0, 0) + _ri(rng, 0, 120_000)
            self.cloudtrail(
                t,
                backup(),
                "ec2.amazonaws.com",
                "DescribeVolumes",
                S_BACKUP.ip,
                UA_BOTO3,
                request={
                    "volumeSet": {},
                    "filterSet": {
                        "items": [
                            {"name": "tag:backup", "valueSet": {"items": [{"value": "daily"}]}}
                        ]
                    },
                },
                site=S_BACKUP,
            )
            snapshots = []
            for vol in volumes:
                t += _ri(rng, 800, 4_000)
                snap = "snap-0" + self.token("0123456789abcdef", 16)
                snapshots.append(snap)
                self.cloudtrail(
                    t,
                    backup(),
                    "ec2.amazonaws.com",
                    "CreateSnapshot",
                    S_BACKUP.ip,
                    UA_BOTO3,
                    request={"volumeId": vol, "description": "daily backup"},
                    response={
                        "snapshotId": snap,
                        "volumeId": vol,
                        "status": "pending",
                        "ownerId": AWS_ACCOUNT,
                    },
                    site=S_BACKUP,
                )
                t += _ri(rng, 200, 900)
                self.cloudtrail(
                    t,
                    backup(),
                    "ec2.amazonaws.com",
                    "CreateTags",
                    S_BACKUP.ip,
                    UA_BOTO3,
                    request={
                        "resourcesSet": {"items": [{"resourceId": snap}]},
                        "tagSet": {"items": [{"key": "backup", "value": "daily"}]},
                    },
                    response={"_return": True},
                    site=S_BACKUP,
                )
            t = _at(day, 2, 35, 0) + _ri(rng, 0, 120_000)
            self.cloudtrail(
                t,
                backup(),
                "ec2.amazonaws.com",
                "DescribeSnapshots",
                S_BACKUP.ip,
                UA_BOTO3,
                request={"ownersSet": {"items": [{"owner": "self"}]}},
                site=S_BACKUP,
            )
            for _ in range(12):
                t += _ri(rng, 500, 3_000)
                self.cloudtrail(
                    t,
                    backup(),
                    "ec2.amazonaws.com",
                    "DeleteSnapshot",
                    S_BACKUP.ip,
                    UA_BOTO3,
                    request={"snapshotId": "snap-0" + self.token("0123456789abcdef", 16)},
                    response={"_return": True},
                    site=S_BACKUP,
                )
            for snap in snapshots[:3]:
                t += _ri(rng, 1_000, 5_000)
                self.cloudtrail(
                    t,
                    backup(),
                    "ec2.amazonaws.com",
                    "ModifySnapshotAttribute",
                    S_BACKUP.ip,
                    UA_BOTO3,
                    read_only=False,
                    request={
                        "snapshotId": snap,
                        "attributeType": "CREATE_VOLUME_PERMISSION",
                        "createVolumePermission": {
                            "add": {"items": [{"userId": AWS_STAGING_ACCOUNT}]}
                        },
                    },
                    response={"_return": True},
                    site=S_BACKUP,
                )
        # svc_ci: deployments from CI runners during working hours on weekdays.
        ci = partial(self.iam_user_identity, SVC_CI)
        services = ("web-store", "web-api", "checkout-worker", "search-indexer")
        for day in range(5):
            for _ in range(_ri(rng, 2, 6)):
                t = _at(day, 13, 0) + _ri(rng, 0, 10 * HOUR_MS)
                runner = _pick(rng, S_CI_RUNNERS)
                svc = _pick(rng, services)
                steps = [
                    ("sts.amazonaws.com", "GetCallerIdentity", "sts.get-caller-identity", None),
                    ("ecr.amazonaws.com", "GetAuthorizationToken", "ecr.get-login-password", None),
                    (
                        "ecr.amazonaws.com",
                        "InitiateLayerUpload",
                        "ecr.push",
                        {"repositoryName": svc, "registryId": AWS_ACCOUNT},
                    ),
                    (
                        "ecr.amazonaws.com",
                        "CompleteLayerUpload",
                        "ecr.push",
                        {"repositoryName": svc, "registryId": AWS_ACCOUNT},
                    ),
                    (
                        "ecr.amazonaws.com",
                        "PutImage",
                        "ecr.push",
                        {
                            "repositoryName": svc,
                            "imageTag": f"git-{self.token('0123456789abcdef', 7)}",
                        },
                    ),
                    (
                        "ecs.amazonaws.com",
                        "DescribeTaskDefinition",
                        "ecs.describe-task-definition",
                        {"taskDefinition": svc},
                    ),
                    (
                        "ecs.amazonaws.com",
                        "RegisterTaskDefinition",
                        "ecs.register-task-definition",
                        {"family": svc, "networkMode": "awsvpc"},
                    ),
                    (
                        "ecs.amazonaws.com",
                        "UpdateService",
                        "ecs.update-service",
                        {"cluster": "prod", "service": svc, "forceNewDeployment": False},
                    ),
                ] + [
                    (
                        "ecs.amazonaws.com",
                        "DescribeServices",
                        "ecs.wait.services-stable",
                        {"cluster": "prod", "services": [svc]},
                    )
                ] * _ri(rng, 1, 4)
                for source, name, command, request in steps:
                    t += _ri(rng, 1_500, 25_000)
                    self.cloudtrail(
                        t,
                        ci(),
                        source,
                        name,
                        runner.ip,
                        UA_CLI_CI.format(command=command),
                        request=request,
                        site=runner,
                    )
        # svc_reporting: Athena reporting queries every two hours.
        reporting = partial(self.iam_user_identity, SVC_REPORTING)
        t = WEEK_START_MS + _ri(rng, 0, 2 * HOUR_MS)
        while t < WEEK_END_MS:
            qid = self.uuid()
            self.cloudtrail(
                t,
                reporting(),
                "athena.amazonaws.com",
                "StartQueryExecution",
                S_BACKUP.ip,
                UA_JAVA,
                read_only=False,
                request={
                    "queryString": "SELECT ... FROM orders_daily ...",
                    "workGroup": "reporting",
                },
                response={"queryExecutionId": qid},
                site=S_BACKUP,
            )
            for _ in range(_ri(rng, 1, 3)):
                t += _ri(rng, 2_000, 15_000)
                self.cloudtrail(
                    t,
                    reporting(),
                    "athena.amazonaws.com",
                    "GetQueryExecution",
                    S_BACKUP.ip,
                    UA_JAVA,
                    request={"queryExecutionId": qid},
                    site=S_BACKUP,
                )
            t += 2 * HOUR_MS + _ri(rng, -300_000, 300_000)
        # Terraform: a few plan/apply runs per weekday (bursts of reads, a few writes).
        for day in range(5):
            for _ in range(_ri(rng, 1, 3)):
                self.ct_terraform_run(_at(day, 14, 0) + _ri(rng, 0, 8 * HOUR_MS))
        self.ct_terraform_run(TERRAFORM_READONLY_TS - 95_000, onboarding=True)

    def ct_terraform_run(self, start: int, *, onboarding: bool = False) -> None:
        rng = self.rng
        run = "terraform-run-" + self.token("abcdefghijklmnopqrstuvwxyz0123456789", 16)
        key = self.temp_key()
        role, role_id = "TerraformDeployer", "AROAXBZV5EXAMPLETF5DP"
        identity = partial(self.role_identity, role, role_id, run, key, start)
        tfc = S_CI_RUNNERS[0]
        t = start
        self.cloudtrail(
            t,
            {
                "type": "WebIdentityUser",
                "principalId": "app.terraform.io:aud:aws.workload.identity",
                "userName": "organization:example:project:infra:workspace:prod:run_phase:apply",
                "identityProvider": f"arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/app.terraform.io",
            },
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            tfc.ip,
            UA_TERRAFORM,
            read_only=True,
            request={"roleArn": f"arn:aws:iam::{AWS_ACCOUNT}:role/{role}", "roleSessionName": run},
            site=tfc,
        )
        for _ in range(_ri(rng, 12, 35)):
            t += _ri(rng, 20, 900)
            source, name = _pick(rng, _ENGINEER_READS)
            request = self.read_params(name)
            self.cloudtrail(
                t,
                identity(),
                source,
                name,
                tfc.ip,
                UA_TERRAFORM,
                request=request,
                site=tfc,
            )
        if onboarding:
            t = TERRAFORM_READONLY_TS - 15_000
            self.cloudtrail(
                t,
                identity(),
                "iam.amazonaws.com",
                "CreateUser",
                tfc.ip,
                UA_TERRAFORM,
                request={"userName": "auditor-readonly", "path": "/"},
                response={
                    "user": {
                        "userName": "auditor-readonly",
                        "path": "/",
                        "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/auditor-readonly",
                        "userId": "AIDAXBZV5EXAMPLEAUD7R",
                        "createDate": _datetime_text(t),
                    }
                },
                site=tfc,
            )
            self.cloudtrail(
                TERRAFORM_READONLY_TS,
                identity(),
                "iam.amazonaws.com",
                "AttachUserPolicy",
                tfc.ip,
                UA_TERRAFORM,
                request={"userName": "auditor-readonly", "policyArn": READONLY_POLICY},
                site=tfc,
            )
            return
        for _ in range(_ri(rng, 0, 3)):
            t += _ri(rng, 500, 5_000)
            source, name, request = _pick(rng, _TERRAFORM_WRITES)
            self.cloudtrail(
                t,
                identity(),
                source,
                name,
                tfc.ip,
                UA_TERRAFORM,
                read_only=False,
                request=request,
                site=tfc,
            )

    def ct_engineers(self) -> None:
        """Engineers through IAM Identity Center: console sessions and CLI sessions."""
        rng = self.rng
        for person in self.people:
            if person.sso_role is None:
                continue
            role = person.sso_role
            for day in range(7):
                weekend = day >= 5
                if rng.random() > (0.05 if weekend else 0.5):
                    continue
                tz_hours, sites = self.person_sites(person, day)
                site = _pick(rng, sites)
                local_midnight = WEEK_START_MS + day * DAY_MS - tz_hours * HOUR_MS
                t = local_midnight + int(rng.uniform(9.5, 17.5) * HOUR_MS)
                if person.quiet(t) or (person is MARCO and day == 4):
                    continue
                self.engineer_session(person, role, site, t, console=rng.random() < 0.6)

    def engineer_session(
        self, person: Person, role: str, site: Site, t: int, *, console: bool
    ) -> None:
        rng = self.rng
        key = self.temp_key()
        identity = partial(
            self.role_identity,
            role,
            SSO_ROLE_IDS[role],
            person.email,
            key,
            t,
            path="/aws-reserved/sso.amazonaws.com/",
        )
        if console:
            self.sso_console_login(t, identity(), person.agent, site)
            agent = UA_CONSOLE
        else:
            self.cloudtrail(
                t,
                {
                    "type": "Unknown",
                    "principalId": person.okta_id,
                    "accountId": AWS_ACCOUNT,
                    "userName": person.email,
                },
                "sso.amazonaws.com",
                "GetRoleCredentials",
                site.ip,
                UA_CLI_MAC.format(command="sso.login"),
                read_only=True,
                request={"roleName": role.split("_")[1], "accountId": AWS_ACCOUNT},
                site=site,
            )
            agent = ""
        for _ in range(_ri(rng, 3, 15)):
            t += _ri(rng, 1_000, 120_000)
            if rng.random() < 0.93:
                source, name = _pick(rng, _ENGINEER_READS)
                request, read_only = self.read_params(name), True
            else:
                source, name, request = _pick(rng, _ENGINEER_WRITES)
                read_only = False
            error = None
            if (role == SSO_ROLE_READONLY and not read_only) or rng.random() < 0.025:
                error = _access_denied(source, name, _assumed_role_arn(role, person.email))
            ua = agent or UA_CLI_MAC.format(command=_cli_command(source, name))
            ip = site.ip if agent == "" or rng.random() < 0.7 else "AWS Internal"
            self.cloudtrail(
                t,
                identity(),
                source,
                name,
                ip,
                ua,
                request=request,
                read_only=read_only,
                error=error,
                site=site if ip == site.ip else None,
            )

    def ct_iam_humans(self) -> None:
        """Legacy IAM users (break-glass admins): occasional console logins with MFA."""
        rng = self.rng
        for person in (DOROTA, ANNA):
            assert person.iam_user is not None
            for day in (0, 1, 2, 3, 4):
                if rng.random() < 0.5 and not (person is ANNA and day == 1):
                    continue
                tz_hours, sites = self.person_sites(person, day)
                site = _pick(rng, sites)
                local_midnight = WEEK_START_MS + day * DAY_MS - tz_hours * HOUR_MS
                t = local_midnight + int(rng.uniform(10.0, 17.0) * HOUR_MS)
                if person is ANNA and day == 1:
                    site = _OFFICE["ber"].nat_sites[0]
                    for ts in ANNA_CONSOLE_FAILS:
                        self.console_login(ts, person, site, success=False)
                    t = ANNA_CONSOLE_SUCCESS
                self.console_login(t, person, site, success=True)
                self.iam_console_reads(person, site, t)

    def sso_console_login(self, ts: int, identity: Event, agent: Agent, site: Site) -> None:
        """A successful console sign-in of an IAM Identity Center (SSO) role session."""
        identity.pop("accessKeyId")
        self.cloudtrail(
            ts,
            identity,
            "signin.amazonaws.com",
            "ConsoleLogin",
            site.ip,
            agent.raw,
            read_only=False,
            event_type="AwsConsoleSignIn",
            response={"ConsoleLogin": "Success"},
            extra={
                "additionalEventData": {
                    "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                    "MobileVersion": "No",
                    "MFAUsed": "No",
                }
            },
            site=site,
        )

    def console_login(self, ts: int, person: Person, site: Site, *, success: bool) -> None:
        assert person.iam_user is not None
        identity = {
            "type": "IAMUser",
            "principalId": person.iam_user_id,
            "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/{person.iam_user}",
            "accountId": AWS_ACCOUNT,
            "userName": person.iam_user,
        }
        if not success:
            identity["accessKeyId"] = ""
        self.cloudtrail(
            ts,
            identity,
            "signin.amazonaws.com",
            "ConsoleLogin",
            site.ip,
            (person.agent if site.place.iso != "RU" else A_SPRAY_BROWSER).raw,
            read_only=False,
            event_type="AwsConsoleSignIn",
            response={"ConsoleLogin": "Success" if success else "Failure"},
            extra={
                "additionalEventData": {
                    "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                    "MobileVersion": "No",
                    "MFAUsed": "Yes" if success else "No",
                },
                **({} if success else {"errorMessage": "Failed authentication"}),
            },
            site=site,
        )

    def iam_console_reads(self, person: Person, site: Site, t: int) -> None:
        rng = self.rng
        assert person.iam_user is not None
        key, created = self.temp_key(), _iso_seconds(t)

        def identity() -> Event:
            return {
                "type": "IAMUser",
                "principalId": person.iam_user_id,
                "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/{person.iam_user}",
                "accountId": AWS_ACCOUNT,
                "accessKeyId": key,
                "userName": person.iam_user,
                "sessionContext": {
                    "sessionIssuer": {},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": created, "mfaAuthenticated": "true"},
                },
            }

        for _ in range(_ri(rng, 4, 25)):
            t += _ri(rng, 2_000, 90_000)
            source, name = _pick(rng, _ENGINEER_READS)
            request = self.read_params(name)
            ip = site.ip if rng.random() < 0.6 else "AWS Internal"
            self.cloudtrail(
                t,
                identity(),
                source,
                name,
                ip,
                UA_CONSOLE,
                request=request,
                site=site if ip == site.ip else None,
            )

    def cloudtrail_planted(self) -> None:
        # 5. console brute force against d.kowalski (no success)
        for ts in CONSOLE_FAILS:
            self.console_login(ts, DOROTA, S_CONSOLE_BRUTE, success=False)
        # 6-7. leaked svc_ci key used from a VPS: recon, backdoor admin user, stop logging
        ci = partial(self.iam_user_identity, SVC_CI)
        ip, site = S_AWS_ATTACKER.ip, S_AWS_ATTACKER
        recon = (
            ("sts.amazonaws.com", "GetCallerIdentity", "sts.get-caller-identity", None),
            ("iam.amazonaws.com", "ListUsers", "iam.list-users", None),
            (
                "iam.amazonaws.com",
                "ListAttachedUserPolicies",
                "iam.list-attached-user-policies",
                {"userName": SVC_CI.name},
            ),
            ("s3.amazonaws.com", "ListBuckets", "s3.ls", {"Host": "s3.amazonaws.com"}),
        )
        for ts, (source, name, command, request) in zip(AWS_RECON, recon, strict=True):
            self.cloudtrail(
                ts,
                ci(),
                source,
                name,
                ip,
                UA_CLI_KALI.format(command=command),
                request=request,
                site=site,
            )
        new_arn = f"arn:aws:iam::{AWS_ACCOUNT}:user/{BACKDOOR_USER}"
        self.cloudtrail(
            AWS_CREATE_USER,
            ci(),
            "iam.amazonaws.com",
            "CreateUser",
            ip,
            UA_CLI_KALI.format(command="iam.create-user"),
            request={"userName": BACKDOOR_USER},
            response={
                "user": {
                    "path": "/",
                    "userName": BACKDOOR_USER,
                    "userId": "AIDAXBZV5EXAMPLEK2BDR",
                    "arn": new_arn,
                    "createDate": _datetime_text(AWS_CREATE_USER),
                }
            },
            site=site,
        )
        self.cloudtrail(
            AWS_ATTACH_ADMIN,
            ci(),
            "iam.amazonaws.com",
            "AttachUserPolicy",
            ip,
            UA_CLI_KALI.format(command="iam.attach-user-policy"),
            request={"userName": BACKDOOR_USER, "policyArn": ADMIN_POLICY},
            site=site,
        )
        self.cloudtrail(
            AWS_CREATE_KEY,
            ci(),
            "iam.amazonaws.com",
            "CreateAccessKey",
            ip,
            UA_CLI_KALI.format(command="iam.create-access-key"),
            request={"userName": BACKDOOR_USER},
            response={
                "accessKey": {
                    "userName": BACKDOOR_USER,
                    "accessKeyId": "AKIAXBZV5EXAMPLEBD00R",
                    "status": "Active",
                    "createDate": _datetime_text(AWS_CREATE_KEY),
                }
            },
            site=site,
        )
        self.cloudtrail(
            AWS_STOP_LOGGING,
            ci(),
            "cloudtrail.amazonaws.com",
            "StopLogging",
            ip,
            UA_CLI_KALI.format(command="cloudtrail.stop-logging"),
            request={"name": TRAIL_ARN},
            site=site,
        )
        # 8. an engineer makes an EBS snapshot public from the London office
        london = _OFFICE["lon"].nat_sites[1]
        start = SNAPSHOT_PUBLIC - 240_000
        identity = partial(
            self.role_identity,
            SSO_ROLE_ENGINEERING,
            SSO_ROLE_IDS[SSO_ROLE_ENGINEERING],
            MARCO.email,
            self.temp_key(),
            start,
            path="/aws-reserved/sso.amazonaws.com/",
        )
        self.sso_console_login(start, identity(), MARCO.agent, london)
        self.cloudtrail(
            start + 95_000,
            identity(),
            "ec2.amazonaws.com",
            "DescribeSnapshots",
            london.ip,
            UA_CONSOLE,
            request={"ownersSet": {"items": [{"owner": "self"}]}},
            site=london,
        )
        self.cloudtrail(
            SNAPSHOT_PUBLIC,
            identity(),
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            london.ip,
            UA_CONSOLE,
            read_only=False,
            request={
                "snapshotId": PUBLIC_SNAPSHOT_ID,
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"group": "all"}]}},
            },
            response={"_return": True, "requestId": self.uuid()},
            site=london,
        )

    # ---- nginx -----------------------------------------------------------------------------

    def web(
        self,
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
            f'{ip} - - [{_clf_time(ts)}] "{method} {url} HTTP/1.1" {status} {size} '
            f'"{referer}" "{agent.raw}"'
        )
        level = "error" if status >= 500 else "warn" if status >= 400 else "info"
        zone = "us-east-1a" if int(host[-2:]) % 2 else "us-east-1b"
        self.emit(
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
                        "useragent_details": _ua_details(agent),
                        "url_details": url_details,
                    },
                    "network": {"client": {"ip": ip}, "bytes_written": size},
                    "duration": duration_ns,
                    "date_access": ts,
                },
            }
        )

    def web_background(self) -> None:
        rng = self.rng
        store_hosts = [f"web-store-{n:02d}" for n in range(1, 9)]
        api_hosts = [f"web-api-{n:02d}" for n in range(1, 7)]
        n_clients, n_apps = len(self.web_clients), len(self.app_clients)
        for hour in range(7 * 24):
            weight = _HOURLY_SHOP[hour % 24] * _DAILY_SHOP[hour // 24]
            hour_start = WEEK_START_MS + hour * HOUR_MS
            for _ in range(max(0, round(rng.gauss(11 * weight, 1.5)))):
                ip, agent = self.web_clients[int(n_clients * rng.random() ** 2.2)]
                self.store_visit(hour_start + _ri(rng, 0, HOUR_MS - 1), ip, agent, store_hosts)
            for _ in range(max(0, round(rng.gauss(6 * weight, 1)))):
                ip, agent = self.app_clients[int(n_apps * rng.random() ** 2.0)]
                self.api_visit(hour_start + _ri(rng, 0, HOUR_MS - 1), ip, agent, api_hosts)
        # A bad deploy on web-api-03 (background incident, not an attack): the node answers ~40%
        # of its requests with 502 and fails fast, so the load balancer (least outstanding
        # requests) sends it a request every few seconds until the deploy is rolled back.
        t = INCIDENT_START + _ri(rng, 0, 2_000)
        while t < INCIDENT_END:
            ip, agent = self.app_clients[int(n_apps * rng.random() ** 2.0)]
            self.api_visit(t, ip, agent, [INCIDENT_HOST], calls=1)
            t += _ri(rng, 2_000, 4_000)

    def store_visit(self, t: int, ip: str, agent: Agent, hosts: list[str]) -> None:
        rng = self.rng
        bot = agent.device == "Spider"
        referer = _pick(
            rng,
            (
                "-",
                "https://www.google.com/",
                "https://www.bing.com/",
                "https://www.instagram.com/",
                SHOP_ORIGIN + "/",
            ),
        )
        pages = _ri(rng, 1, 3) if bot else 1 + int(rng.expovariate(1 / 3.5))
        for page_no in range(min(pages, 14)):
            url, status = self.store_page(page_no)
            method = "GET"
            if url.startswith("/checkout/submit"):
                method = "POST"
            if rng.random() < 0.0025:
                status = _pick(rng, (500, 502, 503, 504))
            size = 0 if status in (301, 302, 304) else _ri(rng, 9_000, 95_000)
            if status == 404:
                size = _ri(rng, 1_500, 3_500)
            duration = int(rng.lognormvariate(17.4, 0.6))  # ~36 ms median
            host = _pick(rng, hosts)
            self.web(t, "web-store", host, ip, method, url, status, size, referer, agent, duration)
            referer = SHOP_ORIGIN + url.partition("?")[0]
            # the CDN serves most static files: nginx sees a few misses on a visit's first page
            if not bot and status == 200 and page_no == 0 and rng.random() < 0.5:
                for asset in rng.sample(_STORE_ASSETS, _ri(rng, 1, 3)):
                    t += _ri(rng, 30, 400)
                    cached = rng.random() < 0.35
                    self.web(
                        t,
                        "web-store",
                        host,
                        ip,
                        "GET",
                        asset,
                        304 if cached else 200,
                        0 if cached else _ri(rng, 2_000, 180_000),
                        referer,
                        agent,
                        int(rng.lognormvariate(14.5, 0.5)),
                    )
            t += _ri(rng, 4_000, 95_000)

    def store_page(self, page_no: int) -> tuple[str, int]:
        rng = self.rng
        roll = rng.random()
        if page_no == 0 and roll < 0.3:
            return "/", 200
        if roll < 0.55:
            product = _ri(rng, 1000, 4999)
            status = 404 if rng.random() < 0.012 else 200
            return f"/products/{product}", status
        if roll < 0.72:
            return f"/category/{_pick(rng, _CATEGORIES)}?page={_ri(rng, 1, 5)}", 200
        if roll < 0.82:
            return f"/search?q={_pick(rng, _SEARCH_TERMS)}", 200
        if roll < 0.9:
            return "/cart", 200
        if roll < 0.94:
            return "/checkout", 200
        if roll < 0.96:
            return "/checkout/submit", 302
        if roll < 0.98:
            return "/account/login", 200
        if roll < 0.995:
            return _pick(rng, ("/about", "/shipping", "/returns", "/contact", "/robots.txt")), 200
        return _pick(rng, _STALE_LINKS), 404

    def api_visit(
        self, t: int, ip: str, agent: Agent, hosts: list[str], *, calls: int | None = None
    ) -> None:
        rng = self.rng
        cart = self.uuid()
        for _ in range(calls or 1 + int(rng.expovariate(1 / 4.0))):
            roll = rng.random()
            method, status = "GET", 200
            if roll < 0.35:
                url = f"/api/v2/products?category={_pick(rng, _CATEGORIES)}&page={_ri(rng, 1, 6)}"
            elif roll < 0.65:
                url = f"/api/v2/products/{_ri(rng, 1000, 4999)}"
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
                    f"/api/v2/carts/{cart}/items/{_ri(rng, 1, 9)}",
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
                url = f"/api/v2/recommendations?product={_ri(rng, 1000, 4999)}"
            if rng.random() < 0.003:
                status = 429
            host = _pick(rng, hosts)
            if host == INCIDENT_HOST and INCIDENT_START <= t < INCIDENT_END and rng.random() < 0.4:
                status = 502  # a bad deploy on one node (background incident, not an attack)
            elif rng.random() < 0.002:
                status = _pick(rng, (500, 503, 504))
            size = (
                0 if status == 204 else _ri(rng, 120, 24_000) if status < 400 else _ri(rng, 60, 400)
            )
            duration = int(rng.lognormvariate(17.9, 0.7))  # ~60 ms median
            self.web(t, "web-api", host, ip, method, url, status, size, "-", agent, duration)
            t += _ri(rng, 300, 45_000)

    def web_planted(self) -> None:
        rng = self.rng
        # 9. the scan, spread over the web-store hosts by the load balancer
        for i, (url, status) in enumerate(SCAN_REQUESTS):
            ts = SCAN_START + i * SCAN_GAP_MS
            host = f"web-store-{_ri(rng, 1, 8):02d}"
            size = _ri(rng, 150, 600) if status != 200 else _ri(rng, 400, 9_000)
            self.web(
                ts,
                "web-store",
                host,
                SCANNER_IP,
                "GET",
                url,
                status,
                size,
                "-",
                A_NUCLEI,
                int(rng.lognormvariate(15.5, 0.4)),
            )
        # near miss: Googlebot re-crawling retired product pages (35 distinct 404s in 8.5 min)
        retired = rng.sample(range(100, 999), CRAWL_404S)
        for i, product in enumerate(retired):
            ts = CRAWL_START + i * 15_000
            host = f"web-store-{_ri(rng, 1, 8):02d}"
            self.web(
                ts,
                "web-store",
                host,
                CRAWLER_IP,
                "GET",
                f"/products/{product}",
                404,
                _ri(rng, 1_500, 3_500),
                "-",
                A_GOOGLEBOT,
                int(rng.lognormvariate(16.0, 0.4)),
            )
            if i % 5 == 0:
                self.web(
                    ts + 4_000,
                    "web-store",
                    host,
                    CRAWLER_IP,
                    "GET",
                    f"/products/{_ri(rng, 1000, 4999)}",
                    200,
                    _ri(rng, 9_000, 90_000),
                    "-",
                    A_GOOGLEBOT,
                    int(rng.lognormvariate(17.4, 0.5)),
                )

    # ---- assembly --------------------------------------------------------------------------

    def run(self) -> list[Event]:
        # Hundreds of thousands of small dicts: the cyclic GC would rescan them over and over.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            if enabled:
                gc.enable()

    def _run(self) -> list[Event]:
        self.build_population()
        self.okta_background()
        self.okta_planted()
        self.cloudtrail_background()
        self.cloudtrail_planted()
        self.web_background()
        self.web_planted()
        self.events.sort(key=lambda item: (item[0], item[1]))
        out: list[Event] = []
        seed_key = _seed_key(self.seed)
        for index, (ts, _, event) in enumerate(self.events):
            event["id"] = _event_id(seed_key, index, ts)
            out.append(event)
        self.events = []
        return out


_ID_MULTIPLIER = 0x9E3779B97F4A7C15F39CC060  # odd, so index -> id is a bijection mod 2**96


def _event_id(seed_key: int, index: int, ts: int) -> str:
    """A Datadog-style id: 6 bytes of big-endian timestamp + 12 bytes mixed from seed and index.

    `(index * odd + key) mod 2**96` is injective in `index`, so ids are unique within a run.
    """
    mixed = (index * _ID_MULTIPLIER + seed_key) % (1 << 96)
    return base64.urlsafe_b64encode(ts.to_bytes(6, "big") + mixed.to_bytes(12, "big")).decode()


def _seed_key(seed: int) -> int:
    digest = hashlib.blake2b(f"hindsight-sample:{seed}".encode(), digest_size=12).digest()
    return int.from_bytes(digest, "big")


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (so events never share mutable sub-objects)."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clone(item) for item in value]
    return value


def _assumed_role_arn(role: str, session: str) -> str:
    return f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{role}/{session}"


def _datetime_text(epoch_ms: int) -> str:
    """CloudTrail's human date format in responseElements (`Mar 9, 2024, 4:01:12 AM`)."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC)
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} {suffix}"


def _geoip(site: Site) -> Event:
    place = site.place
    return {
        "ipAddress": site.ip,
        "city": {"name": place.city},
        "country": {"name": place.country, "iso_code": place.iso},
        "continent": {"name": place.continent, "code": place.continent_code},
        "subdivision": {"name": place.region, "iso_code": place.region_iso},
        "location": {"latitude": place.lat, "longitude": place.lon},
        "as": {"number": site.asn, "organization": site.as_org},
    }


def _ua_details(agent: Agent) -> Event:
    return {
        "os": {"family": agent.os},
        "browser": {"family": agent.browser},
        "device": {"family": agent.device, "category": _device_category(agent)},
    }


def _device_category(agent: Agent) -> str:
    if agent.device == "Spider":
        return "Bot"
    if agent.os in ("iOS", "Android"):
        return "Mobile"
    return "Desktop"


_OKTA_DISPLAY = {
    "user.session.start": "User login to Okta",
    "user.authentication.auth_via_mfa": "Authentication of user via MFA",
    "user.authentication.sso": "User single sign on to app",
    "user.session.end": "User logout from Okta",
    "user.mfa.okta_verify.deny_push": "User rejected Okta push verify",
    "user.account.update_password": "User update password for Okta",
    "user.mfa.factor.activate": "Activate factor or authenticator",
}
_OKTA_LEGACY = {
    "user.session.start": "core.user_auth.login_success",
    "user.authentication.auth_via_mfa": "core.user.factor.attempt_success",
    "user.authentication.sso": "app.auth.sso",
    "user.session.end": "core.user_auth.logout_success",
}
_OKTA_LEGACY_FAILED = {
    "user.session.start": "core.user_auth.login_failed",
    "user.mfa.okta_verify.deny_push": "core.user.factor.attempt_fail",
}
_OKTA_CATEGORY = {
    "user.session.start": "authentication",
    "user.authentication.auth_via_mfa": "authentication",
    "user.authentication.sso": "authentication",
    "user.session.end": "authentication",
    "user.mfa.okta_verify.deny_push": "authentication",
    "user.account.update_password": "user_change",
    "user.mfa.factor.activate": "user_change",
}
_OKTA_URI = {
    "user.session.start": "/api/v1/authn",
    "user.authentication.auth_via_mfa": "/api/v1/authn/factors/verify",
    "user.authentication.sso": "/app/sso/saml",
    "user.session.end": "/login/signout",
    "user.mfa.okta_verify.deny_push": "/api/v1/authn/factors/verify",
    "user.account.update_password": "/api/v1/users/me/credentials/change_password",
    "user.mfa.factor.activate": "/api/v1/users/me/factors/activate",
}


def _api_list(text: str) -> tuple[tuple[str, str], ...]:
    """`"ec2:DescribeInstances s3:ListBuckets"` -> ((eventSource, eventName), ...)."""
    pairs = (item.split(":") for item in text.split())
    return tuple((f"{service}.amazonaws.com", name) for service, name in pairs)


_READ_ONLY_EXTRA = frozenset({"Decrypt", "GenerateDataKey", "BatchGetSecretValue"})
_DATADOG_POLL: tuple[tuple[str, str], ...] = _api_list(
    "ec2:DescribeInstances ec2:DescribeVolumes ec2:DescribeInstanceStatus "
    "ec2:DescribeSecurityGroups elasticloadbalancing:DescribeLoadBalancers "
    "elasticloadbalancing:DescribeTargetGroups rds:DescribeDBInstances "
    "lambda:ListFunctions20150331 tagging:GetResources s3:ListBuckets cloudtrail:DescribeTrails "
    "cloudtrail:GetTrailStatus logs:DescribeLogGroups sqs:ListQueues "
    "elasticache:DescribeCacheClusters monitoring:DescribeAlarms"
)
# Poll period of each `_DATADOG_POLL` call in 10-minute ticks (in us-east-1; 3x in eu-west-1).
_DATADOG_PERIODS: tuple[int, ...] = (3, 6, 6, 12, 6, 12, 6, 12, 3, 12, 6, 6, 12, 12, 12, 6)
_ENGINEER_READS: tuple[tuple[str, str], ...] = _api_list(
    "ec2:DescribeInstances ec2:DescribeInstances ec2:DescribeInstanceStatus "
    "ec2:DescribeSecurityGroups ec2:DescribeVpcs ec2:DescribeSubnets ec2:DescribeVolumes "
    "ec2:DescribeSnapshots ec2:DescribeImages s3:ListBuckets s3:GetBucketLocation "
    "s3:GetBucketPolicy s3:GetBucketEncryption lambda:ListFunctions20150331 "
    "lambda:GetFunction20150331v2 rds:DescribeDBInstances rds:DescribeDBClusters "
    "logs:DescribeLogGroups logs:DescribeLogStreams logs:FilterLogEvents "
    "monitoring:DescribeAlarms ecs:ListClusters ecs:DescribeServices ecs:DescribeTaskDefinition "
    "ecs:ListTasks iam:ListRoles iam:GetRole iam:ListAttachedRolePolicies iam:GetPolicyVersion "
    "sts:GetCallerIdentity secretsmanager:ListSecrets secretsmanager:DescribeSecret "
    "ssm:DescribeParameters ssm:GetParameter kms:ListAliases "
    "elasticloadbalancing:DescribeLoadBalancers elasticloadbalancing:DescribeTargetHealth "
    "cloudformation:DescribeStacks cloudformation:ListStacks route53:ListHostedZones "
    "dynamodb:DescribeTable dynamodb:ListTables cloudtrail:LookupEvents"
)
_ENGINEER_WRITES: tuple[tuple[str, str, Any], ...] = (
    (
        "ec2.amazonaws.com",
        "StartInstances",
        {"instancesSet": {"items": [{"instanceId": "i-0b4c6e8f1a2d3e5f7"}]}},
    ),
    (
        "ec2.amazonaws.com",
        "StopInstances",
        {"instancesSet": {"items": [{"instanceId": "i-0b4c6e8f1a2d3e5f7"}]}, "force": False},
    ),
    (
        "ec2.amazonaws.com",
        "RebootInstances",
        {"instancesSet": {"items": [{"instanceId": "i-07e1d3c5b9a2f4680"}]}},
    ),
    (
        "ec2.amazonaws.com",
        "CreateTags",
        {
            "resourcesSet": {"items": [{"resourceId": "i-07e1d3c5b9a2f4680"}]},
            "tagSet": {"items": [{"key": "owner", "value": "platform"}]},
        },
    ),
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        {
            "groupId": "sg-0a7c3e5f9b1d2468a",
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 5432,
                        "toPort": 5432,
                        "ipRanges": {"items": [{"cidrIp": "10.20.0.0/16"}]},
                    }
                ]
            },
        },
    ),
    (
        "ssm.amazonaws.com",
        "PutParameter",
        {"name": "/prod/web-api/feature_flags", "type": "String", "overwrite": True},
    ),
    (
        "ecs.amazonaws.com",
        "UpdateService",
        {"cluster": "prod", "service": "search-indexer", "desiredCount": 3},
    ),
    (
        "logs.amazonaws.com",
        "PutRetentionPolicy",
        {"logGroupName": "/ecs/web-api", "retentionInDays": 30},
    ),
    (
        "s3.amazonaws.com",
        "PutBucketTagging",
        {
            "bucketName": "example-analytics-exports",
            "Host": "example-analytics-exports.s3.amazonaws.com",
        },
    ),
    (
        "lambda.amazonaws.com",
        "UpdateFunctionConfiguration20150331v2",
        {"functionName": "image-resizer", "memorySize": 1024},
    ),
)
_TERRAFORM_WRITES: tuple[tuple[str, str, Any], ...] = (
    (
        "ec2.amazonaws.com",
        "CreateTags",
        {
            "resourcesSet": {"items": [{"resourceId": "sg-0a7c3e5f9b1d2468a"}]},
            "tagSet": {"items": [{"key": "managed-by", "value": "terraform"}]},
        },
    ),
    (
        "ec2.amazonaws.com",
        "ModifyInstanceAttribute",
        {"instanceId": "i-0c2e4a6b8d1f3a5c7", "disableApiTermination": {"value": True}},
    ),
    (
        "iam.amazonaws.com",
        "TagRole",
        {"roleName": "web-api-role", "tags": [{"key": "managed-by", "value": "terraform"}]},
    ),
    (
        "s3.amazonaws.com",
        "PutBucketVersioning",
        {"bucketName": "example-terraform-state", "VersioningConfiguration": {"Status": "Enabled"}},
    ),
    (
        "route53.amazonaws.com",
        "ChangeResourceRecordSets",
        {
            "hostedZoneId": "Z03486412EXAMPLE",
            "changeBatch": {
                "changes": [
                    {
                        "action": "UPSERT",
                        "resourceRecordSet": {"name": "api.example.com", "type": "CNAME"},
                    }
                ]
            },
        },
    ),
)


def _read_params() -> dict[str, Callable[[Random], Any]]:
    def instance_ids(rng: Random) -> Any:
        return {"instancesSet": {}, "filterSet": {}, "maxResults": _pick(rng, (100, 500, 1000))}

    return {
        "DescribeInstances": instance_ids,
        "DescribeInstanceStatus": lambda rng: {"includeAllInstances": True, "filterSet": {}},
        "DescribeVolumes": lambda rng: {"volumeSet": {}, "filterSet": {}},
        "DescribeSnapshots": lambda rng: {"ownersSet": {"items": [{"owner": "self"}]}},
        "DescribeSecurityGroups": lambda rng: {"securityGroupSet": {}, "filterSet": {}},
        "GetBucketLocation": lambda rng: {"bucketName": _pick(rng, _BUCKETS), "location": ""},
        "GetBucketPolicy": lambda rng: {"bucketName": _pick(rng, _BUCKETS), "policy": ""},
        "GetBucketEncryption": lambda rng: {"bucketName": _pick(rng, _BUCKETS), "encryption": ""},
        "ListBuckets": lambda rng: {"Host": "s3.amazonaws.com"},
        "GetFunction20150331v2": lambda rng: {"functionName": _pick(rng, _FUNCTIONS)},
        "DescribeLogStreams": lambda rng: {"logGroupName": "/ecs/" + _pick(rng, _SERVICES)},
        "FilterLogEvents": lambda rng: {"logGroupName": "/ecs/" + _pick(rng, _SERVICES)},
        "DescribeServices": lambda rng: {"cluster": "prod", "services": [_pick(rng, _SERVICES)]},
        "DescribeTaskDefinition": lambda rng: {"taskDefinition": _pick(rng, _SERVICES)},
        "GetRole": lambda rng: {"roleName": _pick(rng, _ROLES)},
        "ListAttachedRolePolicies": lambda rng: {"roleName": _pick(rng, _ROLES)},
        "GetParameter": lambda rng: {
            "name": "/prod/" + _pick(rng, _SERVICES) + "/config",
            "withDecryption": True,
        },
        "DescribeSecret": lambda rng: {"secretId": "prod/" + _pick(rng, _SERVICES) + "/db"},
        "DescribeTable": lambda rng: {"tableName": _pick(rng, ("carts", "sessions", "inventory"))},
        "GetTrailStatus": lambda rng: {"name": TRAIL_ARN},
        "DescribeTrails": lambda rng: {"includeShadowTrails": True, "trailNameList": []},
        "DescribeTargetHealth": lambda rng: {
            "targetGroupArn": f"arn:aws:elasticloadbalancing:us-east-1:{AWS_ACCOUNT}:"
            f"targetgroup/{_pick(rng, _SERVICES)}/6d0ecf831eec9f09"
        },
        "GetResources": lambda rng: {
            "resourceTypeFilters": [
                _pick(rng, ("ec2:instance", "rds:db", "elasticloadbalancing:loadbalancer"))
            ]
        },
        "LookupEvents": lambda rng: {"maxResults": 50, "lookupAttributes": []},
    }


_BUCKETS = (
    "example-web-assets",
    "example-analytics-exports",
    "example-terraform-state",
    "example-access-logs",
    "example-backups-dr",
)
_FUNCTIONS = ("image-resizer", "order-events-consumer", "nightly-report", "slack-notifier")
_SERVICES = ("web-store", "web-api", "checkout-worker", "search-indexer")
_ROLES = ("web-store-role", "web-api-role", "batch-worker-role", "TerraformDeployer")
_READ_PARAMS = _read_params()


def _instance_call(service: str, inst: Instance, rng: Random) -> tuple[str, str, Any, str]:
    """(eventName, eventSource, requestParameters, userAgent) for an instance-role call."""
    app = inst.hostname.rsplit("-", 1)[0]
    if service == "kms":
        return (
            "Decrypt",
            "kms.amazonaws.com",
            {
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": {
                    "aws:secretsmanager:arn": f"arn:aws:secretsmanager:us-east-1:{AWS_ACCOUNT}:"
                    f"secret:prod/{app}/db"
                },
            },
            UA_JAVA if app == "web-api" else UA_BOTO3,
        )
    if service == "ssm":
        return (
            "GetParameters",
            "ssm.amazonaws.com",
            {
                "names": [f"/prod/{app}/config", f"/prod/{app}/feature_flags"],
                "withDecryption": True,
            },
            UA_BOTO3,
        )
    if service == "secretsmanager":
        return (
            "GetSecretValue",
            "secretsmanager.amazonaws.com",
            {"secretId": f"prod/{app}/db"},
            UA_JAVA if app == "web-api" else UA_BOTO3,
        )
    if service == "ecr":
        return (
            "GetAuthorizationToken",
            "ecr.amazonaws.com",
            None,
            UA_GO_SDK.format(api="ecr#1.27.1"),
        )
    # the Datadog Agent collects the host's EC2 tags
    return (
        "DescribeTags",
        "ec2.amazonaws.com",
        {
            "filterSet": {
                "items": [
                    {"name": "resource-id", "valueSet": {"items": [{"value": inst.instance_id}]}}
                ]
            }
        },
        UA_DD_AGENT,
    )


def _access_denied(source: str, name: str, arn: str) -> tuple[str, str]:
    service = source.split(".", maxsplit=1)[0]
    if service == "ec2":
        return ("Client.UnauthorizedOperation", "You are not authorized to perform this operation.")
    action = f"{service}:{name.removesuffix('20150331v2').removesuffix('20150331')}"
    return (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: {action} because no "
        "identity-based policy allows the action",
    )


def _cli_command(source: str, name: str) -> str:
    service = source.split(".", maxsplit=1)[0]
    words: list[str] = []
    for char in name.removesuffix("20150331v2").removesuffix("20150331"):
        if char.isupper() and words:
            words.append("-")
        words.append(char.lower())
    return f"{service}.{''.join(words)}"


_CATEGORIES = _words(
    "jackets boots backpacks tents sleeping-bags gloves hats trail-running climbing kids sale"
)
_SEARCH_TERMS = _words(
    "rain+jacket hiking+boots down+vest wool+socks headlamp trekking+poles gore-tex kids+boots "
    "water+bottle"
)
_STORE_ASSETS = [
    "/static/js/app.3f9a1c2e.js",
    "/static/js/vendor.8b21d4f0.js",
    "/static/css/main.c41e9d2a.css",
    "/static/fonts/inter-var.woff2",
    "/images/logo.svg",
    "/favicon.ico",
    "/images/banners/spring-sale.webp",
]
_STALE_LINKS = (
    "/products/0987",
    "/collections/winter-2022",
    "/blog/2021/best-tents",
    "/promo/black-friday",
    "/apple-touch-icon.png",
    "/apple-touch-icon-precomposed.png",
    "/.well-known/assetlinks.json",
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate(seed: int = DEFAULT_SEED) -> Iterator[Event]:
    """Yield the week's canonical events, sorted by (timestamp, generation order).

    The same seed always yields the same events (no clock, no network, no global state); the
    planted attacks in `PLANTED` are present for every seed.
    """
    events = _Generator(seed).run()
    events.reverse()  # hand events out one by one so a streaming consumer frees them as it goes
    while events:
        yield events.pop()


def _dumps(event: Event) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: write the events as gzipped NDJSON and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="generate.py", description="Generate Hindsight's one-week sample logs."
    )
    parser.add_argument("--out", required=True, help="output file (gzipped NDJSON)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 7)")
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    with (
        open(args.out, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out,
    ):
        batch: list[str] = []
        for event in generate(args.seed):
            counts[str(event["source"])] += 1
            batch.append(_dumps(event))
            if len(batch) >= 5000:
                out.write(("\n".join(batch) + "\n").encode())
                batch = []
        if batch:
            out.write(("\n".join(batch) + "\n").encode())
    per_source = ", ".join(f"{source}={count}" for source, count in sorted(counts.items()))
    names = ", ".join(attack["name"] for attack in PLANTED)
    print(
        f"wrote {sum(counts.values())} events ({per_source}) to {args.out}; "
        f"planted {len(PLANTED)} attacks: {names}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
