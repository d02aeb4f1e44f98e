"""`evtx-json`: Windows event log records as EVTX-to-JSON tools write them.

One object per event, `{"Event": {"System": {...}, "EventData": {...}}}` (evtx_dump and the
`evtx` Python bindings; the Sigma regression data), one per line, in a JSON array, or several
pretty-printed objects concatenated in one file. The mapping:

- `timestamp` = `System.TimeCreated.#attributes.SystemTime` (also `@SystemTime` or `SystemTime`,
  as xmltodict-style converters write the XML attribute);
- `host` = `System.Computer`; `service` = `System.Channel`; `status` from `System.Level`
  (`LEVEL_STATUS`: 1 critical, 2 error, 3 warning, 4 and 0 info, 5 debug);
- `message` = `RenderingInfo.Message` when the converter rendered it;
- attributes: every `EventData` field at the top level (`@Image`, `@CommandLine`, as Sigma names
  them and as flat exports such as the OTRF captures hold them); an `EventData.Data` list of
  `{"#attributes": {"Name": n}, "#text": v}` items becomes `n: v`; for events that carry
  `UserData` instead, the fields of its one child element (`UserData.<Element>.*`);
- from `System`, the fields Sigma's Windows log sources name (`system_fields`), at the top level:
  `@EventID` (the number, also when the converter wrote `{"#text": 4624, ...}`), `@Channel`,
  `@Computer`, `@Provider_Name`, `@Security_UserID`, `@EventRecordID`; they win over an EventData
  field of the same name, which is then kept under `@EventData.<name>`;
- the whole `System` object is kept under `@System` (`@System.Execution.#attributes.ProcessID`),
  so nothing of the record is lost.
"""

from __future__ import annotations

from typing import Any

from engine.archive.formats.mapping import EventFields, Format
from engine.archive.formats.registry import register
from engine.core.errors import EventError
from engine.core.json import json_type

TIMESTAMP_KEYS: tuple[str, ...] = ("Event.System.TimeCreated.#attributes.SystemTime",)
ATTRIBUTES = "#attributes"
TEXT = "#text"

#: `System.Level` -> status (Windows event levels; 0 is "LogAlways").
LEVEL_STATUS: dict[int, str] = {0: "info", 1: "critical", 2: "error", 3: "warning", 4: "info"}
VERBOSE_STATUS = "debug"


def looks_like(record: dict[str, Any]) -> bool:
    """An EVTX JSON record: an `Event` object holding a `System` object."""
    event = record.get("Event")
    return isinstance(event, dict) and isinstance(event.get("System"), dict)


def fields(record: dict[str, Any]) -> EventFields:
    """Map one EVTX JSON record (see module doc)."""
    event = record.get("Event")
    if not isinstance(event, dict):
        raise EventError(f"an evtx-json record needs an Event object, not {json_type(event)}")
    system = event.get("System")
    if not isinstance(system, dict):
        raise EventError(f"Event.System must be an object, not {json_type(system)}")
    attributes = _data_fields(event)
    for name, value in system_fields(system).items():
        if name in attributes:
            attributes.setdefault("EventData", {})
            if isinstance(attributes["EventData"], dict):
                attributes["EventData"].setdefault(name, attributes[name])
        attributes[name] = value
    attributes["System"] = system
    return {
        "timestamp": _system_time(system.get("TimeCreated")),
        "host": _scalar(system.get("Computer")),
        "service": _scalar(system.get("Channel")),
        "status": _status(system.get("Level")),
        "message": _message(event.get("RenderingInfo")),
        "attributes": attributes,
    }


def system_fields(system: dict[str, Any]) -> dict[str, Any]:
    """The `System` values Sigma's Windows log sources name, by their Sigma names."""
    found = {
        "EventID": _scalar(system.get("EventID")),
        "Channel": _scalar(system.get("Channel")),
        "Computer": _scalar(system.get("Computer")),
        "Provider_Name": _xml_attribute(system.get("Provider"), "Name"),
        "Security_UserID": _xml_attribute(system.get("Security"), "UserID"),
        "EventRecordID": _scalar(system.get("EventRecordID")),
    }
    return {name: value for name, value in found.items() if value is not None}


def _data_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The event's payload fields: `EventData`, else the child element of `UserData`."""
    data = event.get("EventData")
    if data is None:
        user_data = event.get("UserData")
        if isinstance(user_data, dict):
            children = [value for key, value in user_data.items() if key != ATTRIBUTES]
            data = children[0] if len(children) == 1 else user_data
    if data is None:
        return {}
    if not isinstance(data, dict):
        return {"EventData": data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key == ATTRIBUTES:
            continue
        if key == "Data" and _named_items(value):
            for item in value if isinstance(value, list) else [value]:
                flat.setdefault(item[ATTRIBUTES]["Name"], item.get(TEXT))
            continue
        flat[key] = value
    return flat


def _named_items(value: Any) -> bool:
    """`Data` written as `{"#attributes": {"Name": ...}, "#text": ...}` item(s)."""
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(
        isinstance(item, dict)
        and isinstance(item.get(ATTRIBUTES), dict)
        and isinstance(item[ATTRIBUTES].get("Name"), str)
        for item in items
    )


def _scalar(value: Any) -> Any:
    """A value, or the `#text` of an element written with XML attributes."""
    if isinstance(value, dict):
        return value.get(TEXT)
    return value


def _xml_attribute(element: Any, name: str) -> Any:
    """An XML attribute of an element: `#attributes.<name>` (or `@<name>`, xmltodict)."""
    if not isinstance(element, dict):
        return None
    attributes = element.get(ATTRIBUTES)
    if isinstance(attributes, dict) and name in attributes:
        return attributes[name]
    return element.get("@" + name, element.get(name))


def _system_time(created: Any) -> Any:
    if isinstance(created, str):
        return created
    return _xml_attribute(created, "SystemTime")


def _status(level: Any) -> str | None:
    level = _scalar(level)
    if isinstance(level, bool) or not isinstance(level, int):
        return None
    return LEVEL_STATUS.get(level, VERBOSE_STATUS)


def _message(rendering: Any) -> Any:
    if isinstance(rendering, dict):
        message = rendering.get("Message")
        return message if isinstance(message, str) else None
    return None


FORMAT = register(
    Format(
        name="evtx-json",
        fields=fields,
        looks_like=looks_like,
        timestamp_keys=TIMESTAMP_KEYS,
        priority=60,
        listing=6,
    )
)
