"""The rules pages: list, search and filters, a rule's page, and creating, editing and deleting."""

from __future__ import annotations

import json
import re

import pytest
from markupsafe import escape

from engine.rules import load_rules
from tests.web.conftest import BRUTE_FORCE, EACH_FAILURE, RULES, Web


def _listed(html: str) -> list[str]:
    return re.findall(r'data-rule-id="([^"]+)"', html)


def _library() -> dict[str, dict[str, object]]:
    """The bundled rules by id (their `id`, else the file name), as the service names them."""
    found = {}
    for path in sorted(RULES.rglob("*.json")):
        (rule,) = load_rules(path)
        found[rule.id or path.stem] = rule.to_json()
    return found


def test_the_list_shows_every_bundled_rule_with_its_type_method_severities_and_tags(
    signed_in: Web,
) -> None:
    html = signed_in.get("/rules").text
    library = _library()
    assert sorted(_listed(html)) == sorted(library)
    row = html[html.index(f'data-rule-id="{BRUTE_FORCE}"') :].split("</tr>", 1)[0]
    assert "Okta brute force on a user" in row
    assert "log_detection" in row and "threshold" in row
    assert 'class="sev sev-medium"' in row
    assert "technique:T1110-brute-force" in row and "library" in row


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("q=brute", lambda rule: "brute" in json.dumps([rule["name"], rule.get("tags")]).lower()),
        ("q=source:okta", lambda rule: "source:okta" in json.dumps(rule).lower()),
        ("severity=high", lambda rule: "high" in [c["status"] for c in rule["cases"]]),
        ("tag=security:compliance", lambda rule: "security:compliance" in rule.get("tags", [])),
        ("origin=stored", lambda rule: False),
    ],
    ids=["text", "query-text", "severity", "tag", "origin"],
)
def test_search_and_filters_keep_the_matching_rules(
    signed_in: Web, query: str, keep: object
) -> None:
    assert callable(keep)
    expected = sorted(rule_id for rule_id, rule in _library().items() if keep(rule))
    assert sorted(_listed(signed_in.get(f"/rules?{query}").text)) == expected


def test_filters_that_match_nothing_say_how_to_clear_them(signed_in: Web) -> None:
    html = signed_in.get("/rules?q=no-such-rule-anywhere").text
    assert "No rule matches these filters" in html and 'href="/rules"' in html


def test_an_empty_library_says_what_to_do(signed_in: Web) -> None:
    signed_in.service.library.clear()
    html = signed_in.get("/rules").text
    assert "No rules yet" in html and "--rules rules/" in html and "/rules/new" in html


def test_a_rule_page_shows_queries_cases_options_and_message(signed_in: Web) -> None:
    html = signed_in.get(f"/rules/{BRUTE_FORCE}").text
    assert "source:okta @evt.name:user.session.start @evt.outcome:failure" in html
    assert "failed_login &gt; 9" in html and "10 failures in 5 minutes" in html
    assert "evaluationWindow" in html and "keepAlive" in html and "1800" in html
    assert "<h2>Goal</h2>" in html  # the message rendered as markdown
    assert f"/rules/{BRUTE_FORCE}/run" in html
    assert f"/rules/{BRUTE_FORCE}/edit" not in html and "/delete" not in html  # library: read-only
    assert "Not run yet" in html


def test_a_stored_rule_can_be_created_edited_and_deleted(signed_in: Web) -> None:
    page = signed_in.get("/rules/new")
    assert "My new rule" in page.text
    text = json.dumps(EACH_FAILURE)
    created = signed_in.post("/rules/new", {"rule": text})
    assert created.status_code == 303
    rule_id = created.headers["location"].rsplit("/", 1)[-1]
    stored = signed_in.service.rules.get(rule_id)
    assert stored is not None and stored.document["name"] == "Each Okta failure"
    html = signed_in.get(f"/rules/{rule_id}").text
    assert f"/rules/{rule_id}/edit" in html and f"/rules/{rule_id}/delete" in html
    assert rule_id in _listed(signed_in.get("/rules?origin=stored").text)

    editor = signed_in.get(f"/rules/{rule_id}/edit").text
    assert '"id"' not in editor and "Each Okta failure" in editor
    changed = json.dumps({**EACH_FAILURE, "name": "Each Okta failure, renamed"})
    saved = signed_in.post(f"/rules/{rule_id}/edit", {"rule": changed})
    assert saved.status_code == 303
    stored = signed_in.service.rules.get(rule_id)
    assert stored is not None
    assert (stored.document["name"], stored.document["version"]) == (
        "Each Okta failure, renamed",
        2,
    )

    assert signed_in.post(f"/rules/{rule_id}/delete").status_code == 303
    assert signed_in.service.rules.get(rule_id) is None
    assert signed_in.get(f"/rules/{rule_id}").status_code == 404


def test_an_invalid_rule_is_not_stored_and_the_editor_keeps_the_text(signed_in: Web) -> None:
    text = json.dumps({**EACH_FAILURE, "queries": [{"query": "source:okta AND"}]})
    response = signed_in.post("/rules/new", {"rule": text})
    assert response.status_code == 400
    assert "dangling operator" in response.text
    assert str(escape(text)) in response.text  # the textarea keeps what was typed
    assert signed_in.service.rules.all() == []


def test_library_rules_cannot_be_edited_or_deleted_but_can_be_duplicated(signed_in: Web) -> None:
    assert signed_in.get(f"/rules/{BRUTE_FORCE}/edit").status_code == 400
    assert signed_in.post(f"/rules/{BRUTE_FORCE}/delete").status_code == 400
    copy = signed_in.get(f"/rules/new?from={BRUTE_FORCE}").text
    assert "Copy of Okta brute force on a user" in copy
    assert BRUTE_FORCE in signed_in.service.library


def test_an_unknown_rule_is_a_friendly_404(signed_in: Web) -> None:
    for path in ("/rules/nope", "/rules/nope/run", "/rules/nope/edit", "/rules/new?from=nope"):
        response = signed_in.get(path)
        assert response.status_code == 404
        assert "There is no rule" in response.text and "Traceback" not in response.text
