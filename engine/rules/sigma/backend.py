"""The Datadog backend of pySigma, fitted to the query grammar Hindsight parses (SPEC §2).

`pySigma-backend-datadog` writes Datadog log search text from a Sigma detection. A few of its
choices do not say in that grammar what the Sigma rule means, so `HindsightDatadogBackend`
changes them (the backend's own class is otherwise used as it is):

- a backslash in a value is escaped (`\\`): the backend leaves it bare, and `\\x` means `x`;
  every whitespace character and `@` are escaped too (the backend escapes only the space, and
  a value cannot start with `@`);
- Sigma's single-character wildcard `?` is written `?` (the backend writes `*`);
- `|lte` is written `<=` (the backend writes `>=`);
- an empty value is written `@f:""` (the backend writes `@f:`, a syntax error);
- `field: null` and `|exists: false` are written `-@f:*` (the backend writes a range with
  wildcard bounds, and `NOT (@f)`, a free-text search for the field name);
- `|cidr` is written `CIDR(@f, block)` (the backend expands it into wildcard prefixes);
- `|cased` values are written as the others, and listed in `cased`: a converted rule that
  Hindsight runs compares strings case-insensitively, as Sigma does, except these clauses;
- `|fieldref` (comparing two fields) is refused: the search language cannot compare fields.

Field names: the backend's own pipeline prefixes every field with `@` *before* any user
pipeline runs, so a pipeline could not map Sigma names. Here the prefix is added *after* every
pipeline (`AttributeFieldTransformation`): a pipeline maps Sigma names to attribute paths
(`eventName: evt.name`), written with or without `@`, and every field ends up an attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pyparsing
from sigma.backends.datadog.datadog import DatadogBackend
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.pipelines.datadog.datadog import AggregateRuleProcessingCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    FieldMappingTransformationBase,
    RuleFailureTransformation,
)
from sigma.types import SigmaCompareExpression, SigmaString

__all__ = [
    "AttributeFieldTransformation",
    "HindsightDatadogBackend",
    "UnsupportedSigmaError",
    "attribute_name",
]

# pySigma parses each rule's condition with pyparsing; memoising the parser (packrat) makes a
# conversion of the SigmaHQ corpus about a third faster. It is pyparsing's own, global switch.
pyparsing.ParserElement.enable_packrat()

#: Every character the query grammar reads as whitespace (Python's `\s`, `str.isspace`).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: Characters escaped in values, besides the wildcards: the backend's list, the backslash itself,
#: `@` (a value cannot start with it) and all whitespace.
ESCAPED = DatadogBackend.add_escaped + "\\@" + WHITESPACE


class UnsupportedSigmaError(SigmaFeatureNotSupportedByBackendError):
    """A Sigma feature Datadog search (or the engine) cannot express; the message says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)  # type: ignore[no-untyped-call]


def attribute_name(field: str) -> str:
    """The Datadog attribute a (mapped) field name refers to: `@` added when missing."""
    return field if field.startswith("@") else "@" + field


@dataclass
class AttributeFieldTransformation(FieldMappingTransformationBase):
    """Every field name becomes an attribute path (`Image` -> `@Image`), after the pipelines."""

    def apply_field_name(self, field: str) -> list[str]:
        return [attribute_name(field)]

    def apply_detection_item(self, detection_item: Any) -> Any:
        super().apply_detection_item(detection_item)
        if detection_item.field is not None:
            detection_item.field = attribute_name(detection_item.field)
            self.processing_item_applied(detection_item)
        return None


def _backend_pipeline() -> ProcessingPipeline:
    """What the backend applies before the user's pipelines: only its refusal of Sigma's
    deprecated aggregations (`| count`), not its field prefixing nor its log source renames."""
    return ProcessingPipeline(
        name="Hindsight Datadog backend",
        priority=20,
        items=[
            ProcessingItem(
                identifier="dd_fails_rule_conditions_not_supported",
                transformation=RuleFailureTransformation(
                    "aggregation conditions (count, min, max, avg, sum, near) are deprecated "
                    "Sigma; write a correlation rule instead"
                ),
                rule_conditions=[AggregateRuleProcessingCondition()],
            )
        ],
    )


def _attribute_pipeline() -> ProcessingPipeline:
    return ProcessingPipeline(
        name="Hindsight Datadog attributes",
        priority=100,
        items=[
            ProcessingItem(
                identifier="hindsight_attribute_fields",
                transformation=AttributeFieldTransformation(),
            )
        ],
    )


class HindsightDatadogBackend(DatadogBackend):
    """`DatadogBackend` writing queries in the grammar of `engine.parse` (see module doc)."""

    name: ClassVar[str] = "Hindsight Datadog backend"
    backend_processing_pipeline: ClassVar[ProcessingPipeline] = _backend_pipeline()
    output_format_processing_pipeline: ClassVar[dict[str, ProcessingPipeline]] = {
        "default": _attribute_pipeline()
    }

    wildcard_single: ClassVar[str] = "?"
    add_escaped: ClassVar[str] = ESCAPED
    compare_operators: ClassVar[dict[SigmaCompareExpression.CompareOperators, str]] = {
        SigmaCompareExpression.CompareOperators.GT: ">",
        SigmaCompareExpression.CompareOperators.GTE: ">=",
        SigmaCompareExpression.CompareOperators.LT: "<",
        SigmaCompareExpression.CompareOperators.LTE: "<=",
    }
    field_null_expression: ClassVar[str] = "-{field}:*"
    field_exists_expression: ClassVar[str] = "{field}:*"
    field_not_exists_expression: ClassVar[str] = "-{field}:*"
    cidr_expression: ClassVar[str] = "CIDR({field}, {value})"
    case_sensitive_match_expression: ClassVar[str] = "{field}:{value}"
    case_sensitive_startswith_expression: ClassVar[str] = "{field}:{value}*"
    case_sensitive_endswith_expression: ClassVar[str] = "{field}:*{value}"
    case_sensitive_contains_expression: ClassVar[str] = "{field}:*{value}*"

    def __init__(self, processing_pipeline: ProcessingPipeline | None = None) -> None:
        super().__init__(processing_pipeline)
        #: the `field:value` clauses written for `|cased` values since the list was last cleared
        self.cased: list[str] = []

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """`field: ''` -> `@field:""`; any other string as the backend writes it."""
        return self._empty(cond) or super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """`|cased`: written as any value, and listed in `cased` (the rule's `Casing` keeps
        these clauses case-sensitive when Hindsight runs it)."""
        cased = super().convert_condition_field_eq_val_str_case_sensitive
        clause = self._empty(cond) or cased(cond, state)
        self.cased.append(str(clause))
        return clause

    def _empty(self, cond: ConditionFieldEqualsValueExpression) -> str | None:
        """`@field:""` for an empty string value (the backend writes `@field:`), else None."""
        if isinstance(cond.value, SigmaString) and len(cond.value) == 0:
            return f'{self.escape_and_quote_field(cond.field)}:""'
        return None

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        """`|fieldref`: refused (Datadog's search cannot compare two fields of one log)."""
        raise UnsupportedSigmaError(
            "field references (|fieldref) cannot be expressed in Datadog log search: "
            "it cannot compare two fields of one log"
        )
