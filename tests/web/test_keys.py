"""The key page, the server-side session and its cookie, and CSRF protection of every form."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from engine.store.keys import SCOPES
from engine.store.tables import api_keys
from engine.web.sessions import COOKIE, SessionStore
from tests.web.conftest import BRUTE_FORCE, Web, csrf_of

PAGES = ["/rules", "/rules/new", f"/rules/{BRUTE_FORCE}", "/jobs", "/signals"]


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_keys_sends_to_the_key_page_and_back(web: Web, path: str) -> None:
    response = web.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/keys?next={path}"
    page = web.client.get(response.headers["location"])
    assert 'name="api_key"' in page.text and 'name="application_key"' in page.text
    pair = web.keys.create(name="bob")
    signed = web.client.post(
        "/keys",
        data={
            "csrf_token": csrf_of(page.text),
            "api_key": pair.api_key,
            "application_key": pair.application_key,
            "next": path,
        },
        follow_redirects=False,
    )
    assert (signed.status_code, signed.headers["location"]) == (303, path)
    assert web.client.get(path).status_code == 200


def test_the_session_cookie_is_httponly_samesite_strict_and_holds_no_key(web: Web) -> None:
    pair = web.sign_in()
    cookies = [value for name, value in web.client.cookies.items() if name == COOKIE]
    assert len(cookies) == 1
    assert pair.api_key not in cookies[0] and pair.application_key not in cookies[0]
    page = web.client.get("/keys")
    header = page.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/" in header
    for path in PAGES:
        text = web.client.get(path).text
        assert pair.api_key not in text and pair.application_key not in text


def test_signing_in_replaces_the_session_id(web: Web) -> None:
    web.client.get("/keys")
    before = web.client.cookies[COOKIE]
    web.sign_in()
    after = web.client.cookies[COOKIE]
    assert before != after
    intruder = web.browser()
    intruder.client.cookies.set(COOKIE, before)
    assert intruder.client.get("/rules", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("api_key", "application_key"),
    [("nope", "nope"), ("", ""), ("real-api", "nope"), ("nope", "real-app")],
    ids=["both-unknown", "empty", "unknown-application-key", "unknown-api-key"],
)
def test_wrong_keys_are_refused_on_the_key_page(
    web: Web, api_key: str, application_key: str
) -> None:
    pair = web.keys.create(name="real")
    values = {"real-api": pair.api_key, "real-app": pair.application_key}
    page = web.client.get("/keys")
    response = web.client.post(
        "/keys",
        data={
            "csrf_token": csrf_of(page.text),
            "api_key": values.get(api_key, api_key),
            "application_key": values.get(application_key, application_key),
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "These keys are not valid" in response.text
    assert web.client.get("/rules", follow_redirects=False).status_code == 303


def test_the_key_page_refuses_a_form_without_its_token(web: Web) -> None:
    pair = web.keys.create(name="real")
    web.client.get("/keys")
    response = web.client.post(
        "/keys",
        data={"api_key": pair.api_key, "application_key": pair.application_key},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert web.client.get("/rules", follow_redirects=False).status_code == 303


def test_sign_out_forgets_the_session(signed_in: Web) -> None:
    assert signed_in.post("/keys/forget").status_code == 303
    assert signed_in.client.get("/rules", follow_redirects=False).status_code == 303


def test_a_deleted_key_signs_its_sessions_out(signed_in: Web) -> None:
    with signed_in.service.db.begin() as connection:
        connection.execute(sa.delete(api_keys))
    response = signed_in.client.get("/jobs")
    assert response.url.path == "/keys"
    assert "Your keys are no longer valid" in response.text


def test_the_key_page_lists_the_scopes_of_the_signed_in_key(web: Web) -> None:
    web.sign_in(SCOPES[0], SCOPES[2], name="reader")
    text = web.client.get("/keys").text
    assert "reader" in text
    assert SCOPES[0] in text and SCOPES[2] in text and SCOPES[1] not in text


# --- CSRF on every POST ------------------------------------------------------------------------

POSTS = [
    (f"/rules/{BRUTE_FORCE}/run", {"index": "main", "range": "span"}),
    ("/rules/new", {"rule": "{}"}),
    ("/rules/validate", {"rule": "{}"}),
    ("/convert", {"result": "x", "severity": "high"}),
    ("/keys/forget", {}),
]


@pytest.mark.parametrize(("path", "data"), POSTS, ids=[path for path, _ in POSTS])
@pytest.mark.parametrize("token", ["missing", "wrong", "another-session"])
def test_every_form_refuses_a_post_without_the_session_token(
    shared: Web, path: str, data: dict[str, str], token: str
) -> None:
    signed_in = shared.browser()
    signed_in.sign_in()
    other = shared.browser()
    other.sign_in(name="mallory")
    tokens = {"missing": None, "wrong": "x" * 43, "another-session": other.token}
    body = dict(data)
    if tokens[token] is not None:
        body["csrf_token"] = str(tokens[token])
    response = signed_in.client.post(path, data=body, follow_redirects=False)
    assert response.status_code == 403, response.text
    assert "did not come from this page" in response.text
    assert signed_in.service.jobs.all() == []
    assert signed_in.client.get("/rules", follow_redirects=False).status_code == 200


def test_the_token_may_come_in_the_htmx_header(signed_in: Web) -> None:
    response = signed_in.client.post(
        "/rules/validate", data={"rule": "{}"}, headers={"X-CSRF-Token": signed_in.token}
    )
    assert response.status_code == 200
    assert "problem" in response.text


def test_sessions_expire_when_idle_and_the_store_is_bounded() -> None:
    store = SessionStore(idle_seconds=0.0, max_sessions=3)
    idle = store.new()
    assert store.get(idle.id) is None
    store = SessionStore(max_sessions=3)
    sessions = [store.new() for _ in range(5)]
    assert len(store) == 3
    assert store.get(sessions[0].id) is None
    assert store.get(sessions[-1].id) is sessions[-1]


def test_tokens_and_ids_are_long_random_strings(web: Web) -> None:
    first, second = web.browser(), web.browser()
    tokens = {csrf_of(first.client.get("/keys").text), csrf_of(second.client.get("/keys").text)}
    assert len(tokens) == 2
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{40,}", token) for token in tokens)
