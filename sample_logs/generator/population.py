"""The seeded population: employees, EC2 instances and shop customers.

Drawn first, so every source works with the same cast: 320 random employees (each office's
headcount) plus the 11 planted actors, 20 instances with instance-profile roles, 5,200 browser or
bot visitors and 2,600 mobile-app clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalog.agents import APP_AGENTS, BOTS, BROWSERS, PHONES, Agent
from .catalog.aws import (
    INSTANCE_ROLES,
    SSO_ROLE_ADMIN,
    SSO_ROLE_ENGINEERING,
    SSO_ROLE_READONLY,
    Instance,
)
from .catalog.ids import ALNUM, HEX
from .catalog.people import FIRST_NAMES, FIXED_PEOPLE, LAST_NAMES, OFFICES, Person
from .catalog.shop import CUSTOMER_FIRST_OCTETS
from .context import Context, pick, ri

WEB_CLIENTS = 5200
APP_CLIENTS = 2600


@dataclass(slots=True)
class Population:
    """Who acts during the week (random employees first, then the planted actors)."""

    people: list[Person] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    web_clients: list[tuple[str, Agent]] = field(default_factory=list)
    app_clients: list[tuple[str, Agent]] = field(default_factory=list)


def build_population(ctx: Context) -> Population:
    """Draw the week's employees, instances and customers."""
    population = Population()
    _employees(ctx, population.people)
    _instances(ctx, population.instances)
    _customers(ctx, population)
    return population


def _employees(ctx: Context, people: list[Person]) -> None:
    """Each office's headcount of random employees, then the planted actors."""
    rng = ctx.rng
    taken = {(p.first, p.last) for p in FIXED_PEOPLE}
    names = sorted(
        {(f, last) for f in FIRST_NAMES for last in LAST_NAMES if (f, last) not in taken}
    )
    rng.shuffle(names)
    for office in OFFICES:
        for _ in range(office.headcount):
            first, last = names.pop()
            agent = pick(rng, BROWSERS) if rng.random() < 0.9 else pick(rng, PHONES)
            # AWS access through IAM Identity Center for about a quarter of the staff.
            roll = rng.random()
            role = None
            if roll < 0.02:
                role = SSO_ROLE_ADMIN
            elif roll < 0.20:
                role = SSO_ROLE_ENGINEERING
            elif roll < 0.26:
                role = SSO_ROLE_READONLY
            home = ctx.home_site(pick(rng, office.homes))
            okta_id = "00u" + ctx.token(ALNUM, 17)
            people.append(Person(first, last, office, home, okta_id, agent, sso_role=role))
    people.extend(FIXED_PEOPLE)


def _instances(ctx: Context, instances: list[Instance]) -> None:
    """EC2 instances with instance-profile roles (their CloudTrail calls carry host:i-...)."""
    rng = ctx.rng
    for role, role_id, prefix, count in INSTANCE_ROLES:
        for n in range(1, count + 1):
            instance_id = "i-0" + ctx.token(HEX, 16)
            private_ip = f"10.20.{ri(rng, 1, 60)}.{ri(rng, 4, 250)}"
            instances.append(Instance(instance_id, role, role_id, private_ip, f"{prefix}-{n:02d}"))


def _customers(ctx: Context, population: Population) -> None:
    """Shop customers: browser, phone and bot visitors of web-store, app clients of web-api."""
    rng = ctx.rng
    for _ in range(WEB_CLIENTS):
        ip = ctx.public_ip([f"{pick(rng, CUSTOMER_FIRST_OCTETS)}.{ri(rng, 0, 255)}"])
        roll = rng.random()
        if roll < 0.55:
            agent = pick(rng, BROWSERS)
        elif roll < 0.96:
            agent = pick(rng, PHONES)
        else:
            agent = pick(rng, BOTS)
        population.web_clients.append((ip, agent))
    for _ in range(APP_CLIENTS):
        ip = ctx.public_ip([f"{pick(rng, CUSTOMER_FIRST_OCTETS)}.{ri(rng, 0, 255)}"])
        population.app_clients.append((ip, pick(rng, APP_AGENTS)))
