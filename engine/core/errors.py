"""The one hierarchy of errors Hindsight raises on purpose.

Every error a user can cause (a bad query, a bad rule, a bad input file, a corrupt archive, a
refused service request) is a `HindsightError`; the CLI prints it without a traceback, and the API
maps each class to an HTTP status and a Datadog error body (`engine.api.errors`: the only place
that knows HTTP). Anything else escaping the engine is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self


class HindsightError(Exception):
    """Base class of every user-facing Hindsight error."""


# --- queries, conditions, templates ---------------------------------------------------------------


class QuerySyntaxError(HindsightError, ValueError):
    """A log search query that cannot be parsed.

    Carries the 1-based `line` and `column` of the offending text, a short `reason`, an optional
    `hint` for the common mistakes, and renders the query line with a caret under the problem.
    """

    #: What the text is, in the message (`invalid query at line ...`).
    noun: ClassVar[str] = "query"

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
    ) -> Self:
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
            f"invalid {self.noun} at line {self.line}, column {self.column}: {self.reason}\n"
            f"  {self.source_line}\n  {self.caret}"
        )
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class FormulaError(QuerySyntaxError):
    """A calculated field's formula that cannot be parsed or compiled (an unknown function or
    calculated field, a wrong number of arguments), with its position and caret."""

    noun = "formula"


class ConditionError(HindsightError, ValueError):
    """A case condition that does not parse, or names an unknown query.

    Carries the condition `text`, the 1-based `line`/`column` of the problem, a `reason`, and the
    identifiers the rule defines (`known`).
    """

    def __init__(
        self, text: str, reason: str, *, line: int, column: int, known: Sequence[str]
    ) -> None:
        self.text = text
        self.reason = reason
        self.line = line
        self.column = column
        self.known = tuple(known)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: the condition, where it is wrong and why."""
        where = (
            f"line {self.line}, column {self.column}" if self.line > 1 else f"column {self.column}"
        )
        return f"invalid condition {self.text!r} at {where}: {self.reason}"


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


# --- rules ----------------------------------------------------------------------------------------


class Problem(tuple[str, str]):
    """One validation problem: `(path, message)`, the JSON path of the field and what is wrong.

    It is a 2-tuple (`path, message = problem`), and may also say where inside the field's text
    the problem is (`line`, `column`, 1-based: a query, condition or template error).
    """

    line: int | None
    column: int | None

    def __new__(
        cls, path: str, message: str, *, line: int | None = None, column: int | None = None
    ) -> Problem:
        problem = super().__new__(cls, (path, message))
        problem.line = line
        problem.column = column
        return problem

    @property
    def path(self) -> str:
        """The JSON path of the field (`queries[0].query`; empty for the whole document)."""
        return self[0]

    @property
    def message(self) -> str:
        """What is wrong, and what is allowed."""
        return self[1]


class RuleValidationError(HindsightError, ValueError):
    """A rule or job definition that breaks the rule model (SPEC §3.1-3.5).

    Lists every problem at once, each as (JSON path of the field, what is wrong / what is allowed),
    and names the file the rule came from when there is one.
    """

    def __init__(
        self, problems: Sequence[tuple[str, str]], *, source: str | None = None, noun: str = "rule"
    ) -> None:
        self.problems = [item if isinstance(item, Problem) else Problem(*item) for item in problems]
        self.source = source
        self.noun = noun
        where = f"{noun} {source}" if source else noun
        count = len(self.problems)
        lines = [f"{where} is invalid ({count} problem{'s' if count != 1 else ''}):"]
        lines += [f"  {path or '(root)'}: {message}" for path, message in self.problems]
        super().__init__("\n".join(lines))


class RuleSetValidationError(RuleValidationError):
    """Several rules of a folder or file are invalid; `errors` holds one error per rule."""

    def __init__(self, errors: list[RuleValidationError]) -> None:
        self.errors = errors
        problems = [
            Problem(f"{err.source}: {path}" if path else str(err.source), message)
            for err in errors
            for path, message in err.problems
        ]
        super().__init__(problems, source=None)
        text = f"{len(errors)} rules are invalid:\n" + "\n".join(str(err) for err in errors)
        self.args = (text,)

    def __str__(self) -> str:
        return str(self.args[0])


class SigmaPipelineError(HindsightError, ValueError):
    """A Sigma pipeline that cannot be read: names the file or name, and why."""


class UnsupportedRuleError(HindsightError):
    """A rule the engine refuses to run (e.g. an unsupported rule type), named in the message."""


class ReferenceTableError(UnsupportedRuleError):
    """A reference table a rule names that cannot be used: a missing folder, table or column."""


# --- logs and archives ----------------------------------------------------------------------------


class EventError(ValueError):
    """A record that cannot become a log event (the reason is the message)."""


class ArchiveError(HindsightError):
    """An archive that cannot be read: a missing, corrupt or inconsistent file (named)."""


class SnapshotChangedError(ArchiveError):
    """A rerun's archive snapshot changed: a file of it is gone, altered, or new (each named)."""

    def __init__(self, changes: list[str]) -> None:
        super().__init__(
            "the archive snapshot of the run changed, so its results cannot be reproduced:\n  "
            + "\n  ".join(changes)
        )
        self.changes = changes


class RunFileError(HindsightError):
    """A run file or run manifest that cannot be read (the file and the reason named)."""


class IngestError(HindsightError):
    """Input that cannot be ingested at all (unknown format, unreadable path, bad option)."""


class TimeArgumentError(HindsightError, ValueError):
    """A time argument that is none of the accepted forms."""


# --- workflow -------------------------------------------------------------------------------------


class RevisionError(HindsightError):
    """A `path@rev` that git cannot read (not a repository, unknown revision, missing path)."""


class GroupError(HindsightError):
    """Group values that do not fit the rule's group-by fields."""


class TestDefinitionError(HindsightError):
    """A tests file, test or example event that cannot be read (the message names it)."""

    __test__: ClassVar[bool] = False  # not a pytest test class


class LabelError(HindsightError):
    """A labels file that cannot be read; names the file, the row and the field."""


# --- the job service ------------------------------------------------------------------------------


class SettingsError(HindsightError):
    """A configuration file or option that cannot be used (names the file and field)."""


class ServiceError(HindsightError):
    """A request the job service refuses (the API answers it with a Datadog error body)."""


class InvalidRequestError(ServiceError):
    """A malformed or invalid request."""


class InvalidDefinitionError(RuleValidationError, InvalidRequestError):
    """A request whose rule or job definition is invalid: every problem, still structured."""

    @classmethod
    def of(cls, error: RuleValidationError) -> InvalidDefinitionError:
        """The refusal of a request carrying the definition that `error` found invalid."""
        return cls(error.problems, source=error.source, noun=error.noun)


class UnknownIndexError(ServiceError):
    """A job names an index the server does not have (Datadog's "Index must exist")."""


class NotFoundError(ServiceError):
    """An unknown job, result, signal or rule."""


class ConflictError(ServiceError):
    """A request at odds with the resource's state, e.g. cancelling a finished job."""


class UnavailableError(ServiceError):
    """The service cannot do it right now, e.g. the store cannot be written."""


class StoreError(HindsightError):
    """The database cannot be opened or used (names the database)."""


class StoreUnavailableError(StoreError, UnavailableError):
    """The database refused a read or write it should do (full disk, read-only file, ...).

    The message is for API clients; `url` and `cause` name the database and the reason for logs.
    """

    def __init__(self, url: str, cause: str) -> None:
        self.url = url
        self.cause = cause
        super().__init__(f"the job store cannot be used right now ({cause}); try again later")
