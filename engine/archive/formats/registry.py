"""The registry of input formats: each format module registers its `Format` when imported.

A format says where it goes in `auto` detection (`priority`: tried lowest first; the one format
without a priority is the fallback, `json`, chosen when nothing more specific fits) and where it
is listed among the `--format` choices (`listing`). `engine.archive.formats` imports every module of
its package, so adding a format is adding one module that calls `register`.
"""

from __future__ import annotations

from engine.archive.formats.mapping import Format

_REGISTERED: dict[str, Format] = {}


def register(format: Format) -> Format:
    """Add `format` (a format module's `FORMAT = register(Format(...))`)."""
    if format.name in _REGISTERED or format.name == "auto":
        raise ValueError(f"a format named {format.name!r} is already registered")
    _REGISTERED[format.name] = format
    return format


def registered() -> list[Format]:
    """Every format, in the order the `--format` choices list them."""
    return sorted(_REGISTERED.values(), key=lambda format: (format.listing, format.name))


def format_named(name: str) -> Format:
    """The format called `name` (a `KeyError` for an unknown one: check names first)."""
    return _REGISTERED[name]


def detection_order() -> list[Format]:
    """The formats `auto` tries, first match wins (the fallback is not among them)."""
    detected = [format for format in _REGISTERED.values() if format.priority is not None]
    return sorted(detected, key=lambda format: (format.priority, format.name))


def fallback() -> Format:
    """The format of a record no other format recognises (the one without a priority)."""
    (chosen,) = [format for format in _REGISTERED.values() if format.priority is None]
    return chosen
