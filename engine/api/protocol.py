"""The HTTP protocol `hindsight serve` runs: uvicorn's h11 protocol with Datadog error bodies.

A request uvicorn cannot parse (a malformed request line, header or chunked body, a bad
`Content-Length`, a target that is not ASCII, no `Host`) never reaches the application. Stock
uvicorn answers it with a plain-text 400 (`Invalid HTTP request received.`); this protocol
answers the same 400 with a Datadog error body (`application/vnd.api+json`) and closes the
connection.
"""

from __future__ import annotations

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

from engine.api.errors import JSON_API, error_object

#: The detail of the 400 a request that is not valid HTTP/1.1 gets.
INVALID_HTTP = "the request is not valid HTTP/1.1"
_BODY = orjson.dumps({"errors": [error_object(400, INVALID_HTTP)]})


class DatadogH11Protocol(H11Protocol):
    """uvicorn's h11 protocol whose 400 for a malformed request is a Datadog error body."""

    def send_400_response(self, msg: str) -> None:
        """Answer 400 with a Datadog error body and close the connection."""
        headers = [
            (b"content-type", JSON_API.encode()),
            (b"content-length", str(len(_BODY)).encode()),
            (b"connection", b"close"),
        ]
        events = (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=_BODY),
            h11.EndOfMessage(),
        )
        try:
            output = b"".join(self.conn.send(event) or b"" for event in events)
        except h11.LocalProtocolError:  # a response was already under way: just close
            output = b""
        self.transport.write(output)
        self.transport.close()
