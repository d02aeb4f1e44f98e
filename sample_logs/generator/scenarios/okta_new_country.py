"""Planted: Okta login from a new country (`okta_login_from_new_country`).

Sofia Keller (Berlin, Germany only from Monday to Friday) signs in from Bucharest on Saturday
02:37 and opens three apps. Near misses: Lukas, a cross-border commuter, signs in from his home
in France on Monday and again on Friday; Julien's first United States login (see the
impossible-travel scenario) falls inside any learning period of a day or more.
"""

from __future__ import annotations

from ..catalog.agents import BROWSERS
from ..catalog.okta import APP_GOOGLE, APP_SALESFORCE, APP_SLACK
from ..catalog.people import CAMILLE, JULIEN, LUKAS, SOFIA
from ..catalog.sites import S_LUKAS_HOME, S_NEW_COUNTRY
from ..clock import at
from ..context import Context
from ..sources.okta import planted_sign_in
from .attack import OKTA_LOGIN, Attack
from .okta_impossible_travel import JULIEN_NEW_YORK, TRAVEL_SINGAPORE

NEW_COUNTRY_TS = at(5, 2, 37, 14)
NEW_COUNTRY_END = at(5, 2, 51, 30)
LUKAS_FR_TIMES = (at(0, 17, 30, 12), at(4, 8, 10, 45))  # near miss: France already on Monday

ATTACK = Attack(
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
            f"{OKTA_LOGIN} @evt.outcome:success, new value of "
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
)


def plant(ctx: Context) -> None:
    """Sofia's sign-in from Bucharest with data access after it, then Lukas's French logins."""
    planted_sign_in(
        ctx,
        NEW_COUNTRY_TS,
        SOFIA,
        S_NEW_COUNTRY,
        [
            (at(5, 2, 39, 2), APP_GOOGLE),
            (at(5, 2, 44, 51), APP_SALESFORCE),
            (NEW_COUNTRY_END, APP_SLACK),
        ],
        agent=BROWSERS[3],
    )
    for ts in LUKAS_FR_TIMES:
        planted_sign_in(ctx, ts, LUKAS, S_LUKAS_HOME)
