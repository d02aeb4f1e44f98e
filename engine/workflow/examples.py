"""Rule unit tests as written: the test definitions and their example events.

Tests live beside a rule, in `<rule>.tests.yaml` (a list, or `{tests: [...]}`), or in a `tests`
list inside the rule file. Each test names example events, inline or in a file of any format
`hindsight ingest` reads, and what the rule must do with them (`Expectation`).

Times: an event's timestamp may be relative to the test's `start` (`+60s`, `+5m`, `-2h`, `+250ms`);
an event without a timestamp is at `start`. `{repeat: N, every: 20s, event: {...}}` stands for N
copies of the event, `every` apart, with `{i}` in its text values replaced by 0, 1, 2...
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.archive.event import LogEvent
from engine.archive.formats import FORMATS
from engine.archive.formats.detect import sniff
from engine.archive.formats.mapping import Format, build_event
from engine.archive.formats.records import Rejected, iter_values
from engine.archive.formats.registry import detection_order, fallback, format_named
from engine.archive.sources import expand_sources
from engine.core.errors import EventError, HindsightError, IngestError, TestDefinitionError
from engine.core.times import format_timestamp, parse_time, parse_timestamp
from engine.rules.options import Severity
from engine.rules.problems import pydantic_problems

#: Where relative times count from when a test gives no `start`.
DEFAULT_START = "2024-01-01T00:00:00Z"
#: Suffixes of the tests file beside a rule file (`rules/x.json` -> `rules/x.tests.yaml`).
TEST_SUFFIXES = (".tests.yaml", ".tests.yml")

_RELATIVE = re.compile(r"^([+-])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class _YamlLoader(yaml.SafeLoader):
    """YAML without implicit dates: `2024-03-07T03:00:00Z` stays text, as in JSON logs."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResultExpectation(_Strict):
    """What one result must look like; unset fields are not checked."""

    severity: Severity | None = None
    group_by: dict[str, str | int | float | bool] | None = None
    events_matched: Annotated[int, Field(ge=0)] | None = None
    message_contains: str | None = None

    def checks_results(self) -> bool:
        """Whether any per-result field is set."""
        return any(
            value is not None
            for value in (self.severity, self.group_by, self.events_matched, self.message_contains)
        )


class Expectation(ResultExpectation):
    """A test's expected outcome.

    `fires` and `count` speak of the results as a whole; the per-result fields apply to every
    result; `results` gives one expectation per result (and so their count), in trigger-time
    order, then by group-by values.
    """

    fires: bool | None = None
    count: Annotated[int, Field(ge=0)] | None = None
    results: list[ResultExpectation] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Expectation:
        nothing = self.fires is None and self.count is None and self.results is None
        if nothing and not self.checks_results():
            raise ValueError("expect must say something: fires, count, results, severity...")
        if self.fires is False and ((self.count or 0) > 0 or self.results or self.checks_results()):
            raise ValueError("fires: false contradicts the expected results")
        return self


class RuleTest(_Strict):
    """One test: a name, example events (inline and/or a file) and the expected outcome."""

    name: str = Field(min_length=1)
    rule: str | None = None  # the rule's name, when the rule file holds several rules
    start: str | int = DEFAULT_START
    events: list[dict[str, Any]] = Field(default_factory=list)
    events_file: str | None = None
    format: str = "auto"
    #: Rule files (relative to the tests file) whose results the rule correlates (their own
    #: results are not checked): a signal_correlation rule's inputs.
    with_rules: list[str] = Field(default_factory=list)
    expect: Expectation

    @model_validator(mode="after")
    def _has_events_source(self) -> RuleTest:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {self.format!r})")
        return self


def tests_file_for(rule_file: Path) -> Path | None:
    """The `<rule>.tests.yaml` beside a rule file, if there is one."""
    for suffix in TEST_SUFFIXES:
        candidate = rule_file.with_name(rule_file.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def rule_file_for(tests_file: Path) -> Path:
    """The rule file a `<rule>.tests.yaml` belongs to."""
    name = tests_file.name
    for suffix in TEST_SUFFIXES:
        if name.endswith(suffix):
            return tests_file.with_name(name[: -len(suffix)] + ".json")
    raise TestDefinitionError(f"{tests_file}: a tests file is named <rule>.tests.yaml")


def parse_tests(data: Any, source: str) -> list[RuleTest]:
    """The tests of a decoded tests document (a list, or `{tests: [...]}`)."""
    if isinstance(data, Mapping) and set(data) == {"tests"}:
        data = data["tests"]
    if not isinstance(data, list):
        raise TestDefinitionError(f"{source}: expected a list of tests (or {{tests: [...]}})")
    tests: list[RuleTest] = []
    for position, item in enumerate(data):
        try:
            tests.append(RuleTest.model_validate(item))
        except ValidationError as err:
            found = pydantic_problems(err, RuleTest)
            problems = "; ".join(f"{path or '(root)'}: {message}" for path, message in found)
            raise TestDefinitionError(f"{source}: tests[{position}]: {problems}") from None
    return tests


def read_tests_file(path: Path) -> list[RuleTest]:
    """The tests of a YAML tests file."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except OSError as exc:
        raise TestDefinitionError(f"{path}: cannot read the file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TestDefinitionError(f"{path}: not valid YAML: {exc}") from None
    return parse_tests(data, str(path))


def inline_tests(rule_file: Path) -> list[Any] | None:
    """The raw `tests` list(s) of a rule file (None when it has none)."""
    try:
        data = orjson.loads(rule_file.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None  # the rule loader reports it
    documents = data if isinstance(data, list) else [data]
    found: list[Any] = []
    for document in documents:
        if isinstance(document, Mapping) and isinstance(document.get("tests"), list):
            rule_name = document.get("name")
            for item in document["tests"]:
                named = isinstance(item, Mapping) and rule_name and len(documents) > 1
                found.append({"rule": rule_name, **item} if named else item)
    return found or None


# --- example events ---------------------------------------------------------------------------


def relative_ms(value: Any, base: int) -> Any:
    """`value` as epoch ms when it is a relative time (`+60s`); otherwise unchanged."""
    if isinstance(value, str):
        found = _RELATIVE.match(value.strip())
        if found:
            sign, amount, unit = found.groups()
            offset = round(float(amount) * _UNIT_MS[unit or "s"])
            return base + offset if sign == "+" else base - offset
    return value


def duration_ms(value: str | int | float) -> int:
    """A duration (`20s`, `5m`, `250ms`; a bare number is seconds) in milliseconds."""
    text = str(value).strip()
    found = _RELATIVE.match(text if text[:1] in "+-" else "+" + text)
    if found is None or found.group(1) == "-":
        raise TestDefinitionError(f"not a duration: {value!r} (write 20s, 5m, 250ms, 1h)")
    return relative_ms("+" + text.lstrip("+"), 0)  # type: ignore[no-any-return]


def _substitute(value: Any, index: int) -> Any:
    if isinstance(value, str):
        return value.replace("{i}", str(index))
    if isinstance(value, Mapping):
        return {key: _substitute(item, index) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, index) for item in value]
    return value


def _expand(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "event" in item and set(item) <= {"event", "repeat", "every"}:
            event = item["event"]
            count = item.get("repeat", 1)
            if not isinstance(event, Mapping) or not isinstance(count, int) or count < 1:
                raise TestDefinitionError(
                    "a repeated event is {repeat: N >= 1, every: DURATION, event: {...}}"
                )
            step = duration_ms(item.get("every", "1s"))
            for index in range(count):
                copy = _substitute(dict(event), index)
                yield {"_offset": index * step, **copy}
        else:
            yield dict(item)


def _format_of(record: dict[str, Any], format_name: str) -> Format:
    if format_name != "auto":
        return format_named(format_name)
    name = sniff(record)
    generic = fallback()
    if name == generic.name and not any(key in record for key in generic.timestamp_keys):
        # no time given (it will be the test's start): detect as if the format's own were there
        for candidate in detection_order():
            if candidate.looks_like({candidate.timestamp_keys[0]: "", **record}):
                return candidate
    return format_named(name)


def _records(record: Any, fmt: Format) -> list[Any]:
    if isinstance(record, Mapping):
        for key in fmt.containers:
            if isinstance(record.get(key), list):
                return list(record[key])
    return [record]


def to_events(records: list[Any], format_name: str, base: int, where: str) -> list[LogEvent]:
    """Canonical events from example records (relative times resolved against `base`)."""
    if any(not isinstance(record, dict) for record in records):
        raise TestDefinitionError(f"{where}: every example event must be an object")
    events: list[LogEvent] = []
    fmt: Format | None = None
    for number, raw in enumerate(_expand(records), start=1):
        offset = raw.pop("_offset", 0)
        fmt = fmt or _format_of(raw, format_name)
        for record in _records(raw, fmt):
            events.append(_event(record, fmt, base, offset, f"{where}: event {number}"))
    return events


def _event(record: Any, fmt: Format, base: int, offset: int, where: str) -> LogEvent:
    if not isinstance(record, Mapping):
        raise TestDefinitionError(f"{where}: an example event must be an object")
    record = dict(record)
    keys = [key for key in fmt.timestamp_keys if record.get(key) not in (None, "")]
    if not keys:
        keys = [fmt.timestamp_keys[0]]
        record[keys[0]] = "+0s"
    for key in keys:
        value = record[key]
        moment = relative_ms(value, base)
        try:
            if moment is not value:  # a relative time
                record[key] = format_timestamp(moment + offset)
            elif offset:
                record[key] = format_timestamp(parse_timestamp(value) + offset)
        except EventError as exc:
            raise TestDefinitionError(f"{where}: {exc}") from None
    try:
        return build_event(fmt, record)
    except (EventError, TypeError, ValueError) as exc:
        raise TestDefinitionError(f"{where}: {exc}") from None


def file_events(path: Path, format_name: str, base: int) -> list[LogEvent]:
    """The events of an example events file (any ingest format; relative times allowed)."""
    try:
        inputs = expand_sources([path])
    except IngestError as exc:
        raise TestDefinitionError(f"events file {path}: {exc}") from None
    events: list[LogEvent] = []
    for source in inputs:
        records: list[Any] = []
        for item in iter_values(source):
            if isinstance(item, Rejected):
                raise TestDefinitionError(f"{item.source}:{item.line}: {item.reason}")
            records.append(item.value)
        events += to_events(records, format_name, base, source.name)
    return events


def test_events(test: RuleTest, folder: Path) -> list[LogEvent]:
    """Every example event of a test (files are relative to the tests file's folder)."""
    try:
        base = parse_time(test.start)
    except HindsightError as exc:
        raise TestDefinitionError(f"test {test.name!r}: start: {exc}") from None
    events = to_events(test.events, test.format, base, f"test {test.name!r}")
    if test.events_file is not None:
        events += file_events(folder / test.events_file, test.format, base)
    return events
