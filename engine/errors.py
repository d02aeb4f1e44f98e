"""The one hierarchy of errors Hindsight raises on purpose.

Every error a user can cause (a bad query, a bad rule, a bad input file, a corrupt archive) is a
`HindsightError`; the CLI prints it without a traceback and the API maps it to a Datadog error body.
Anything else escaping the engine is a bug.
"""

from __future__ import annotations


class HindsightError(Exception):
    """Base class of every user-facing Hindsight error."""


class QuerySyntaxError(HindsightError, ValueError):
    """A log search query that cannot be parsed.

    Carries the 1-based `line` and `column` of the offending text, a short `reason`, an optional
    `hint` for the common mistakes, and renders the query line with a caret under the problem.
    """

    def __init__(
        self,
        query: str,
        reason: str,
        *,
        line: int = 1,
        column: int = 1,
        hint: str | None = None,
        width: int = 1,
    ) -> None:
        self.query = query
        self.reason = reason
        self.line = line
        self.column = column
        self.hint = hint
        self.width = max(1, width)
        super().__init__(self.render())

    @classmethod
    def at_offset(
        cls, query: str, reason: str, offset: int, *, hint: str | None = None, width: int = 1
    ) -> QuerySyntaxError:
        """Build the error for a 0-based character offset into `query`."""
        offset = max(0, min(offset, len(query)))
        before = query[:offset]
        line = before.count("\n") + 1
        column = offset - (before.rfind("\n") + 1) + 1
        return cls(query, reason, line=line, column=column, hint=hint, width=width)

    @property
    def source_line(self) -> str:
        """The line of the query the error points into."""
        lines = self.query.split("\n")
        return lines[self.line - 1].rstrip("\r") if 0 < self.line <= len(lines) else ""

    @property
    def caret(self) -> str:
        """Spaces and carets that underline the offending text of `source_line`."""
        prefix = "".join("\t" if ch == "\t" else " " for ch in self.source_line[: self.column - 1])
        return prefix + "^" * self.width

    def render(self) -> str:
        """The full multi-line message: position, reason, query line, caret and hint."""
        text = (
            f"invalid query at line {self.line}, column {self.column}: {self.reason}\n"
            f"  {self.source_line}\n  {self.caret}"
        )
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class ArchiveError(HindsightError):
    """An archive that cannot be read: a missing, corrupt or inconsistent file (named)."""


class IngestError(HindsightError):
    """Input that cannot be ingested at all (unknown format, unreadable path, bad option)."""


class RuleValidationError(HindsightError, ValueError):
    """A rule or job definition that breaks the rule model (SPEC §3.1-3.5).

    Lists every problem at once, each as (JSON path of the field, what is wrong / what is allowed),
    and names the file the rule came from when there is one.
    """

    def __init__(
        self, problems: list[tuple[str, str]], *, source: str | None = None, noun: str = "rule"
    ) -> None:
        self.problems = problems
        self.source = source
        where = f"{noun} {source}" if source else noun
        lines = [
            f"{where} is invalid ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"
        ]
        lines += [f"  {path or '(root)'}: {message}" for path, message in problems]
        super().__init__("\n".join(lines))


class TemplateError(HindsightError, ValueError):
    """A message template that cannot be rendered; names the rule and the position."""

    def __init__(self, rule: str, reason: str, *, line: int, column: int) -> None:
        self.rule = rule
        self.reason = reason
        self.line = line
        self.column = column
        super().__init__(
            f"message template of rule {rule!r}, line {line}, column {column}: {reason}"
        )


class UnsupportedRuleError(HindsightError):
    """A rule the engine refuses to run (e.g. an unsupported rule type), named in the message."""


class ServiceError(HindsightError):
    """A request the job service refuses; `status` is the HTTP status the API answers with."""

    status = 400


class InvalidRequestError(ServiceError):
    """A malformed or invalid request (400)."""


class UnknownIndexError(ServiceError):
    """A job names an index the server does not have (400, Datadog's "Index must exist")."""


class NotFoundError(ServiceError):
    """An unknown job, result, signal or rule (404)."""

    status = 404


class ConflictError(ServiceError):
    """A request at odds with the resource's state, e.g. cancelling a finished job (409)."""

    status = 409


class UnavailableError(ServiceError):
    """The service cannot do it right now, e.g. the store cannot be written (503)."""

    status = 503
