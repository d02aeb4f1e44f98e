"""SPEC TC-30: the API contract and a job's lifecycle, step by step (SPEC §8)."""

from __future__ import annotations

import re

from tests.api.conftest import HISTORICAL, R1, Api, Hold, convert_body, definition, run_body
from tests.detect.builders import T

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")
POSTGRES_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00\Z")
TC1_RANGE_END = T + 1_000_000  # TC-1's events only: the background logs start at T+1000 s


def test_tc30_api_contract_and_lifecycle(api: Api, held: Hold) -> None:
    base, headers = HISTORICAL, api.headers
    tc1 = definition(R1, end=TC1_RANGE_END)

    # 1. run -> 201 {"data":{"id":"<uuid>","type":"historicalDetectionsJob"}}
    created = api.client.post(f"{base}/jobs", json=run_body(tc1), headers=headers)
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/vnd.api+json"
    job_id = created.json()["data"]["id"]
    assert UUID.match(job_id)
    assert created.json() == {"data": {"id": job_id, "type": "historicalDetectionsJob"}}

    # 2. get -> 200, pending, then running, then completed; the definition echoed normalized
    def job() -> dict[str, object]:
        response = api.client.get(f"{base}/jobs/{job_id}", headers=headers)
        assert response.status_code == 200
        attributes: dict[str, object] = response.json()["data"]["attributes"]
        return attributes

    pending = job()
    assert pending["jobStatus"] == "pending"
    assert "progressRate" not in pending
    held.start()
    running = job()
    assert running["jobStatus"] == "running"
    assert isinstance(running["progressRate"], float)
    held.release()
    api.service.runner.wait(job_id, 30)
    done = job()
    assert done["jobStatus"] == "completed"
    assert done["progressRate"] == 1.0
    assert POSTGRES_TIME.match(str(done["createdAt"]))
    assert POSTGRES_TIME.match(str(done["modifiedAt"]))
    echoed = done["jobDefinition"]
    assert isinstance(echoed, dict)
    (echoed_query,) = echoed["queries"]
    assert echoed_query["name"] == ""
    assert echoed_query["dataSource"] == "logs"
    assert echoed_query["hasOptionalGroupByFields"] is False
    assert echoed["options"]["detectionMethod"] == "threshold"
    assert done["jobName"] == tc1["name"]
    assert done["signalOutput"] is False

    # 3. list filtered by id -> exactly that job
    listed = api.client.get(
        f"{base}/jobs", params={"filter[query]": f"id:{job_id}"}, headers=headers
    )
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["data"]] == [job_id]
    assert listed.json()["meta"] == {"totalCount": 1}

    # 4. the job's histsignals -> TC-1's single result; by id -> the same under `custom`
    results = api.client.get(f"{base}/jobs/{job_id}/histsignals", headers=headers)
    assert results.status_code == 200
    (result,) = results.json()["data"]
    inner = result["attributes"]["attributes"]
    assert result["attributes"]["status"] == "high"
    assert inner["group_by"] == {"@usr.id": "alice"}
    assert inner["workflow"]["first_seen"] == "2024-01-01T00:00:00.000Z"
    assert inner["workflow"]["last_seen"] == "2024-01-01T00:03:00.000Z"
    assert inner["workflow"]["events_matched"] == 4
    single = api.client.get(f"{base}/histsignals/{result['id']}", headers=headers)
    assert single.status_code == 200
    expected = {k: v for k, v in result["attributes"].items() if k != "attributes"}
    assert single.json() == {
        "data": {**result, "attributes": {**expected, "custom": inner}},
    }

    # 5. convert an empty id -> 400; the result's id -> 204
    empty = api.client.post(f"{base}/jobs/signal_convert", json=convert_body([""]), headers=headers)
    assert empty.status_code == 400
    assert empty.json() == {
        "errors": [
            {"status": "400", "title": "Generic Error", "detail": "empty jobResultId provided"}
        ]
    }
    converted = api.client.post(
        f"{base}/jobs/signal_convert", json=convert_body([result["id"]]), headers=headers
    )
    assert converted.status_code == 204
    assert converted.content == b""

    # 6. cancel the completed job -> 409; delete -> 204; get -> 404
    cancel = api.client.patch(f"{base}/jobs/{job_id}/cancel", headers=headers)
    assert cancel.status_code == 409
    assert cancel.json()["errors"][0]["status"] == "409"
    assert api.client.delete(f"{base}/jobs/{job_id}", headers=headers).status_code == 204
    gone = api.client.get(f"{base}/jobs/{job_id}", headers=headers)
    assert gone.status_code == 404
    assert gone.json() == {
        "errors": [
            {"status": "404", "title": "Not Found", "detail": f"Job {job_id} was not found."}
        ]
    }

    # 7. refusals: malformed id, unknown index, bad keepAlive, window > keepAlive, unknown rule
    malformed = api.client.get(f"{base}/jobs/inva-lid", headers=headers)
    assert malformed.status_code == 400
    assert malformed.json() == {"errors": [{"status": "400", "detail": "invalid jobId"}]}
    nope = api.client.post(f"{base}/jobs", json=run_body({**tc1, "index": "nope"}), headers=headers)
    assert nope.status_code == 400
    assert nope.json()["errors"][0].endswith("Index must exist")
    for options in (
        {**R1["options"], "keepAlive": 999999},
        {**R1["options"], "evaluationWindow": 3600, "keepAlive": 600},
    ):
        bad = api.client.post(
            f"{base}/jobs", json=run_body({**tc1, "options": options}), headers=headers
        )
        assert bad.status_code == 400, options
    unknown_rule = api.client.post(
        f"{base}/jobs",
        json={
            "data": {
                "type": "historicalDetectionsJobCreate",
                "attributes": {
                    "fromRule": {"id": "abc-def-ghi", "from": T, "to": T + 1, "index": "main"}
                },
            }
        },
        headers=headers,
    )
    assert unknown_rule.status_code == 404
    assert unknown_rule.json() == {"errors": [{"status": "404", "title": "Not Found"}]}
