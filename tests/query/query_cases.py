"""Shared tables for the query tests: event factories and the SPEC §2.10 example table."""

from __future__ import annotations

from typing import Any, NamedTuple

Event = dict[str, Any]


def msg(text: str, **extra: Any) -> Event:
    """An event with a message."""
    return {"message": text, **extra}


def attrs(**attributes: Any) -> Event:
    """An event with only attributes."""
    return {"attributes": attributes}


def tagged(*tags: str, **extra: Any) -> Event:
    """An event with tags."""
    return {"tags": list(tags), **extra}


class Example(NamedTuple):
    """One row of SPEC §2.10: a query, events it matches, events it does not match."""

    query: str
    matches: list[Event]
    misses: list[Event]


AUTH = {"source": "auth"}


def _auth(user: str) -> Event:
    return {**AUTH, "attributes": {"evt": {"outcome": "failure"}, "usr": {"id": user}}}


#: SPEC §2.10, row by row (the engine MUST agree).
SPEC_2_10: list[Example] = [
    Example("hello", [msg("Hello world")], [msg("helloworld"), attrs(a="hello")]),
    Example("hello world", [msg("world, hello there")], [msg("hello")]),
    Example('"hello world"', [msg("Hello, world!"), msg("hello-world")], [msg("world hello")]),
    Example("web*", [msg("webserver started")], [msg("my-www")]),
    Example("*bla", [msg("foobla")], [msg("blafoo")]),
    Example('"*test*"', [msg("a *test* run")], [msg("contest")]),
    Example("service:web*", [{"service": "web-store"}], [tagged("service:web-store")]),
    Example("env:prod", [tagged("env:prod")], [attrs(env="prod")]),
    Example("env:(prod OR test)", [tagged("env:test")], [tagged("env:dev")]),
    Example("tags:cloudfoundry", [tagged("cloudfoundry")], [tagged("x:cloudfoundry")]),
    Example("host:foo", [{"host": "foo"}], [{"host": "foobar"}, tagged("host:foo")]),
    Example("@usr.id:alice", [attrs(usr={"id": "alice"})], [attrs(usr={"id": "Alice"})]),
    Example("@usr.id:Alic?", [attrs(usr={"id": "Alice"})], [attrs(usr={"id": "Alicia"})]),
    Example("@a:hello\\:world", [attrs(a="hello:world")], [attrs(a="hello world")]),
    Example('@a:"hello:world"', [attrs(a="hello:world")], [attrs(a="hello world")]),
    Example(
        "@a:hello?world", [attrs(a="hello world"), attrs(a="hello:world")], [attrs(a="helloworld")]
    ),
    Example("@a:va\\ lue", [attrs(a="va lue")], [attrs(a="value")]),
    Example("@a:va/lue", [attrs(a="va/lue")], [attrs(a="value")]),
    Example(
        "@http.url:/api\\-v1/*",
        [attrs(http={"url": "/api-v1/x/y"})],
        [attrs(http={"url": "/api-v2/x"})],
    ),
    Example(
        "@http.status_code:[400 TO 499]",
        [attrs(http={"status_code": 404}), attrs(http={"status_code": "404"})],
        [attrs(http={"status_code": 500}), attrs(other=1)],
    ),
    Example(
        "@http.status_code:{400 TO 499}",
        [attrs(http={"status_code": 401})],
        [attrs(http={"status_code": 400}), attrs(http={"status_code": 499})],
    ),
    Example(
        "@duration:>=1000",
        [attrs(duration=1000), attrs(duration=2500.5)],
        [attrs(duration=999), attrs(duration="abc")],
    ),
    Example("@b:[50 TO *]", [attrs(b=50), attrs(b=1e6)], [attrs(b=49)]),
    Example("@a:true", [attrs(a=True)], [attrs(a=False), attrs(a="yes")]),
    Example("@field:(value1 OR value2)", [attrs(field="value1")], [attrs(field="value")]),
    Example("-@f1:v1 OR -@f2:v2", [attrs(f1="v1")], [attrs(f1="v1", f2="v2")]),
    Example("NOT (@f:true AND @g:x)", [attrs(f=False, g="x")], [attrs(f=True, g="x")]),
    Example("-@http.status_code:*", [attrs(other=1)], [attrs(http={"status_code": 200})]),
    Example("_exists_:@b", [attrs(b="foo")], [attrs(a="foo")]),
    Example("_missing_:a", [tagged("b:foo")], [tagged("a:foo")]),
    Example(
        "@users.names:Peter",
        [attrs(users={"names": ["Paul", "Peter"]})],
        [attrs(users={"names": ["Petra"]})],
    ),
    Example(
        "@Event.EventData.Data.Name:ObjectServer",
        [
            attrs(
                Event={
                    "EventData": {
                        "Data": [
                            {"Name": "SubjectUserName", "value": "bob"},
                            {"Name": "ObjectServer", "value": "Security"},
                        ]
                    }
                }
            )
        ],
        [],
    ),
    Example(
        "CIDR(@network.client.ip,10.0.0.0/8)",
        [attrs(network={"client": {"ip": "10.1.2.3"}})],
        [attrs(network={"client": {"ip": "11.0.0.1"}}), attrs(network={"client": {"ip": "n/a"}})],
    ),
    Example(
        "CIDR(@ips,13.0.0.0/8,15.0.0.0/8)",
        [attrs(ips=["1.1.1.1", "15.2.2.2"])],
        [attrs(ips=["1.1.1.1"])],
    ),
    Example("a OR b c", [msg("a"), msg("b c")], [msg("b")]),
    Example(
        "source:auth @evt.outcome:failure -@usr.id:svc_*",
        [_auth("alice")],
        [_auth("svc_backup")],
    ),
    Example("status:error", [{"status": "error"}], [{"status": "warn"}]),
    Example("*", [msg("anything"), attrs(x=1), {}], []),
]
