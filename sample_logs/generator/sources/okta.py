"""Okta System Log events, as Datadog's Okta integration stores them, and the employees' sign-ins.

`okta_event` shapes one event (raw System Log keys plus Datadog's standard attributes);
`okta_login` is a sign-in (failed attempts, password, MFA); `okta_background` is the week of
every employee.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..catalog.agents import Agent
from ..catalog.geo import Place, Site
from ..catalog.ids import ALNUM, app_token
from ..catalog.okta import (
    OKTA_APPS,
    OKTA_CATEGORY,
    OKTA_DISPLAY,
    OKTA_LEGACY,
    OKTA_LEGACY_FAILED,
    OKTA_ORG,
    OKTA_URI,
    OktaApp,
)
from ..catalog.people import Person
from ..clock import HOUR_MS, iso_millis, local_midnight
from ..context import Context, Event, pick, ri
from ..population import Population


def okta_event(
    ctx: Context,
    ts: int,
    person: Person,
    site: Site,
    event_type: str,
    *,
    success: bool = True,
    reason: str | None = None,
    agent: Agent | None = None,
    app: OktaApp | None = None,
    session: str = "",
    factor: str | None = None,
    threat: bool = False,
) -> None:
    """Emit one Okta System Log event, as Datadog's Okta pipeline stores it."""
    agent = agent or person.agent
    result = "SUCCESS" if success else "FAILURE"
    display = OKTA_DISPLAY[event_type]
    request_id = ctx.token(ALNUM, 27)
    place = site.place
    attributes: Event = {
        "uuid": ctx.uuid(),
        "published": iso_millis(ts),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO" if success else "WARN",
        "displayMessage": display,
        "legacyEventType": OKTA_LEGACY.get(event_type)
        if success
        else OKTA_LEGACY_FAILED.get(event_type),
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
            "geographicalContext": _geographical_context(place),
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
            "externalSessionId": session or ("trs" + ctx.token(ALNUM, 22)),
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
                "requestUri": OKTA_URI[event_type],
                "threatSuspected": "true" if threat else "false",
                "url": OKTA_URI[event_type] + "?",
            }
        },
        "transaction": {"type": "WEB", "id": request_id, "detail": {}},
        "request": {
            "ipChain": [
                {
                    "ip": site.ip,
                    "geographicalContext": _geographical_context(place),
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
            "category": OKTA_CATEGORY[event_type],
        },
        "usr": {"id": person.okta_id, "email": person.email, "name": person.display},
        "network": {"client": {"ip": site.ip, "geoip": site.geoip()}},
        "http": {"useragent": agent.raw, "useragent_details": agent.details()},
    }
    if factor is not None:
        attributes["authenticationContext"]["credentialType"] = factor
    if app is not None:
        label, name, _ = app
        attributes["target"] = [
            {
                "id": "0oa" + app_token(name),
                "type": "AppInstance",
                "alternateId": label,
                "displayName": label,
                "detailEntry": {"signOnModeType": "SAML_2_0"},
            },
            {
                "id": "0ua" + app_token(name + person.email),
                "type": "AppUser",
                "alternateId": person.email,
                "displayName": person.display,
                "detailEntry": None,
            },
        ]
        uri = f"/app/{name}/exk{app_token(name)}/sso/saml"
        attributes["debugContext"]["debugData"]["requestUri"] = uri
        attributes["debugContext"]["debugData"]["url"] = uri + "?"
    message = display if success else f"{display} ({reason})"
    ctx.emit(
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


def _geographical_context(place: Place) -> Event:
    """Okta's `geographicalContext` of a place."""
    return {
        "city": place.city,
        "state": place.region,
        "country": place.country,
        "postalCode": place.postal,
        "geolocation": {"lat": place.lat, "lon": place.lon},
    }


def failed_login(
    ctx: Context,
    ts: int,
    person: Person,
    site: Site,
    *,
    agent: Agent | None = None,
    threat: bool = False,
) -> None:
    """A `user.session.start` failure with a wrong password."""
    okta_event(
        ctx,
        ts,
        person,
        site,
        "user.session.start",
        success=False,
        reason="INVALID_CREDENTIALS",
        agent=agent,
        threat=threat,
    )


def sso(
    ctx: Context,
    ts: int,
    person: Person,
    site: Site,
    app: OktaApp,
    session: str,
    *,
    agent: Agent | None = None,
) -> None:
    """A single sign-on to `app` in an Okta `session`."""
    okta_event(
        ctx, ts, person, site, "user.authentication.sso", agent=agent, app=app, session=session
    )


def new_session(ctx: Context) -> str:
    """A random Okta session id (`externalSessionId`)."""
    return "102" + ctx.token(ALNUM, 22)


def okta_login(
    ctx: Context,
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
    rng = ctx.rng
    for _ in range(failures):
        failed_login(ctx, ts, person, site, agent=agent)
        ts += ri(rng, 9_000, 40_000)
    session = new_session(ctx)
    okta_event(ctx, ts, person, site, "user.session.start", agent=agent, session=session)
    if planted:
        ts += 17_000
        factor = "OKTA_VERIFY_PUSH"
    else:
        ts += ri(rng, 4_000, 25_000)
        factor = rng.choices(("OKTA_VERIFY_PUSH", "TOTP", "WEBAUTHN"), (70, 20, 10))[0]
        if factor == "OKTA_VERIFY_PUSH" and rng.random() < 0.02:
            okta_event(
                ctx,
                ts,
                person,
                site,
                "user.mfa.okta_verify.deny_push",
                success=False,
                reason="INVALID_CREDENTIALS",
                agent=agent,
                session=session,
            )
            ts += ri(rng, 8_000, 30_000)
    okta_event(
        ctx,
        ts,
        person,
        site,
        "user.authentication.auth_via_mfa",
        agent=agent,
        session=session,
        factor=factor,
    )
    return ts, session


def planted_sign_in(
    ctx: Context,
    ts: int,
    person: Person,
    site: Site,
    ssos: Sequence[tuple[int, OktaApp]] = (),
    *,
    agent: Agent | None = None,
) -> None:
    """A planted login (fixed timings, Okta Verify push), then SSOs to apps at fixed times."""
    _, session = okta_login(ctx, ts, person, site, agent=agent, planted=True)
    for sso_ts, app in ssos:
        sso(ctx, sso_ts, person, site, app, session, agent=agent)


def okta_background(ctx: Context, population: Population) -> None:
    """The employees' working days: a login (a few typos, MFA), app SSOs, logouts."""
    rng = ctx.rng
    apps = OKTA_APPS
    app_weights = [w for _, _, w in apps]
    for person in population.people:
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
            tz_hours, sites = person.work_sites(day)
            remote = rng.random() < (0.9 if weekend else 0.35)
            site = sites[0] if remote or len(sites) == 1 else pick(rng, sites[1:])
            midnight = local_midnight(day, tz_hours)
            if weekend:
                start_h = min(max(rng.gauss(11.0, 2.0), 8.0), 20.0)
                length_h = rng.uniform(0.3, 2.0)
            else:
                start_h = min(max(rng.gauss(8.6, 0.9), 6.5), 11.5)
                length_h = min(max(rng.gauss(8.8, 1.0), 5.0), 11.0)
            start = midnight + int(start_h * HOUR_MS) + ri(rng, 0, 59_999)
            end = start + int(length_h * HOUR_MS)
            if person.quiet(start):
                continue
            roll = rng.random()
            failures = 0 if roll > 0.06 else (1 if roll > 0.012 else 2)
            if roll < 0.002:
                failures = 3
            login_end, session = okta_login(ctx, start, person, site, failures=failures)
            # most app sessions outlive a day, so only a few SSOs show up per day
            sso_count = ri(rng, 0, 1) if weekend else ri(rng, 1, 3)
            for _ in range(sso_count):
                ts = ri(rng, login_end + 30_000, max(end, login_end + 60_000))
                if person.quiet(ts):
                    continue
                app = rng.choices(apps, app_weights)[0]
                sso(ctx, ts, person, site, app, session)
            if not weekend and rng.random() < 0.15:
                relog = midnight + int(rng.uniform(12.5, 14.5) * HOUR_MS)
                if relog > login_end and not person.quiet(relog):
                    okta_login(ctx, relog, person, site, failures=int(rng.random() < 0.03))
            if rng.random() < 0.45 and not person.quiet(end):
                okta_event(ctx, end, person, site, "user.session.end", session=session)
            if rng.random() < 0.006 and not person.quiet(login_end + 120_000):
                okta_event(ctx, login_end + 120_000, person, site, "user.account.update_password")
            if rng.random() < 0.003 and not person.quiet(login_end + 300_000):
                okta_event(
                    ctx,
                    login_end + 300_000,
                    person,
                    site,
                    "user.mfa.factor.activate",
                    factor="OKTA_VERIFY_PUSH",
                )
