"""`third_party` (SPEC §3.14): what its rules must say. It does not run yet (issue 11).

A third-party rule maps events to severities with its own root queries and `thirdPartyCases`, so
it needs neither `queries` nor `cases`.
"""

from __future__ import annotations

from engine.rules.checks import DefinitionCheck, MethodRules, as_list, as_object, register_rules


class ThirdParty(MethodRules):
    """The checks of a third-party rule: its root queries and its cases' queries."""

    name = "third_party"
    needs_queries = False
    needs_cases = False

    def check(self, check: DefinitionCheck) -> None:
        """At least one root query; every root and case query parses."""
        at = "options.thirdPartyRuleOptions.rootQueries"
        options = as_object(check.options.get("thirdPartyRuleOptions"))
        roots = as_list(options.get("rootQueries"))
        if not roots:
            check.add(at, "a third_party rule needs at least one root query")
        for i, root in enumerate(roots):
            check.syntax(f"{at}[{i}].query", as_object(root).get("query"))
        for i, case in enumerate(as_list(check.data.get("thirdPartyCases"))):
            check.syntax(f"thirdPartyCases[{i}].query", as_object(case).get("query"))


register_rules(ThirdParty())
