"""Planted: Okta impossible travel (`okta_impossible_travel`).

Camille Durand signs in at the Paris office on Wednesday 09:05, then from Singapore at 10:08
(~10,730 km in 48 min after her last Paris event). Near misses: Julien flies Paris -> New York on
Monday (~580 km/h) and works from New York afterwards; Oliver goes from the London office to a
Manchester-geolocated mobile IP in 15 min (fast, but under 500 km).
"""

from __future__ import annotations

from ..catalog.agents import BROWSERS, PHONES
from ..catalog.okta import APP_GITHUB, APP_GOOGLE, APP_SLACK
from ..catalog.people import CAMILLE, JULIEN, OFFICE, OLIVER
from ..catalog.sites import S_JULIEN_NY, S_OLIVER_MOBILE, S_SINGAPORE
from ..clock import at
from ..context import Context
from ..sources.okta import planted_sign_in
from .attack import Attack

TRAVEL_PARIS = at(2, 9, 5, 12)
TRAVEL_SINGAPORE = at(2, 10, 8, 40)
TRAVEL_END = at(2, 10, 25, 3)
JULIEN_PARIS = at(0, 7, 40, 5)  # near miss: Paris then New York 10 h later (~580 km/h)
JULIEN_NEW_YORK = at(0, 17, 45, 30)
OLIVER_LONDON = at(3, 11, 0, 4)  # near miss: London then Manchester after 15 min (262 km)
OLIVER_MANCHESTER = at(3, 11, 15, 9)

ATTACK = Attack(
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
)


def plant(ctx: Context) -> None:
    """Camille's Paris and Singapore sign-ins, then Julien's and Oliver's near misses."""
    paris = OFFICE["par"].nat_sites
    planted_sign_in(ctx, TRAVEL_PARIS, CAMILLE, paris[0], [(at(2, 9, 20, 41), APP_SLACK)])
    planted_sign_in(
        ctx,
        TRAVEL_SINGAPORE,
        CAMILLE,
        S_SINGAPORE,
        [(at(2, 10, 11, 9), APP_GOOGLE), (TRAVEL_END, APP_GITHUB)],
        agent=BROWSERS[6],
    )
    planted_sign_in(ctx, JULIEN_PARIS, JULIEN, paris[1], [(at(0, 7, 52, 10), APP_SLACK)])
    planted_sign_in(ctx, JULIEN_NEW_YORK, JULIEN, S_JULIEN_NY, [(at(0, 18, 10, 2), APP_GOOGLE)])
    planted_sign_in(ctx, OLIVER_LONDON, OLIVER, OFFICE["lon"].nat_sites[0])
    planted_sign_in(ctx, OLIVER_MANCHESTER, OLIVER, S_OLIVER_MOBILE, agent=PHONES[0])
