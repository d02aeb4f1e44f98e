"""`cloudtrail`: raw AWS CloudTrail records, with Datadog's CloudTrail pipeline remap applied.

Accepted layouts: S3 delivery files `{"Records": [...]}` (usually `.json.gz`), JSON arrays of
records (the Stratus Red Team detonation logs) and NDJSON of records (Logstash output such as the
OTRF `ec2_proxy_s3_exfiltration` capture, whose records carry `@timestamp` instead of `eventTime`).

Datadog's out-of-the-box CloudTrail rules query the standard attributes Datadog's CloudTrail log
pipeline adds, not the raw names, so the same remap is applied here (docs/ingest.md lists it):

- `source` and `service` = `cloudtrail`; `timestamp` = `eventTime` (else `@timestamp`);
  `id` = `eventID`; no `host`; `status` = `error` when `errorCode` is set, else `info`;
  tags `account:<recipientAccountId>` and `region:<awsRegion>`;
- `@evt.name` = `eventName`; `@evt.outcome` = `failure` when `errorCode` is set, else `success`
  (for `ConsoleLogin`: `responseElements.ConsoleLogin` lower-cased);
- `@http.useragent` = `userAgent`; `@network.client.ip` = `sourceIPAddress`, and
  `@network.client.is_private_network_ip` when that is an IP address (`PRIVATE_NETWORKS`);
- `@error.kind` / `@error.message` = `errorCode` / `errorMessage`; `@level` = `Error` when
  `errorCode` is set, else `Info`;
- `@userIdentity.assumed_role` = the role of an `assumed-role` ARN; `@userIdentity.session_name`
  = the last segment of an `assumed-role`, `user` or `federated-user` ARN.

The whole record is kept as attributes under its own names (`@eventSource`,
`@userIdentity.arn`, `@requestParameters...`); a derived attribute never overwrites a value the
record already has.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from engine.archive.formats.mapping import EventFields, Format, first_present
from engine.archive.formats.registry import register

TIMESTAMP_KEYS: tuple[str, ...] = ("eventTime", "@timestamp")
SOURCE = "cloudtrail"
_RECORD_MARKERS = ("eventTime", "@timestamp", "eventID", "eventVersion")


def looks_like(record: dict[str, Any]) -> bool:
    """A CloudTrail file (`Records` list) or record (`eventSource` + `eventName` + a marker)."""
    if isinstance(record.get("Records"), list):
        return True
    return (
        "eventSource" in record
        and "eventName" in record
        and any(key in record for key in _RECORD_MARKERS)
    )


def fields(record: dict[str, Any]) -> EventFields:
    """Map one CloudTrail record and apply the Datadog remap (see module doc)."""
    _, timestamp = first_present(record, TIMESTAMP_KEYS)
    failed = _present(record.get("errorCode"))
    return {
        "timestamp": timestamp,
        "id": record.get("eventID"),
        "host": None,
        "service": SOURCE,
        "source": SOURCE,
        "status": "error" if failed else "info",
        "tags": _tags(record),
        "attributes": remap(record),
    }


def remap(record: dict[str, Any]) -> dict[str, Any]:
    """The record's attributes plus the standard attributes of Datadog's CloudTrail pipeline."""
    attributes = dict(record)
    error_code = record.get("errorCode")
    failed = _present(error_code)
    _put(attributes, ("evt", "name"), record.get("eventName"))
    _put(attributes, ("evt", "outcome"), _outcome(record, failed=failed))
    _put(attributes, ("http", "useragent"), record.get("userAgent"))
    address = record.get("sourceIPAddress")
    _put(attributes, ("network", "client", "ip"), address)
    _put(attributes, ("network", "client", "is_private_network_ip"), _is_private(address))
    if failed:
        _put(attributes, ("error", "kind"), error_code)
        _put(attributes, ("error", "message"), record.get("errorMessage"))
    _put(attributes, ("level",), "Error" if failed else "Info")
    identity = record.get("userIdentity")
    if isinstance(identity, dict):
        role, session = _arn_names(identity.get("arn"))
        _put(attributes, ("userIdentity", "assumed_role"), role)
        _put(attributes, ("userIdentity", "session_name"), session)
    return attributes


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _outcome(record: dict[str, Any], *, failed: bool) -> str:
    if record.get("eventName") == "ConsoleLogin":
        response = record.get("responseElements")
        if isinstance(response, dict) and isinstance(response.get("ConsoleLogin"), str):
            return str(response["ConsoleLogin"]).lower()
    return "failure" if failed else "success"


#: Private networks: RFC 1918, shared (RFC 6598), loopback, link-local and IPv6 unique-local.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def _is_private(address: Any) -> bool | None:
    if not isinstance(address, str):
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in network for network in PRIVATE_NETWORKS if network.version == ip.version)


def _arn_names(arn: Any) -> tuple[str | None, str | None]:
    """(assumed role, session name) of an identity ARN; `None` where the ARN has none."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None, None
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None, None
    kind, _, rest = parts[5].partition("/")
    segments = [segment for segment in rest.split("/") if segment]
    if not segments:
        return None, None
    if kind == "assumed-role":
        role = segments[0] if len(segments) > 1 else None
        return role, segments[-1]
    if kind in ("user", "federated-user"):
        return None, segments[-1]
    return None, None


def _put(attributes: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set `value` at a nested `path` unless it is empty or the record already has a value."""
    if value is None or value == "":
        return
    node = attributes
    for key in path[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        elif isinstance(child, dict):
            child = node[key] = dict(child)  # never mutate the caller's nested objects
        else:
            return
        node = child
    node.setdefault(path[-1], value)


def _tags(record: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    account = record.get("recipientAccountId")
    if _present(account):
        tags.append(f"account:{account}")
    region = record.get("awsRegion")
    if _present(region):
        tags.append(f"region:{region}")
    return tags


FORMAT = register(
    Format(
        name="cloudtrail",
        fields=fields,
        looks_like=looks_like,
        timestamp_keys=TIMESTAMP_KEYS,
        priority=10,
        listing=5,
        containers=("Records",),
    )
)
