"""Guards a request passes before any lookup: the shape of path ids (bodies: `bodies.py`).

Ids (SPEC §5.1): job ids are UUIDs, anything else is `400 invalid jobId` in the body form of the
endpoint (delete adds `"title":"Generic Error"`). Result, signal and rule ids are opaque but made
of safe characters (letters, digits, `.`, `_`, `:`, `-`, at most 128), so no lookup sees junk.
"""

from __future__ import annotations

import re

from engine.api.errors import ApiError, bad_parameter, error_object

INVALID_JOB_ID = "invalid jobId"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")


def checked_job_id(job_id: str, *, title: str | None = None) -> str:
    """A job id in canonical (lower-case) form; 400 `invalid jobId` when it is not a UUID."""
    if not _UUID.match(job_id):
        raise ApiError(400, [error_object(400, INVALID_JOB_ID, title=title)])
    return job_id.lower()


def checked_id(name: str, value: str) -> str:
    """A result, signal or rule id made of safe characters; a 400 naming `name` otherwise."""
    if not _SAFE_ID.match(value):
        raise bad_parameter(name, f"is not a valid id (got {value[:80]!r})")
    return value
