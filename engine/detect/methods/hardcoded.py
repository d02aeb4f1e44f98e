"""`hardcoded`: Datadog's built-in evaluators (`hardcodedEvaluatorType`, e.g. log4shell).

A stored rule may say it, but no historical job can run it: a job definition is refused.
"""

from __future__ import annotations

from engine.rules.checks import DefinitionCheck, MethodRules, register_rules


class Hardcoded(MethodRules):
    """Refuses a job definition of a hardcoded rule."""

    name = "hardcoded"

    def check(self, check: DefinitionCheck) -> None:
        """A job cannot run a hardcoded evaluator."""
        if check.job:
            name = check.data.get("name")
            rule = f"rule {name!r}: " if isinstance(name, str) and name else ""
            check.add("options.detectionMethod", f"{rule}unsupported detection method 'hardcoded'")
        super().check(check)


register_rules(Hardcoded())
