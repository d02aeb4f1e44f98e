"""Planted: AWS console login failures (`aws_console_login_failures`).

Someone in St Petersburg tries the password of the break-glass IAM user d.kowalski 9 times in
2m56s on Friday 19:22, without success. Near miss: a.lindqvist mistypes hers 3 times on Tuesday,
then signs in.
"""

from __future__ import annotations

from ..catalog.geo import Site
from ..catalog.people import ANNA, DOROTA, OFFICE
from ..catalog.sites import S_CONSOLE_BRUTE
from ..clock import at
from ..context import Context
from ..sources.cloudtrail import console_login
from ..sources.cloudtrail_people import ScriptedDay
from .attack import Attack

CONSOLE_FAILS = [at(4, 19, 22, 10) + i * 22_000 for i in range(9)]
ANNA_CONSOLE_FAILS = [at(1, 14, 3, 5), at(1, 14, 3, 41), at(1, 14, 4, 30)]
ANNA_CONSOLE_SUCCESS = at(1, 14, 5, 2)

ATTACK = Attack(
    "aws_console_login_failures",
    "threshold",
    CONSOLE_FAILS[0],
    CONSOLE_FAILS[-1],
    DOROTA.iam_arn,
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
)


def plant(ctx: Context) -> None:
    """The failed console logins against d.kowalski."""
    for ts in CONSOLE_FAILS:
        console_login(ctx, ts, DOROTA, S_CONSOLE_BRUTE, success=False)


def anna_typos(ctx: Context) -> tuple[Site, int]:
    """The near miss: a.lindqvist's failed sign-ins at the Berlin office before her Tuesday one."""
    site = OFFICE["ber"].nat_sites[0]
    for ts in ANNA_CONSOLE_FAILS:
        console_login(ctx, ts, ANNA, site, success=False)
    return site, ANNA_CONSOLE_SUCCESS


# The break-glass background's scripted days: (e-mail, day) -> the planted prelude.
NEAR_MISS_DAYS: dict[tuple[str, int], ScriptedDay] = {(ANNA.email, 1): anna_typos}
