"""Detection rules and job definitions: models, validation, case conditions, loading."""

from engine.core.errors import ConditionError
from engine.rules.conditions import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Then,
    contains_then,
    evaluate,
    identifiers,
    parse_condition,
    to_polars,
)
from engine.rules.loader import load_rule, load_rules
from engine.rules.models import (
    FromRule,
    JobDefinition,
    Rule,
    RuleCase,
    RuleQuery,
    ThirdPartyCase,
)
from engine.rules.options import JobOptions, RuleOptions
from engine.rules.validation import validate_from_rule, validate_job_definition, validate_rule

__all__ = [
    "AllOf",
    "AnyOf",
    "Comparison",
    "Condition",
    "ConditionError",
    "FromRule",
    "JobDefinition",
    "JobOptions",
    "Rule",
    "RuleCase",
    "RuleOptions",
    "RuleQuery",
    "Then",
    "ThirdPartyCase",
    "contains_then",
    "evaluate",
    "identifiers",
    "load_rule",
    "load_rules",
    "parse_condition",
    "to_polars",
    "validate_from_rule",
    "validate_job_definition",
    "validate_rule",
]
