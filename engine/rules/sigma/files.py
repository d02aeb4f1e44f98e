"""Which files are Sigma rules: `.yml` / `.yaml` files, and those of a folder that hold a rule.

Kept apart from the conversion (and its pySigma import) so the rule loader can tell Sigma files
from JSON rules cheaply.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

SIGMA_SUFFIXES: tuple[str, ...] = (".yml", ".yaml")
#: A top-level key only Sigma rules, correlations and filters have.
RULE_KEY = re.compile(r"^(detection|correlation|filter):", re.MULTILINE)


def is_sigma_file(path: str | os.PathLike[str]) -> bool:
    """A `.yml` / `.yaml` file: read as Sigma rules."""
    return Path(path).suffix.lower() in SIGMA_SUFFIXES


def sigma_files(path: str | os.PathLike[str]) -> list[Path]:
    """The Sigma files of a file or folder: a `.yml` file named, or the `.yml` files of a folder
    (recursively, sorted) that hold a Sigma rule, correlation or filter (a top-level `detection:`,
    `correlation:` or `filter:` key), so other YAML beside rules (fixtures, configuration) is
    left alone."""
    root = Path(path)
    if root.is_dir():
        found = (p for p in root.rglob("*") if p.is_file() and is_sigma_file(p))
        return sorted(p for p in found if _holds_rule(p))
    return [root] if is_sigma_file(root) else []


def _holds_rule(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # listed, so that reading it reports why it cannot be read
    return RULE_KEY.search(text) is not None
