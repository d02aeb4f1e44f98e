"""CloudTrail background of the people: engineers through IAM Identity Center, and the two
break-glass IAM users.

About a quarter of the employees have an SSO permission set; on some days they open a console
or CLI session and make a few calls (mostly reads; denied writes for read-only roles). The
break-glass users sign in to the console with MFA now and then and look around.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from ..catalog.agents import UA_CLI_MAC, UA_CONSOLE
from ..catalog.aws import (
    AWS_ACCOUNT,
    ENGINEER_READS,
    ENGINEER_WRITES,
    SSO_ROLE_IDS,
    SSO_ROLE_PATH,
    SSO_ROLE_READONLY,
    access_denied,
    assumed_role_arn,
    cli_command,
)
from ..catalog.geo import Site
from ..catalog.people import BREAK_GLASS, Person
from ..clock import HOUR_MS, iso_seconds, local_midnight
from ..context import Context, Event, pick, ri
from ..population import Population
from .cloudtrail import (
    AWS_INTERNAL,
    api_caller,
    cloudtrail,
    console_login,
    iam_identity,
    read_params,
    role_identity,
    sso_console_login,
    temp_key,
)

ScriptedDay = Callable[[Context], tuple[Site, int]]
"""Plants what precedes a break-glass user's sign-in on a scripted day (a planted near miss);
returns the site and time of the successful sign-in."""


def engineers(ctx: Context, population: Population) -> None:
    """Engineers through IAM Identity Center: console sessions and CLI sessions."""
    rng = ctx.rng
    for person in population.people:
        if person.sso_role is None:
            continue
        role = person.sso_role
        for day in range(7):
            weekend = day >= 5
            if rng.random() > (0.05 if weekend else 0.5):
                continue
            tz_hours, sites = person.work_sites(day)
            site = pick(rng, sites)
            t = local_midnight(day, tz_hours) + int(rng.uniform(9.5, 17.5) * HOUR_MS)
            if person.quiet(t) or day in person.planted_aws_days:
                continue
            engineer_session(ctx, person, role, site, t, console=rng.random() < 0.6)


def sso_identity(ctx: Context, person: Person, role: str, t: int) -> Callable[[], Event]:
    """A new IAM Identity Center session of `person` in `role` from `t`: its identity factory."""
    return partial(
        role_identity, role, SSO_ROLE_IDS[role], person.email, temp_key(ctx), t, path=SSO_ROLE_PATH
    )


def engineer_session(
    ctx: Context, person: Person, role: str, site: Site, t: int, *, console: bool
) -> None:
    """A console sign-in or CLI `sso login`, then 3 to 15 calls."""
    rng = ctx.rng
    identity = sso_identity(ctx, person, role, t)
    if console:
        sso_console_login(ctx, t, identity(), person.agent, site)
        agent = UA_CONSOLE
    else:
        cloudtrail(
            ctx,
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
    call = api_caller(ctx, identity, site)
    for _ in range(ri(rng, 3, 15)):
        t += ri(rng, 1_000, 120_000)
        if rng.random() < 0.93:
            source, name = pick(rng, ENGINEER_READS)
            request, read_only = read_params(ctx, name), True
        else:
            source, name, request = pick(rng, ENGINEER_WRITES)
            read_only = False
        error = None
        if (role == SSO_ROLE_READONLY and not read_only) or rng.random() < 0.025:
            error = access_denied(source, name, assumed_role_arn(role, person.email))
        ua = agent or UA_CLI_MAC.format(command=cli_command(source, name))
        ip = site.ip if agent == "" or rng.random() < 0.7 else AWS_INTERNAL
        call(
            t, source, name, request, user_agent=ua, source_ip=ip, read_only=read_only, error=error
        )


def break_glass_users(ctx: Context, scripted: Mapping[tuple[str, int], ScriptedDay]) -> None:
    """Legacy IAM users (break-glass admins): occasional console logins with MFA.

    `scripted` maps (e-mail, day) to the planted prelude of that day's sign-in.
    """
    rng = ctx.rng
    for person in BREAK_GLASS:
        for day in (0, 1, 2, 3, 4):
            script = scripted.get((person.email, day))
            if rng.random() < 0.5 and script is None:
                continue
            tz_hours, sites = person.work_sites(day)
            site = pick(rng, sites)
            t = local_midnight(day, tz_hours) + int(rng.uniform(10.0, 17.0) * HOUR_MS)
            if script is not None:
                site, t = script(ctx)
            console_login(ctx, t, person, site, success=True)
            _console_reads(ctx, person, site, t)


def _console_reads(ctx: Context, person: Person, site: Site, t: int) -> None:
    """A break-glass user's console session after signing in at `t`: 4 to 25 reads."""
    rng = ctx.rng
    user = person.iam_user
    assert user is not None
    key, created = temp_key(ctx), iso_seconds(t)

    def identity() -> Event:
        return iam_identity(
            person.iam_user_id,
            user,
            key,
            sessionContext={
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": {"creationDate": created, "mfaAuthenticated": "true"},
            },
        )

    call = api_caller(ctx, identity, site, UA_CONSOLE)
    for _ in range(ri(rng, 4, 25)):
        t += ri(rng, 2_000, 90_000)
        source, name = pick(rng, ENGINEER_READS)
        request = read_params(ctx, name)
        ip = site.ip if rng.random() < 0.6 else AWS_INTERNAL
        call(t, source, name, request, source_ip=ip)
