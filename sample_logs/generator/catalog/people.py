"""The company's people: offices, name pools, the `Person` record and the planted actors.

The random employees are drawn by `population`; the planted actors here are fixed (ids, home
IPs, blackouts), present whatever the seed. `FIXED_IPS` lists every fixed IP of the week so that
the random background never reuses one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import WEEK_END_MS, WEEK_START_MS, at
from . import words
from .agents import BROWSERS, Agent
from .aws import SSO_ROLE_ENGINEERING, user_arn
from .geo import (
    P_AUSTIN,
    P_BERKELEY,
    P_BERLIN,
    P_BOULOGNE,
    P_BROOKLYN,
    P_CROYDON,
    P_GENEVA,
    P_HOBOKEN,
    P_JERSEY_CITY,
    P_LONDON,
    P_MONTREUIL,
    P_NEW_YORK,
    P_OAKLAND,
    P_PARIS,
    P_POTSDAM,
    P_ROUND_ROCK,
    P_SAN_FRANCISCO,
    P_SAN_MATEO,
    P_VERSAILLES,
    P_WATFORD,
    P_YONKERS,
    Place,
    Site,
    home,
)
from .ids import ALNUM, stable_token
from .sites import INFRASTRUCTURE_IPS, S_JULIEN_NY

EMAIL_DOMAIN = "example.com"

FIRST_NAMES = words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony "
    "Betty Mark Sandra Paul Ashley Steven Kimberly Andrew Emily Joshua Donna Kevin Michelle "
    "Brian Carol George Amanda Timothy Melissa Ryan Deborah Jacob Stephanie Gary Rebecca "
    "Nicholas Laura Eric Helen Jonathan Sharon Priya Arjun Wei Mei Hiroshi Yuki Ahmed Fatima "
    "Carlos Lucia Mateo Sofia Pierre Claire Hugo Chloe Felix Hannah Jonas Lena Tom Amelia Harry "
    "Isla Omar Leila Ivan Olga Kwame Ama"
)

LAST_NAMES = words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Taylor Thomas Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Scott Green Baker "
    "Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker "
    "Collins Edwards Stewart Morris Nguyen Patel Shah Chen Wang Kim Tanaka Sato Haddad Silva "
    "Costa Bernard Dubois Petit Lefebvre Schmidt Schneider Weber Wagner Becker Hoffmann Hughes "
    "Murphy Kelly Novak Horvat Jensen Nielsen Mensah Okafor Ivanova Popescu"
)


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
        return tuple(home(ip, self.place, business=True) for ip in self.nat_ips)


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
OFFICE = {office.name: office for office in OFFICES}


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
    # days whose AWS activity is all planted (no background AWS session then)
    planted_aws_days: tuple[int, ...] = ()

    @property
    def email(self) -> str:
        """The Okta login / e-mail address."""
        return f"{self.first.lower()}.{self.last.lower()}@{EMAIL_DOMAIN}"

    @property
    def display(self) -> str:
        """The display name."""
        return f"{self.first} {self.last}"

    @property
    def iam_arn(self) -> str:
        """The ARN of the person's IAM user (break-glass users only)."""
        assert self.iam_user is not None
        return user_arn(self.iam_user)

    def quiet(self, ts: int) -> bool:
        """True when background activity must not be generated at `ts`."""
        return bool(self.blackouts) and any(start <= ts < end for start, end in self.blackouts)

    def work_sites(self, day: int) -> tuple[int, list[Site]]:
        """(UTC offset in hours, [home site, office sites...]) where the person works on `day`."""
        if self.relocation is not None and day >= self.relocation[0]:
            return self.relocation[2], [self.relocation[1]]
        return self.office.tz_hours, [self.home_site, *self.office.nat_sites]


def _fixed_person(
    first: str,
    last: str,
    office: str,
    home_site: Site,
    agent: int,
    *,
    blackouts: tuple[tuple[int, int], ...] = (),
    relocation: tuple[int, Site, int] | None = None,
    sso_role: str | None = None,
    iam_user: tuple[str, str] | None = None,
    planted_aws_days: tuple[int, ...] = (),
) -> Person:
    """A planted actor: ids derived from the name, so the same for every seed."""
    email = f"{first.lower()}.{last.lower()}@{EMAIL_DOMAIN}"
    return Person(
        first,
        last,
        OFFICE[office],
        home_site,
        "00u" + stable_token(email, ALNUM, 17),
        BROWSERS[agent],
        sso_role=sso_role,
        iam_user=iam_user[0] if iam_user else None,
        iam_user_id=iam_user[1] if iam_user else "",
        blackouts=blackouts,
        relocation=relocation,
        planted_aws_days=planted_aws_days,
    )


# The planted actors: fixed identities (ids, home IPs), present whatever the seed. Blackouts keep
# their background activity away from the planted events so the documented counts are exact.
EMMA = _fixed_person(  # brute force victim
    "Emma",
    "Larsen",
    "nyc",
    home("73.162.201.45", P_BROOKLYN),
    0,
    blackouts=((at(2, 23, 0), at(3, 8, 0)),),
)
CAMILLE = _fixed_person(  # impossible travel
    "Camille",
    "Durand",
    "par",
    home("90.63.130.12", P_BOULOGNE),
    2,
    blackouts=((at(2, 0, 0), at(3, 6, 0)),),
)
SOFIA = _fixed_person(  # login from a new country
    "Sofia",
    "Keller",
    "ber",
    home("79.206.44.102", P_POTSDAM),
    3,
    blackouts=((at(4, 20, 0), WEEK_END_MS),),
)
JULIEN = _fixed_person(  # slow traveller (near miss): Paris, then New York from Monday evening
    "Julien",
    "Moreau",
    "par",
    home("86.246.77.190", P_MONTREUIL),
    0,
    blackouts=((WEEK_START_MS, at(1, 0, 0)),),
    relocation=(1, S_JULIEN_NY, -5),
)
OLIVER = _fixed_person(  # short hop (near miss)
    "Oliver",
    "Wright",
    "lon",
    home("86.151.20.77", P_WATFORD),
    1,
    blackouts=((at(3, 10, 30), at(3, 11, 45)),),
)
LIAM = _fixed_person(  # 4 failures then success (near miss)
    "Liam",
    "Oconnor",
    "lon",
    home("81.154.98.3", P_CROYDON),
    4,
    blackouts=((at(1, 8, 0), at(1, 9, 30)),),
)
NOAH = _fixed_person(  # slow failures (near miss)
    "Noah",
    "Fischer",
    "ber",
    home("91.64.188.219", P_BERLIN),
    5,
    blackouts=((at(1, 5, 0), at(1, 7, 0)),),
)
LUKAS = _fixed_person(  # cross-border commuter (near miss)
    "Lukas",
    "Meier",
    "gva",
    home("85.1.77.154", P_GENEVA),
    6,
    blackouts=((at(0, 17, 0), at(0, 18, 30)), (at(4, 7, 30), at(4, 9, 0))),
)
MARCO = _fixed_person(  # makes an EBS snapshot public
    "Marco",
    "Rossi",
    "lon",
    home("109.150.3.211", P_CROYDON),
    0,
    blackouts=((at(4, 16, 0), at(4, 17, 30)),),
    sso_role=SSO_ROLE_ENGINEERING,
    planted_aws_days=(4,),
)
DOROTA = _fixed_person(  # target of the AWS console brute force
    "Dorota",
    "Kowalski",
    "nyc",
    home("98.116.54.8", P_HOBOKEN),
    3,
    iam_user=("d.kowalski", "AIDAXBZV5EXAMPLEQ4WHT"),
)
ANNA = _fixed_person(  # console typos (near miss)
    "Anna",
    "Lindqvist",
    "ber",
    home("87.178.9.66", P_POTSDAM),
    1,
    iam_user=("a.lindqvist", "AIDAXBZV5EXAMPLE9ZC3R"),
)
BREAK_GLASS = (DOROTA, ANNA)  # the IAM users with console access
FIXED_PEOPLE = (EMMA, CAMILLE, SOFIA, JULIEN, OLIVER, LIAM, NOAH, LUKAS, MARCO, DOROTA, ANNA)
# Every fixed IP of the week: the random background never draws one of them.
FIXED_IPS = frozenset(
    INFRASTRUCTURE_IPS
    | {person.home_site.ip for person in FIXED_PEOPLE}
    | {ip for office in OFFICES for ip in office.nat_ips}
)
