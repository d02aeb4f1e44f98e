"""A result page shows what its detection method found (new values, the two locations...)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.web.conftest import serve_web


@pytest.mark.parametrize(
    ("rule_file", "found"),
    [
        (
            "okta/okta-impossible-travel.json",
            "impossible_travel.triggering_locations.second_location.city",
        ),
        ("okta/okta-login-from-new-country.json", "new_value.values"),
    ],
)
def test_the_result_page_shows_what_the_method_found(
    tmp_path: Path, rule_file: str, found: str
) -> None:
    document = json.loads((REPO / "rules" / rule_file).read_text())
    with serve_web(tmp_path) as web:
        web.sign_in()
        job_id = web.run(web.stored_rule(document))
        (first, *_) = web.service.jobs.results(job_id)
        html = web.get(f"/results/{first.id}").text
    assert 'id="method-found"' in html
    assert f'<span class="mono">{found}</span>' in html
    method = json.loads((REPO / "rules" / rule_file).read_text())["options"]["detectionMethod"]
    assert f"Log Detection · {method}" in html
