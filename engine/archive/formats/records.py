"""Reading JSON values out of one input file: JSON lines, or one whole JSON document.

Every format reads its input through `iter_values`, which decides per file:

- **JSON lines** (the default): one value per line, read line by line, so memory stays bounded
  whatever the file size. A line that is not valid JSON becomes a `Rejected` and reading goes on.
- **Whole document**: when the file starts with `[` (a JSON array), or with an object that does
  not close on its first line (a pretty-printed `{"Records": [...]}` CloudTrail file or Logs API
  page). The document is parsed whole; a JSON array yields its elements. A document with a syntax
  error is scanned value by value instead, so the values around the damage are still read.

A stream that cannot be decompressed (truncated gzip, corrupt zstd) yields what it read so far and
then one `Rejected` naming the line reached.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson
import zstandard

from engine.archive.sources import InputFile
from engine.core.errors import IngestError

#: Errors a decompressing stream raises on a truncated or corrupt input.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    OSError,
    zlib.error,
    zipfile.BadZipFile,
    zstandard.ZstdError,
)

BOM = b"\xef\xbb\xbf"
# orjson silently turns an integer beyond 64 bits into a float at least this large.
_BIG = float(2**63)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Rejected:
    """A record (or stretch of a file) that could not become a log event."""

    source: str
    line: int
    reason: str


@dataclass(frozen=True)
class Value:
    """One JSON value read from a file: its 1-based line (or index in a document) and value."""

    line: int
    value: Any
    whole_document: bool


class JsonError(ValueError):
    """Text that is not valid JSON; `line` and `column` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{message} at line {line} column {column}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_int(text: str) -> int | str:
    value = int(text)
    # Beyond 64 bits a number cannot be stored as an integer: keep its exact decimal text.
    return value if -(2**63) <= value < 2**64 else text


_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int)


def loads(data: bytes) -> Any:
    """Parse one JSON text with orjson, falling back to the stdlib for what orjson refuses.

    orjson rejects lone UTF-16 surrogates, bytes that are not UTF-8 and numbers beyond a double,
    and turns integers beyond 64 bits into floats; such texts are parsed again by `json`, which
    keeps those integers exactly (as decimal text), replaces lone surrogates and bad bytes with
    U+FFFD and rejects `NaN` / `Infinity` (not JSON). Raises `JsonError`.
    """
    first: orjson.JSONDecodeError | None = None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        first = exc
    else:
        # an integer orjson could have turned into a float has at least 19 digits
        if not _LONG_DIGITS.search(data) or not _has_big_float(value):
            return value
    text = data.decode("utf-8", errors="replace")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        if first is not None:
            raise JsonError(first.msg, first.lineno, first.colno) from None
        raise JsonError(exc.msg, exc.lineno, exc.colno) from None
    except (ValueError, RecursionError) as exc:  # NaN / Infinity, absurd nesting
        raise JsonError(str(exc) or type(exc).__name__, 1, 1) from None
    return _without_surrogates(value) if _SURROGATE_ESCAPE.search(data) else value


def _has_big_float(value: Any) -> bool:
    """Whether a parsed value holds a float of 2**63 or more (maybe a mangled big integer)."""
    kind = type(value)
    if kind is float:
        return bool(abs(value) >= _BIG)
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    else:
        return False
    for item in items:
        kind = type(item)
        if kind is float:
            if abs(item) >= _BIG:
                return True
        elif (kind is dict or kind is list) and _has_big_float(item):
            return True
    return False


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    return value


def open_input(file: InputFile) -> BinaryIO:
    """The decompressed stream of `file`; an `IngestError` when it cannot be opened at all."""
    try:
        return file.open()
    except (OSError, zipfile.BadZipFile) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise IngestError(f"cannot read {file.name}: {reason}") from None


def iter_values(file: InputFile) -> Iterator[Value | Rejected]:
    """Every JSON value of `file`, or a `Rejected` for what cannot be read (see module doc).

    Raises `IngestError` when the file cannot be opened at all.
    """
    with open_input(file) as stream:
        line = 0
        first = True
        try:
            for raw in stream:
                line += 1
                text = (raw[len(BOM) :] if line == 1 and raw.startswith(BOM) else raw).strip()
                if not text:
                    continue
                if first:
                    first = False
                    if starts_document(text):
                        rest, failure = _read_rest(stream)
                        data = text + b"\n" + rest
                        yield from _document(file, data, line)
                        if failure is not None:
                            yield _stream_failure(file, line + data.count(b"\n"), failure)
                        return
                yield from line_values(file, text, line)
        except DECOMPRESSION_ERRORS as exc:
            yield _stream_failure(file, line + 1, exc)


def _read_rest(stream: BinaryIO) -> tuple[bytes, BaseException | None]:
    # `read1` returns what one decompression step produced, so a failure loses nothing read.
    read = getattr(stream, "read1", stream.read)
    chunks: list[bytes] = []
    try:
        while chunk := read(1 << 20):
            chunks.append(chunk)
    except DECOMPRESSION_ERRORS as exc:
        return b"".join(chunks), exc
    return b"".join(chunks), None


def line_values(file: InputFile, text: bytes, line: int) -> Iterator[Value | Rejected]:
    """The value(s) of one stripped, non-blank line of JSON lines (an array gives each item)."""
    try:
        value = loads(text)
    except JsonError as exc:
        yield Rejected(file.name, line, f"invalid JSON: {exc.message} at column {exc.column}")
        return
    if isinstance(value, list):
        for item in value:
            yield Value(line, item, whole_document=False)
    else:
        yield Value(line, value, whole_document=False)


def starts_document(text: bytes) -> bool:
    """Whether a file whose first non-blank line is `text` holds one whole JSON document: an
    array, or an object that does not close on its first line."""
    if text.startswith(b"["):
        return True
    if not text.startswith(b"{"):
        return False
    try:
        loads(text)
    except JsonError:
        return _opens_more_than_it_closes(text)
    return False


def _opens_more_than_it_closes(text: bytes) -> bool:
    depth = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return depth > 0


def _document(file: InputFile, data: bytes, first_line: int) -> Iterator[Value | Rejected]:
    try:
        value = loads(data)
    except JsonError:
        yield from _scan(file, data.decode("utf-8", errors="replace"), first_line)
        return
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            yield Value(index, item, whole_document=True)
    else:
        yield Value(1, value, whole_document=True)


_NEXT_RECORD = re.compile(r"\n[ \t]*[{\[]")
_SEPARATORS = " \t\r\n,"


def _scan(file: InputFile, text: str, first_line: int) -> Iterator[Value | Rejected]:
    """Read a damaged document value by value.

    After an error, reading resumes at the next line that starts an object or array, so one bad
    record does not lose the rest of the file; the brackets of a broken container are skipped.
    Resuming inside the broken value (a `Records` list) re-reads the records before the damage;
    the damage itself is reported once, at the innermost value that holds it.
    """
    position, size = 0, len(text)
    opened = resumed = False
    line, counted = first_line, 0  # `line` is the line of `position`; newlines counted so far
    pending: tuple[int, Rejected] | None = None  # (error offset, its report) not yet yielded
    while True:
        while position < size and text[position] in _SEPARATORS:
            position += 1
        if position >= size:
            break
        char = text[position]
        if char == "[" and position == 0:
            opened = True
            position += 1
            continue
        if (char == "]" and (opened or resumed)) or (char == "}" and resumed):
            position += 1
            continue
        line += text.count("\n", counted, position)
        counted = position
        try:
            value, end = _DECODER.raw_decode(text, position)
        except (ValueError, RecursionError) as exc:
            at = exc.pos if isinstance(exc, json.JSONDecodeError) else position
            if pending is not None and pending[0] != at:
                yield pending[1]
            pending = (at, Rejected(file.name, line, _scan_reason(exc, text, line, position)))
            resume = _NEXT_RECORD.search(text, position + 1)
            if resume is None:
                break
            position, resumed = resume.start() + 1, True
            continue
        if pending is not None and position > pending[0]:
            yield pending[1]
            pending = None
        if char == "[" and isinstance(value, list):
            for item in value:
                yield Value(line, _without_surrogates(item), whole_document=False)
        else:
            yield Value(line, _without_surrogates(value), whole_document=False)
        position = end
    if pending is not None:
        yield pending[1]


def _scan_reason(exc: Exception, text: str, line: int, start: int) -> str:
    """The reason for a value starting at `start` (on `line`) that failed to parse."""
    if not isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc or type(exc).__name__}"
    bad_line = line + text.count("\n", start, exc.pos)
    column = exc.pos - text.rfind("\n", 0, exc.pos)
    where = f"column {column}" if bad_line == line else f"line {bad_line} column {column}"
    return f"invalid JSON: {exc.msg} at {where}"


def _stream_failure(file: InputFile, line: int, exc: BaseException) -> Rejected:
    detail = str(exc) or type(exc).__name__
    return Rejected(
        file.name,
        line,
        f"cannot decompress or read the rest of the file (stopped at line {line}): {detail}",
    )
