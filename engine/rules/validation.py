"""Validation of rules and job definitions (SPEC §3.1-3.5): every problem, reported at once.

Two passes over the same JSON object, whose problems end up in one `RuleValidationError`:

1. the pydantic models check shapes, types, enums and ranges; their errors are rewritten as
   `(json_path, message)` pairs such as `("queries[0].aggregation", "must be one of count,
   cardinality, ... (got 'avg')")`;
2. the semantic checks below read the raw object (so they run even when pass 1 failed) and check
   what spans fields: windows, metrics, group-by arity, `groupSignalsBy`, query syntax, case
   conditions, sequence steps, third-party options, the rule type.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from types import NoneType, UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from engine.core.errors import ConditionError, QuerySyntaxError, RuleValidationError, TemplateError
from engine.query import parse
from engine.rules.conditions import parse_condition
from engine.rules.models import (
    SUPPORTED_RULE_TYPES,
    FromRule,
    JobDefinition,
    Rule,
    positional_name,
)
from engine.rules.options import WINDOW_SECONDS
from engine.rules.template import check_template

__all__ = ["validate_from_rule", "validate_job_definition", "validate_rule"]

Problem = tuple[str, str]
M = TypeVar("M", bound=BaseModel)

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_STEPS = 10
MAX_SEQUENCE_SECONDS = 86400
EMPTY_QUERY = "Query filter cannot be empty"

_KINDS = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def validate_rule(data: Any, *, source: str | None = None) -> Rule:
    """A stored detection rule, checked; raises `RuleValidationError` listing every problem.

    Only `log_detection` and `signal_correlation` rules are accepted (others: problem at `type`).
    """
    return _validate(Rule, data, source, _rule_problems, "rule")


def validate_job_definition(data: Any, *, source: str | None = None) -> JobDefinition:
    """A historical job's `jobDefinition`, checked; raises `RuleValidationError`."""
    return _validate(JobDefinition, data, source, _job_problems, "job definition")


def validate_from_rule(data: Any, *, source: str | None = None) -> FromRule:
    """A historical job's `fromRule`, checked (`caseIndex` 0-9, `from` < `to`)."""
    return _validate(FromRule, data, source, _range_problems, "fromRule")


def _validate(
    model: type[M],
    data: Any,
    source: str | None,
    checks: Callable[[Mapping[str, Any]], list[Problem]],
    noun: str,
) -> M:
    if not isinstance(data, Mapping):
        raise RuleValidationError(
            [("", f"must be a JSON object (got {_show(data)})")], source=source, noun=noun
        )
    problems: list[Problem] = []
    result: M | None = None
    try:
        result = model.model_validate(dict(data))
    except ValidationError as err:
        problems += pydantic_problems(err, model)
    problems += checks(data)
    if problems or result is None:
        raise RuleValidationError(list(dict.fromkeys(problems)), source=source, noun=noun)
    return result


# -- pass 1: pydantic errors as (path, message) ------------------------------------------------


def pydantic_problems(err: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Rewrite pydantic's errors as (JSON path, message naming what is allowed)."""
    problems = []
    for error in err.errors(include_url=False):
        loc = tuple(error["loc"])
        problems.append((json_path(loc), _message(error, model, loc)))
    return problems


def json_path(loc: tuple[str | int, ...]) -> str:
    """`("queries", 0, "name")` -> `queries[0].name`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(error: Any, model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return _unknown_field(str(loc[-1]), _model_at(model, loc[:-1]))
    if kind in ("literal_error", "enum"):
        allowed = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"must be one of {allowed} (got {_show(value)})"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]} (got {_show(value)})"
    bounds = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">"}
    if kind in bounds:
        limit = ctx.get({">=": "ge", "<=": "le", ">": "gt"}[bounds[kind]])
        return f"must be {bounds[kind]} {limit} (got {_show(value)})"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items are allowed (got {ctx.get('actual_length')})"
    return str(error["msg"])


def _unknown_field(name: str, model: type[BaseModel] | None) -> str:
    text = f"unknown field {name!r}"
    if model is None:
        return text
    allowed = [info.alias or field for field, info in model.model_fields.items()]
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"{text}; did you mean {close[0]!r}?"
    if len(allowed) <= 12:
        return f"{text} (allowed: {', '.join(allowed)})"
    return text


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = get_args(current) if get_origin(current) is list else ()
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            current = fields[part].annotation if part in fields else None
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` -> `X`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not NoneType]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- pass 2: semantic checks on the raw JSON ----------------------------------------------------


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strings(value: Any) -> list[str]:
    return [item for item in _list(value) if isinstance(item, str)]


def _range_problems(data: Mapping[str, Any]) -> list[Problem]:
    start, end = _int(data.get("from")), _int(data.get("to"))
    if start is not None and end is not None and start >= end:
        return [("to", f"must be greater than from ({start}) (got {end})")]
    return []


def _rule_problems(data: Mapping[str, Any]) -> list[Problem]:
    return _definition_problems(data, job=False)


def _job_problems(data: Mapping[str, Any]) -> list[Problem]:
    return _definition_problems(data, job=True)


def _definition_problems(data: Mapping[str, Any], *, job: bool) -> list[Problem]:
    check = _DefinitionCheck(data, job=job)
    check.run()
    return check.problems + (_range_problems(data) if job else [])


class _DefinitionCheck:
    """The semantic checks of a rule or job definition, tolerant of wrongly typed fields."""

    def __init__(self, data: Mapping[str, Any], *, job: bool) -> None:
        self.data = data
        self.job = job
        self.problems: list[Problem] = []
        rule_type = data.get("type", None if job else "log_detection")
        self.type = rule_type if isinstance(rule_type, str) else None
        self.options = _obj(data.get("options"))
        self.method = self.options.get("detectionMethod", "threshold")
        self.queries = [_obj(q) for q in _list(data.get("queries"))]
        self.names = [
            q["name"] if isinstance(q.get("name"), str) and q["name"] else positional_name(i)
            for i, q in enumerate(self.queries[:26])
        ]

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def run(self) -> None:
        if self.type is not None and self.type not in SUPPORTED_RULE_TYPES:
            supported = ", ".join(SUPPORTED_RULE_TYPES)
            self.add("type", f"unsupported rule type {self.type!r} (supported: {supported})")
        third_party = self.method == "third_party"
        if isinstance(self.data.get("queries"), list) and not self.queries and not third_party:
            self.add("queries", "at least one query is required")
        if self.data.get("cases") == [] and not third_party:
            self.add("cases", "at least one case is required")
        for i, query in enumerate(self.queries[: len(self.names)]):
            if isinstance(_list(self.data.get("queries"))[i], Mapping):
                self.query(f"queries[{i}]", query, self.names[i], self.names[:i])
        self.cases()
        self.windows()
        if self.job and self.method == "hardcoded":
            self.add("options.detectionMethod", "unsupported detection method 'hardcoded'")
        if self.method == "sequence_detection":
            self.sequence(_obj(self.options.get("sequenceDetectionOptions")))
        if third_party:
            self.third_party()
        elif _list(self.data.get("thirdPartyCases")):
            self.add("thirdPartyCases", "only third_party rules have thirdPartyCases")
        self.grouping()
        for i, table in enumerate(_list(self.data.get("referenceTables"))):
            name = _obj(table).get("ruleQueryName")
            if isinstance(name, str) and name not in self.names:
                self.unknown(f"referenceTables[{i}].ruleQueryName", "query", name, self.names)
        for i, item in enumerate(_list(self.data.get("filters"))):
            self.syntax(f"filters[{i}].query", _obj(item).get("query"))
        self.template("message", self.data.get("message"))

    def template(self, path: str, text: Any) -> None:
        """A message template must parse (errors give line and column)."""
        if isinstance(text, str):
            name = self.data.get("name")
            try:
                check_template(text, name if isinstance(name, str) else "")
            except TemplateError as err:
                where = f"line {err.line}, column {err.column}"
                self.add(path, f"invalid template at {where}: {err.reason}")

    def unknown(self, path: str, noun: str, name: str, known: list[str]) -> None:
        self.add(path, f"unknown {noun} name {name!r} (known: {', '.join(known) or 'none'})")

    def syntax(self, path: str, text: Any) -> None:
        """A search query text must be non-empty and parse (errors give line and column)."""
        if text is not None and not isinstance(text, str):
            return
        if text is None or not text.strip():
            self.add(path, EMPTY_QUERY)
            return
        try:
            parse(text)
        except QuerySyntaxError as err:
            hint = f" (hint: {err.hint})" if err.hint else ""
            where = f"line {err.line}, column {err.column}"
            self.add(path, f"invalid query at {where}: {err.reason}{hint}")

    def condition(self, path: str, text: Any, known: list[str], noun: str) -> None:
        if isinstance(text, str):
            try:
                parse_condition(text, known, noun=f"{noun} name")
            except ConditionError as err:
                self.add(path, err.message)

    def query(self, at: str, query: Mapping[str, Any], name: str, before: list[str]) -> None:
        if name in before:
            self.add(f"{at}.name", f"duplicate query name {name!r} (names and letters are unique)")
        if not IDENTIFIER.match(name):
            self.add(f"{at}.name", f"must be letters, digits and underscores (got {name!r})")
        if self.type == "signal_correlation":
            if not query.get("ruleId") and not query.get("defaultRuleId"):
                self.add(f"{at}.ruleId", "a signal_correlation query needs the rule it correlates")
        else:
            self.syntax(f"{at}.query", query.get("query"))
            for key in ("additionalFilters", "customQueryExtension"):
                if isinstance(query.get(key), str) and query[key].strip():
                    self.syntax(f"{at}.{key}", query[key])
        language = query.get("queryLanguage")
        if isinstance(language, str) and language:
            self.add(f"{at}.queryLanguage", f"unsupported query language {language!r}")
        if query.get("index") is not None and query.get("indexes") is not None:
            self.add(f"{at}.indexes", "index and indexes are mutually exclusive")
        aggregation = query.get("aggregation", "count")
        metrics = _list(query.get("metrics")) or ([query["metric"]] if query.get("metric") else [])
        count = len(metrics)
        if aggregation in ("sum", "max", "geo_data") and count != 1:
            self.add(f"{at}.metrics", f"{aggregation} needs exactly 1 metric (got {count})")
        if aggregation == "new_value" and not 1 <= count <= 5:
            self.add(f"{at}.metrics", f"new_value needs 1 to 5 metrics (got {count})")
        if aggregation == "cardinality" and not _list(query.get("distinctFields")):
            self.add(f"{at}.distinctFields", "cardinality needs at least one distinct field")

    def cases(self) -> None:
        known, noun = self.names, "query"
        if self.method == "sequence_detection":
            steps = _list(_obj(self.options.get("sequenceDetectionOptions")).get("steps"))
            known, noun = _strings([_obj(step).get("name") for step in steps]), "step"
        for i, case in enumerate(_list(self.data.get("cases"))):
            self.condition(f"cases[{i}].condition", _obj(case).get("condition"), known, noun)

    def windows(self) -> None:
        window = _int(self.options.get("evaluationWindow", 0))
        for other in ("keepAlive", "maxSignalDuration"):
            limit = _int(self.options.get(other, 0))
            if window in WINDOW_SECONDS and limit in WINDOW_SECONDS and window > limit:
                self.add("options.evaluationWindow", f"must be <= {other} ({limit}) (got {window})")

    def sequence(self, options: Mapping[str, Any]) -> None:
        at = "options.sequenceDetectionOptions"
        steps = _list(options.get("steps"))
        if not steps:
            self.add(f"{at}.steps", "a sequence_detection rule needs at least one step")
        if len(steps) > MAX_STEPS:
            self.add(f"{at}.steps", f"at most {MAX_STEPS} steps are allowed (got {len(steps)})")
        names: list[str] = []
        for i, step in enumerate(steps):
            if not isinstance(step, Mapping):
                continue
            name, text = step.get("name"), step.get("condition", "")
            if isinstance(name, str):
                if not IDENTIFIER.match(name) or name in names:
                    self.add(f"{at}.steps[{i}].name", f"must be a distinct identifier ({name!r})")
                names.append(name)
            if isinstance(text, str) and not text.strip():
                self.add(f"{at}.steps[{i}].condition", "a step needs a condition")
            self.condition(f"{at}.steps[{i}].condition", text, self.names, "query")
        children: dict[str, str] = {}
        parents: dict[str, str] = {}
        total = 0
        for i, item in enumerate(_list(options.get("stepTransitions"))):
            transition = _obj(item)
            parent, child = transition.get("parent"), transition.get("child")
            total += _int(transition.get("evaluationWindow")) or 0
            for key, value in (("parent", parent), ("child", child)):
                if isinstance(value, str) and value not in names:
                    self.unknown(f"{at}.stepTransitions[{i}].{key}", "step", value, names)
            if isinstance(parent, str) and isinstance(child, str):
                if parent in children or child in parents or parent == child:
                    message = "steps must form one chain (one parent and one child per step)"
                    self.add(f"{at}.stepTransitions[{i}]", message)
                children[parent], parents[child] = child, parent
        if total > MAX_SEQUENCE_SECONDS:
            message = f"the transitions may last at most 86400 s in total (got {total})"
            self.add(f"{at}.stepTransitions", message)

    def third_party(self) -> None:
        at = "options.thirdPartyRuleOptions.rootQueries"
        roots = _list(_obj(self.options.get("thirdPartyRuleOptions")).get("rootQueries"))
        if not roots:
            self.add(at, "a third_party rule needs at least one root query")
        for i, root in enumerate(roots):
            self.syntax(f"{at}[{i}].query", _obj(root).get("query"))
        for i, case in enumerate(_list(self.data.get("thirdPartyCases"))):
            self.syntax(f"thirdPartyCases[{i}].query", _obj(case).get("query"))

    def grouping(self) -> None:
        """Same group-by arity for every grouping query; `groupSignalsBy` among the group-bys."""
        first: tuple[int, int] | None = None
        fields: list[str] = []
        for i, query in enumerate(self.queries):
            group_by = _strings(query.get("groupByFields"))
            fields += group_by
            if not group_by:
                continue
            if first is None:
                first = (i, len(group_by))
            elif len(group_by) != first[1]:
                message = (
                    f"every query that groups needs the same number of group-by fields "
                    f"(queries[{first[0]}] has {first[1]}, this one {len(group_by)})"
                )
                self.add(f"queries[{i}].groupByFields", message)
        for root in _list(_obj(self.options.get("thirdPartyRuleOptions")).get("rootQueries")):
            fields += _strings(_obj(root).get("groupByFields"))
        listing = ", ".join(dict.fromkeys(fields)) or "none"
        for i, field in enumerate(_list(self.data.get("groupSignalsBy"))):
            if isinstance(field, str) and field not in fields:
                message = f"{field!r} is not a group-by field of any query (group-bys: {listing})"
                self.add(f"groupSignalsBy[{i}]", message)
