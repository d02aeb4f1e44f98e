"""Case severities: their names, their order, and the integer a message template shows.

`{{severity}}` in a message template is the integer of SPEC §3.18 (info=0 ... critical=4), which is
also the order in which the signal lifecycle raises a signal's severity (never lowers it).
"""

from __future__ import annotations

from typing import Literal, get_args

#: A case's severity (`status`), as Datadog names them.
Severity = Literal["info", "low", "medium", "high", "critical"]

#: Every severity, lowest first.
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

#: Every severity, highest first (how tables and pages list them).
SEVERITIES_DESCENDING: tuple[Severity, ...] = SEVERITIES[::-1]

#: A severity's rank: its SPEC §3.18 integer (info=0 ... critical=4).
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


def severity_name(rank: int) -> Severity:
    """The severity of a rank (`3` -> `high`)."""
    return SEVERITIES[rank]
