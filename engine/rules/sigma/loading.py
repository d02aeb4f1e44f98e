"""Sigma files as the rule loader reads them (`engine.load_rules`, `hindsight run`).

Kept apart from the conversion so that loading JSON rules does not import pySigma: it is
imported only when a Sigma file is found.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

from engine.core.errors import RuleValidationError
from engine.rules.models import Rule
from engine.rules.sigma.files import sigma_files

__all__ = ["SigmaEntry", "sigma_entries"]

log = logging.getLogger("hindsight.sigma")


class SigmaEntry(NamedTuple):
    """One Sigma rule as the loader lists it (the fields of its `RuleEntry`)."""

    file: Path
    source: str
    rule: Rule | None
    error: RuleValidationError | None


def sigma_entries(path: str | os.PathLike[str], pipeline: Any = None) -> list[SigmaEntry]:
    """Every Sigma rule of a file or folder that yields a rule of its own (a rule only a
    correlation uses does not): loaded, or refused with the converter's reason. A note on a
    converted rule (a longer window, a method to come) is logged as a warning."""
    files = sigma_files(path)
    if not files:
        return []
    from engine.rules.sigma.convert import convert_sigma  # noqa: PLC0415 - imports pySigma

    entries: list[SigmaEntry] = []
    for conversion in convert_sigma(files, pipeline):
        if conversion.loaded is not None and not conversion.output:
            continue
        if conversion.loaded is None:
            reason = f"cannot convert this Sigma rule: {conversion.error}"
            error = RuleValidationError([("", reason)], source=conversion.source)
            entries.append(SigmaEntry(conversion.file, conversion.source, None, error))
            continue
        for note in conversion.notes:
            log.warning("Sigma rule %s: %s", conversion.source, note)
        entries.append(SigmaEntry(conversion.file, conversion.source, conversion.loaded, None))
    return entries
