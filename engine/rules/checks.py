"""The semantic checks of a rule or job definition (SPEC §3.1-3.5), on its raw JSON.

They read the raw object, so they run even when the pydantic model refused it (pass 2 of
`engine.rules.problems`), and check what spans fields: windows, metrics, group-by arity,
`groupSignalsBy`, query syntax, case conditions, the rule type, legacy filters, the message
template. What only one detection method checks (sequence steps, third-party options, ...) is that
method's `MethodRules`, registered by its module in `engine.detect.methods`; a method without a
module gets the defaults.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any, ClassVar

from engine.core.errors import ConditionError, Problem, QuerySyntaxError, TemplateError
from engine.query import parse
from engine.rules.conditions import parse_condition
from engine.rules.options import WINDOW_SECONDS
from engine.rules.template import check_template

#: Rule types the engine loads (`signal_correlation` loads but does not run yet).
SUPPORTED_RULE_TYPES: tuple[str, ...] = ("log_detection", "signal_correlation")

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
EMPTY_QUERY = "Query filter cannot be empty"


def positional_name(position: int) -> str:
    """The letter an unnamed query is referenced by: `a` for queries[0], `b` for queries[1]..."""
    return string.ascii_lowercase[position]


def as_object(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    """`value` if it is an integer (not a boolean), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def strings(value: Any) -> list[str]:
    """The strings of a JSON array."""
    return [item for item in as_list(value) if isinstance(item, str)]


class MethodRules:
    """How one detection method reads a rule definition: what it requires, what its cases name,
    and the checks only it makes.

    This default serves a method that has no module yet; a method's module in
    `engine.detect.methods` subclasses it (every `DetectionMethod` is one) and registers it.
    """

    #: The `detectionMethod` name (empty for the default).
    name: ClassVar[str] = ""
    #: Whether a definition of this method needs at least one query, and at least one case.
    needs_queries: ClassVar[bool] = True
    needs_cases: ClassVar[bool] = True

    def case_names(self, options: Mapping[str, Any], queries: list[str]) -> tuple[list[str], str]:
        """What case conditions may name (given the raw options and the query names), and what
        those names are (`query`, `step`)."""
        return queries, "query"

    def check(self, check: DefinitionCheck) -> None:
        """Report the method's own problems (by default: only third_party rules have
        `thirdPartyCases`)."""
        if as_list(check.data.get("thirdPartyCases")):
            check.add("thirdPartyCases", "only third_party rules have thirdPartyCases")


_DEFAULT = MethodRules()
_METHOD_RULES: dict[str, MethodRules] = {}


def register_rules(method: MethodRules) -> MethodRules | None:
    """Make `method` the rules of its `detectionMethod` name (a method's module calls it once);
    returns the rules it replaces, if any."""
    replaced = _METHOD_RULES.get(method.name)
    _METHOD_RULES[method.name] = method
    return replaced


def unregister_rules(name: str) -> None:
    """Give the method called `name` the defaults again."""
    _METHOD_RULES.pop(name, None)


def method_rules(name: Any) -> MethodRules:
    """The rules of the detection method `name` (the defaults for one without a module)."""
    return _METHOD_RULES.get(name, _DEFAULT) if isinstance(name, str) else _DEFAULT


def range_problems(data: Mapping[str, Any]) -> list[Problem]:
    """A job's range: `from` before `to`."""
    start, end = as_int(data.get("from")), as_int(data.get("to"))
    if start is not None and end is not None and start >= end:
        return [Problem("to", f"must be greater than from ({start}) (got {end})")]
    return []


def rule_problems(data: Mapping[str, Any]) -> list[Problem]:
    """The semantic problems of a stored rule."""
    return _definition_problems(data, job=False)


def job_problems(data: Mapping[str, Any]) -> list[Problem]:
    """The semantic problems of a job definition (its range included)."""
    return _definition_problems(data, job=True)


def _definition_problems(data: Mapping[str, Any], *, job: bool) -> list[Problem]:
    check = DefinitionCheck(data, job=job)
    check.run()
    return check.problems + (range_problems(data) if job else [])


class DefinitionCheck:
    """The semantic checks of a rule or job definition, tolerant of wrongly typed fields."""

    def __init__(self, data: Mapping[str, Any], *, job: bool) -> None:
        self.data = data
        self.job = job
        self.problems: list[Problem] = []
        rule_type = data.get("type", None if job else "log_detection")
        self.type = rule_type if isinstance(rule_type, str) else None
        self.options = as_object(data.get("options"))
        self.method = self.options.get("detectionMethod", "threshold")
        self.method_rules = method_rules(self.method)
        self.queries = [as_object(q) for q in as_list(data.get("queries"))]
        self.names = [
            q["name"] if isinstance(q.get("name"), str) and q["name"] else positional_name(i)
            for i, q in enumerate(self.queries[:26])
        ]

    def add(
        self, path: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> None:
        """Report a problem at `path` (`line`/`column`: where inside the field's text)."""
        self.problems.append(Problem(path, message, line=line, column=column))

    def run(self) -> None:
        """Every check, in the order their problems are listed."""
        if self.type is not None and self.type not in SUPPORTED_RULE_TYPES:
            supported = ", ".join(SUPPORTED_RULE_TYPES)
            self.add("type", f"unsupported rule type {self.type!r} (supported: {supported})")
        method = self.method_rules
        if isinstance(self.data.get("queries"), list) and not self.queries and method.needs_queries:
            self.add("queries", "at least one query is required")
        if self.data.get("cases") == [] and method.needs_cases:
            self.add("cases", "at least one case is required")
        for i, query in enumerate(self.queries[: len(self.names)]):
            if isinstance(as_list(self.data.get("queries"))[i], Mapping):
                self.query(f"queries[{i}]", query, self.names[i], self.names[:i])
        self.cases()
        self.windows()
        method.check(self)
        self.grouping()
        for i, table in enumerate(as_list(self.data.get("referenceTables"))):
            name = as_object(table).get("ruleQueryName")
            if isinstance(name, str) and name not in self.names:
                self.unknown(f"referenceTables[{i}].ruleQueryName", "query", name, self.names)
        for i, item in enumerate(as_list(self.data.get("filters"))):
            self.syntax(f"filters[{i}].query", as_object(item).get("query"))
        self.template("message", self.data.get("message"))

    def template(self, path: str, text: Any) -> None:
        """A message template must parse (errors give line and column)."""
        if isinstance(text, str):
            name = self.data.get("name")
            try:
                check_template(text, name if isinstance(name, str) else "")
            except TemplateError as err:
                where = f"line {err.line}, column {err.column}"
                message = f"invalid template at {where}: {err.reason}"
                self.add(path, message, line=err.line, column=err.column)

    def unknown(self, path: str, noun: str, name: str, known: list[str]) -> None:
        """Report a reference to an unknown `noun`, listing the known ones."""
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
            message = f"invalid query at {where}: {err.reason}{hint}"
            self.add(path, message, line=err.line, column=err.column)

    def condition(self, path: str, text: Any, known: list[str], noun: str) -> None:
        """A condition must parse and name only `known` identifiers (`noun`s)."""
        if isinstance(text, str):
            try:
                parse_condition(text, known, noun=f"{noun} name")
            except ConditionError as err:
                self.add(path, err.message, line=err.line, column=err.column)

    def query(self, at: str, query: Mapping[str, Any], name: str, before: list[str]) -> None:
        """One query: its name, its search texts, its aggregation's fields."""
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
        metrics = as_list(query.get("metrics")) or (
            [query["metric"]] if query.get("metric") else []
        )
        count = len(metrics)
        if aggregation in ("sum", "max", "geo_data") and count != 1:
            self.add(f"{at}.metrics", f"{aggregation} needs exactly 1 metric (got {count})")
        if aggregation == "new_value" and not 1 <= count <= 5:
            self.add(f"{at}.metrics", f"new_value needs 1 to 5 metrics (got {count})")
        if aggregation == "cardinality" and not as_list(query.get("distinctFields")):
            self.add(f"{at}.distinctFields", "cardinality needs at least one distinct field")

    def cases(self) -> None:
        """Every case condition names what the method's cases name."""
        known, noun = self.method_rules.case_names(self.options, self.names)
        for i, case in enumerate(as_list(self.data.get("cases"))):
            self.condition(f"cases[{i}].condition", as_object(case).get("condition"), known, noun)

    def windows(self) -> None:
        """The evaluation window fits in keepAlive and maxSignalDuration."""
        window = as_int(self.options.get("evaluationWindow", 0))
        for other in ("keepAlive", "maxSignalDuration"):
            limit = as_int(self.options.get(other, 0))
            if window in WINDOW_SECONDS and limit in WINDOW_SECONDS and window > limit:
                self.add("options.evaluationWindow", f"must be <= {other} ({limit}) (got {window})")

    def grouping(self) -> None:
        """Same group-by arity for every grouping query; `groupSignalsBy` among the group-bys."""
        first: tuple[int, int] | None = None
        fields: list[str] = []
        for i, query in enumerate(self.queries):
            group_by = strings(query.get("groupByFields"))
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
        third_party = as_object(self.options.get("thirdPartyRuleOptions"))
        for root in as_list(third_party.get("rootQueries")):
            fields += strings(as_object(root).get("groupByFields"))
        listing = ", ".join(dict.fromkeys(fields)) or "none"
        for i, field in enumerate(as_list(self.data.get("groupSignalsBy"))):
            if isinstance(field, str) and field not in fields:
                message = f"{field!r} is not a group-by field of any query (group-bys: {listing})"
                self.add(f"groupSignalsBy[{i}]", message)
