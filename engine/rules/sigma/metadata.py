"""What a Datadog rule keeps of a Sigma rule's metadata: severity, tags and message.

- `level` -> the case severity (`SEVERITY`; a rule without a level gets `DEFAULT_SEVERITY`, as
  pySigma's Datadog backend does);
- `tags` -> rule tags `namespace:name` (`attack.t1059.001` -> `attack:t1059.001`,
  `attack.execution` -> `attack:execution`), plus `sigma_id:<id>` and the log source
  (`sigma_product:`, `sigma_category:`, `sigma_service:`);
- `id` -> the rule id (results carry it as their rule id); `title` -> the rule name;
  `description`, id, status, author, dates, log source, false positives, references and the
  rule file -> the message (Markdown). SigmaHQ rules are under the
  Detection Rule License, which asks for the author and a link to the rule wherever its output is
  shown: both are in the message, so in every result.
"""

from __future__ import annotations

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaLevel, SigmaRule, SigmaRuleBase

__all__ = [
    "DEFAULT_SEVERITY",
    "SEVERITY",
    "identity",
    "logsource",
    "message",
    "severity",
    "tags",
]

SEVERITY: dict[str, str] = {
    "informational": "info",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
DEFAULT_SEVERITY = "low"

#: Template markers in a Sigma text would be rendered by the result templating: kept verbatim.
_RAW_OPEN = "{{{{raw}}}}"
_RAW_CLOSE = "{{{{/raw}}}}"


def identity(rule: SigmaRuleBase) -> dict[str, str]:
    """`{"id": <Sigma id>}` (so results name the Sigma rule and `--rule ID` selects it)."""
    return {} if rule.id is None else {"id": str(rule.id)}


def severity(level: SigmaLevel | None) -> str:
    """The Datadog case status of a Sigma level."""
    return DEFAULT_SEVERITY if level is None else SEVERITY[str(level)]


def tags(rule: SigmaRuleBase) -> list[str]:
    """The rule tags: the Sigma tags as `namespace:name`, its id and its log source."""
    found = [f"{tag.namespace}:{tag.name}" for tag in rule.tags]
    if rule.id is not None:
        found.append(f"sigma_id:{rule.id}")
    found += [f"sigma_{key}:{value}" for key, value in logsource(rule).items()]
    return list(dict.fromkeys(found))


def logsource(rule: SigmaRuleBase) -> dict[str, str]:
    """A rule's log source (`product`, `category`, `service`, those it names; none for a
    correlation)."""
    if not isinstance(rule, SigmaRule):
        return {}
    source = rule.logsource
    pairs = (
        ("product", source.product),
        ("category", source.category),
        ("service", source.service),
    )
    return {key: value for key, value in pairs if value}


def message(rule: SigmaRuleBase) -> str:
    """The rule message: the description, then the Sigma metadata as a list."""
    lines: list[str] = []
    if rule.description:
        lines += [rule.description.strip(), ""]
    kind = f"Sigma {rule.type} correlation" if isinstance(rule, SigmaCorrelationRule) else "Sigma"
    identity = f"`{rule.id}`" if rule.id is not None else "(no id)"
    status = f", status {rule.status}" if rule.status is not None else ""
    lines.append(f"- {kind} rule {identity}{status}, level {rule.level or 'not set'}")
    if rule.author:
        lines.append(f"- Author: {rule.author}")
    dated = (("date", rule.date), ("modified", rule.modified))
    dates = [f"{name} {value}" for name, value in dated if value]
    if dates:
        lines.append("- " + ", ".join(dates))
    if isinstance(rule, SigmaRule):
        parts = [f"{key} {value}" for key, value in logsource(rule).items()]
        lines.append("- Log source: " + (", ".join(parts) or "any"))
    if rule.falsepositives:
        lines.append("- False positives: " + "; ".join(str(item) for item in rule.falsepositives))
    if rule.references:
        lines.append("- References:")
        lines += [f"  - {reference}" for reference in rule.references]
    if rule.license:
        lines.append(f"- License: {rule.license}")
    if rule.source is not None and rule.source.path is not None:
        lines.append(f"- Rule file: {rule.source.path}")
    text = "\n".join(lines)
    return f"{_RAW_OPEN}{text}{_RAW_CLOSE}" if "{{" in text or "}}" in text else text
