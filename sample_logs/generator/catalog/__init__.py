"""The fixed data of the sample week: places, sites, agents, people, AWS, Okta and the shop."""

from __future__ import annotations


def words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of `text` (compact data tables)."""
    return tuple(text.split())
