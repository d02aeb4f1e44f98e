"""The searchable form of a histsignal or signal: the log event `filter[query]` is matched against.

Stored beside each document (a few KB instead of tens), so a filtered list parses only these:
`status` is the severity, `service` the first service, `host`, `source` (the value of the
`source:` tag), `message`, `tags`, and as attributes the merged attributes of the samples (values
that differ across them become arrays, as in real signals, SPEC §4.2) overlaid with the document's
inner attribute map less its raw `samples` list. So `status:high`, `source:auth`,
`@workflow.rule.name:foo`, `@usr.id:alice`, `env:prod` and free text work as they do on logs.
"""

from __future__ import annotations

from typing import Any


def searchable(document: dict[str, Any], *, timestamp_ms: int) -> dict[str, Any]:
    """The log event a histsignal's (or signal's) filter query is matched against."""
    outer: dict[str, Any] = document.get("attributes", {})
    inner: dict[str, Any] = outer.get("attributes") or {}
    tags = [tag for tag in outer.get("tags") or [] if isinstance(tag, str)]
    services = outer.get("service")
    if isinstance(services, list):
        services = next((s for s in services if isinstance(s, str)), None)
    source = next((tag.split(":", 1)[1] for tag in tags if tag.startswith("source:")), None)
    return {
        "id": document.get("id"),
        "timestamp": timestamp_ms,
        "status": outer.get("status"),
        "service": services if isinstance(services, str) else None,
        "host": outer.get("host") if isinstance(outer.get("host"), str) else None,
        "source": source,
        "message": outer.get("message") if isinstance(outer.get("message"), str) else None,
        "tags": tags,
        "attributes": {
            **merged_sample_attributes(inner),
            **{key: value for key, value in inner.items() if key != "samples"},
        },
    }


def merged_sample_attributes(inner: dict[str, Any]) -> dict[str, Any]:
    """The samples' log attributes merged: equal values kept, differing ones listed."""
    merged: dict[str, Any] = {}
    for sample in inner.get("samples") or []:
        custom = sample.get("content", {}).get("custom") if isinstance(sample, dict) else None
        if isinstance(custom, dict):
            _merge(merged, custom)
    return merged


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value)
        elif into[key] != value:
            values = into[key] if isinstance(into[key], list) else [into[key]]
            for item in value if isinstance(value, list) else [value]:
                if item not in values:
                    values.append(item)
            into[key] = values
