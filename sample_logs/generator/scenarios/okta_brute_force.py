"""Planted: Okta brute force then success (`okta_brute_force_then_success`).

Emma Larsen's password is guessed from a residential proxy in Chicago on Thursday 03:12: 12
failures in 2m34s, then a success from the same IP, MFA and three app SSOs. Near misses: Liam's 4
typos then a success, and Noah's 11 failures 4 minutes apart (a stale password in a mail client).
"""

from __future__ import annotations

from ..catalog.agents import A_SPRAY_BROWSER, PHONES
from ..catalog.okta import APP_AWS, APP_GOOGLE, APP_SALESFORCE
from ..catalog.people import EMMA, LIAM, NOAH, OFFICE
from ..catalog.sites import S_BRUTE
from ..clock import at
from ..context import Context
from ..sources.okta import failed_login, new_session, okta_event, planted_sign_in, sso
from .attack import OKTA_LOGIN, Attack

BRUTE_FAILS = [at(3, 3, 12, 5) + i * 14_000 for i in range(12)]
BRUTE_SUCCESS = at(3, 3, 15, 20)
BRUTE_END = at(3, 3, 19, 2)
BRUTE_SSOS = (
    (at(3, 3, 16, 4), APP_GOOGLE),
    (at(3, 3, 17, 37), APP_SALESFORCE),
    (BRUTE_END, APP_AWS),
)
# near miss: Liam, 4 typos then success from the London office (Tue 08:47).
LIAM_FAILS = [at(1, 8, 47, 3), at(1, 8, 47, 31), at(1, 8, 48, 2), at(1, 8, 48, 40)]
LIAM_SUCCESS = at(1, 8, 49, 15)
# near miss: Noah, 11 failures 4 minutes apart (stale password in a mail client), then success.
NOAH_FAILS = [at(1, 5, 40, 0) + i * 240_000 for i in range(11)]
NOAH_SUCCESS = at(1, 6, 23, 10)

ATTACK = Attack(
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
            f"{OKTA_LOGIN} @evt.outcome:failure grouped by @usr.email: 12 failures from "
            "one IP in 2m34s, then @evt.outcome:success from the same IP 41 s later "
            "(followed by MFA and three app SSOs)"
        ),
        "near_misses": [
            {
                "user": LIAM.email,
                "ip": OFFICE["lon"].nat_ips[0],
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
)


def plant(ctx: Context) -> None:
    """Emma's brute force and sign-in, then Liam's and Noah's near misses."""
    for ts in BRUTE_FAILS:
        failed_login(ctx, ts, EMMA, S_BRUTE, agent=A_SPRAY_BROWSER)
    session = new_session(ctx)
    okta_event(
        ctx,
        BRUTE_SUCCESS,
        EMMA,
        S_BRUTE,
        "user.session.start",
        agent=A_SPRAY_BROWSER,
        session=session,
    )
    okta_event(
        ctx,
        BRUTE_SUCCESS + 21_000,
        EMMA,
        S_BRUTE,
        "user.authentication.auth_via_mfa",
        agent=A_SPRAY_BROWSER,
        session=session,
        factor="OKTA_VERIFY_PUSH",
    )
    for ts, app in BRUTE_SSOS:
        sso(ctx, ts, EMMA, S_BRUTE, app, session, agent=A_SPRAY_BROWSER)
    london = OFFICE["lon"].nat_sites[0]
    for ts in LIAM_FAILS:
        failed_login(ctx, ts, LIAM, london)
    planted_sign_in(ctx, LIAM_SUCCESS, LIAM, london)
    for ts in NOAH_FAILS:
        failed_login(ctx, ts, NOAH, NOAH.home_site, agent=PHONES[0])
    planted_sign_in(ctx, NOAH_SUCCESS, NOAH, NOAH.home_site)
