"""The state one seeded week shares: the random stream, the IPs in use and the events so far.

Every source and scenario takes the `Context` and draws from `ctx.rng` in turn, so the order in
which `week` calls them fixes the output. `Context.events` sorts what was emitted and gives each
event its id. `ri` and `pick` replace `randint` and `choice` (one `random()` call each); every
module uses them, so the sequence of draws for a seed stays the same.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from random import Random
from typing import Any, TypeVar

from .catalog.geo import ISP_BY_COUNTRY, Place, Site
from .catalog.people import FIXED_IPS
from .clock import WEEK_END_MS, WEEK_START_MS

Event = dict[str, Any]
_T = TypeVar("_T")

_ID_MULTIPLIER = 0x9E3779B97F4A7C15F39CC060  # odd, so index -> id is a bijection mod 2**96


def ri(rng: Random, low: int, high: int) -> int:
    """A uniform integer in [low, high] (a faster `Random.randint`)."""
    return low + int(rng.random() * (high - low + 1))


def pick(rng: Random, items: Sequence[_T]) -> _T:
    """A uniform element of `items` (a faster `Random.choice`)."""
    return items[int(rng.random() * len(items))]


class Context:
    """The random stream, the IPs in use and the emitted events of one `generate` call."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = Random(seed)
        self._emitted: list[tuple[int, int, Event]] = []
        self._used_ips: set[str] = set(FIXED_IPS)

    def emit(self, event: Event) -> None:
        """Keep `event` if it falls in the week (its id is set by `events`)."""
        ts = event["timestamp"]
        if WEEK_START_MS <= ts < WEEK_END_MS:
            self._emitted.append((ts, len(self._emitted), event))

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
        """A random IP under one of `prefixes` (`a.b` or `a`), never one already in use."""
        while True:
            ip = f"{pick(self.rng, prefixes)}.{ri(self.rng, 0, 255)}.{ri(self.rng, 1, 254)}"
            if ip not in self._used_ips:
                self._used_ips.add(ip)
                return ip

    def home_site(self, place: Place) -> Site:
        """A new residential line of the incumbent ISP of `place`'s country."""
        asn, org, isp, domain, prefixes = ISP_BY_COUNTRY[place.iso]
        return Site(self.public_ip(prefixes), place, asn, org, isp, domain)

    def events(self) -> list[Event]:
        """The emitted events sorted by (timestamp, emission order), with their ids; empties the
        context."""
        emitted, self._emitted = self._emitted, []
        emitted.sort(key=lambda item: (item[0], item[1]))
        seed_key = _seed_key(self.seed)
        out: list[Event] = []
        for index, (ts, _, event) in enumerate(emitted):
            event["id"] = _event_id(seed_key, index, ts)
            out.append(event)
        return out


def _event_id(seed_key: int, index: int, ts: int) -> str:
    """A Datadog-style id: 6 bytes of big-endian timestamp + 12 bytes mixed from seed and index.

    `(index * odd + key) mod 2**96` is injective in `index`, so ids are unique within a run.
    """
    mixed = (index * _ID_MULTIPLIER + seed_key) % (1 << 96)
    return base64.urlsafe_b64encode(ts.to_bytes(6, "big") + mixed.to_bytes(12, "big")).decode()


def _seed_key(seed: int) -> int:
    """The per-seed key mixed into event ids."""
    digest = hashlib.blake2b(f"hindsight-sample:{seed}".encode(), digest_size=12).digest()
    return int.from_bytes(digest, "big")
