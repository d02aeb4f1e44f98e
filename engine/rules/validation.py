"""Validation of rules and job definitions (SPEC §3.1-3.5): every problem, reported at once.

Two passes over the same JSON object end up in one `RuleValidationError`: the pydantic models
(`engine.rules.problems` rewrites their errors as `(json_path, message)`), then the semantic checks
on the raw object (`engine.rules.checks`, with each detection method's own checks).
"""

from __future__ import annotations

from typing import Any

from engine.rules.checks import range_problems, rule_problems
from engine.rules.models import FromRule, Rule, validate_job_definition
from engine.rules.problems import validated

__all__ = ["validate_from_rule", "validate_job_definition", "validate_rule"]


def validate_rule(data: Any, *, source: str | None = None) -> Rule:
    """A stored detection rule, checked; raises `RuleValidationError` listing every problem.

    Only `log_detection` and `signal_correlation` rules are accepted (others: problem at `type`).
    """
    return validated(Rule, data, source, rule_problems, "rule")


def validate_from_rule(data: Any, *, source: str | None = None) -> FromRule:
    """A historical job's `fromRule`, checked (`caseIndex` 0-9, `from` < `to`)."""
    return validated(FromRule, data, source, range_problems, "fromRule")
