"""The official `datadog-api-client` (2.62.0), unchanged, against a real `hindsight serve`.

The seed workflow of the job service issue, end to end over HTTP on a loopback port: run a
historical job from a definition and from a stored rule, poll it to completion, list, search and
get its results, convert one to a signal (delivered to a webhook), list the signal, cancel and
delete with their conflicts, and bad keys.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v2.api.security_monitoring_api import SecurityMonitoringApi
from datadog_api_client.v2.model.convert_job_results_to_signals_attributes import (
    ConvertJobResultsToSignalsAttributes,
)
from datadog_api_client.v2.model.convert_job_results_to_signals_data import (
    ConvertJobResultsToSignalsData,
)
from datadog_api_client.v2.model.convert_job_results_to_signals_data_type import (
    ConvertJobResultsToSignalsDataType,
)
from datadog_api_client.v2.model.convert_job_results_to_signals_request import (
    ConvertJobResultsToSignalsRequest,
)
from datadog_api_client.v2.model.historical_job_options import HistoricalJobOptions
from datadog_api_client.v2.model.historical_job_query import HistoricalJobQuery
from datadog_api_client.v2.model.job_definition import JobDefinition
from datadog_api_client.v2.model.job_definition_from_rule import JobDefinitionFromRule
from datadog_api_client.v2.model.run_historical_job_request import RunHistoricalJobRequest
from datadog_api_client.v2.model.run_historical_job_request_attributes import (
    RunHistoricalJobRequestAttributes,
)
from datadog_api_client.v2.model.run_historical_job_request_data import (
    RunHistoricalJobRequestData,
)
from datadog_api_client.v2.model.run_historical_job_request_data_type import (
    RunHistoricalJobRequestDataType,
)
from datadog_api_client.v2.model.security_monitoring_rule_case_create import (
    SecurityMonitoringRuleCaseCreate,
)
from datadog_api_client.v2.model.security_monitoring_rule_evaluation_window import (
    SecurityMonitoringRuleEvaluationWindow,
)
from datadog_api_client.v2.model.security_monitoring_rule_keep_alive import (
    SecurityMonitoringRuleKeepAlive,
)
from datadog_api_client.v2.model.security_monitoring_rule_max_signal_duration import (
    SecurityMonitoringRuleMaxSignalDuration,
)
from datadog_api_client.v2.model.security_monitoring_rule_options import (
    SecurityMonitoringRuleOptions,
)
from datadog_api_client.v2.model.security_monitoring_rule_query_aggregation import (
    SecurityMonitoringRuleQueryAggregation,
)
from datadog_api_client.v2.model.security_monitoring_rule_severity import (
    SecurityMonitoringRuleSeverity,
)
from datadog_api_client.v2.model.security_monitoring_rule_type_create import (
    SecurityMonitoringRuleTypeCreate,
)
from datadog_api_client.v2.model.security_monitoring_signal_list_request import (
    SecurityMonitoringSignalListRequest,
)
from datadog_api_client.v2.model.security_monitoring_signal_list_request_filter import (
    SecurityMonitoringSignalListRequestFilter,
)
from datadog_api_client.v2.model.security_monitoring_standard_rule_create_payload import (
    SecurityMonitoringStandardRuleCreatePayload,
)
from datadog_api_client.v2.model.security_monitoring_standard_rule_query import (
    SecurityMonitoringStandardRuleQuery,
)

from engine import ingest
from engine.notify import NotificationSettings, WebhookConfig
from engine.service.settings import ServerSettings
from tests.detect.builders import T, at, event
from tests.live import LiveServer, Receiver, live_server, webhook_receiver

pytestmark = pytest.mark.filterwarnings("ignore:Using unstable operation")

UNSTABLE = (
    "run_historical_job",
    "list_historical_jobs",
    "get_historical_job",
    "cancel_historical_job",
    "delete_historical_job",
    "convert_job_result_to_signal",
    "get_security_monitoring_histsignals_by_job_id",
    "list_security_monitoring_histsignals",
    "search_security_monitoring_histsignals",
    "get_security_monitoring_histsignal",
)
EVENTS = [event(s) for s in (0, 60, 120, 180)] + [event(s, "bob") for s in (0, 60)]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("live")
    logs = root / "logs.ndjson"
    logs.write_text("\n".join(json.dumps(item) for item in EVENTS))
    ingest(logs, root / "archive")
    settings = ServerSettings(
        archive=root / "archive",
        database=str(root / "hindsight.db"),
        notifications=NotificationSettings(webhooks={"soc": WebhookConfig(url=receiver.url)}),
    )
    with live_server(settings) as running:
        yield running


def client_for(server: LiveServer, *, api_key: str | None = None) -> SecurityMonitoringApi:
    configuration = Configuration(host=server.url)
    configuration.api_key["apiKeyAuth"] = api_key or server.keys.api_key
    configuration.api_key["appKeyAuth"] = server.keys.application_key
    for operation in UNSTABLE:
        configuration.unstable_operations[operation] = True
    return SecurityMonitoringApi(ApiClient(configuration))


@pytest.fixture(scope="module")
def api(server: LiveServer) -> SecurityMonitoringApi:
    return client_for(server)


def definition(name: str = "Brute force (R1)") -> JobDefinition:
    return JobDefinition(
        _from=T,
        to=at(3600),
        index="main",
        name=name,
        message="{{@usr.id}} failed {{events_matched}} logins",
        queries=[
            HistoricalJobQuery(
                query="source:auth @evt.outcome:failure",
                aggregation="count",
                group_by_fields=["@usr.id"],
                distinct_fields=[],
            )
        ],
        cases=[
            SecurityMonitoringRuleCaseCreate(
                name="", status=SecurityMonitoringRuleSeverity.HIGH, condition="a > 3"
            )
        ],
        options=HistoricalJobOptions(
            evaluation_window=300, keep_alive=600, max_signal_duration=3600
        ),
    )


def run_request(attributes: RunHistoricalJobRequestAttributes) -> RunHistoricalJobRequest:
    return RunHistoricalJobRequest(
        data=RunHistoricalJobRequestData(
            type=RunHistoricalJobRequestDataType.HISTORICALDETECTIONSJOBCREATE,
            attributes=attributes,
        )
    )


def completed(api: SecurityMonitoringApi, job_id: str) -> Any:
    deadline = time.monotonic() + 60
    while True:
        job = api.get_historical_job(job_id)
        if job.data.attributes.job_status in ("completed", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, "the job did not finish in 60 s"
        time.sleep(0.05)


def test_run_a_job_from_a_definition_and_review_its_results(api: SecurityMonitoringApi) -> None:
    created = api.run_historical_job(
        run_request(RunHistoricalJobRequestAttributes(job_definition=definition()))
    )
    job_id = created.data.id
    job = completed(api, job_id)
    attributes = job.data.attributes
    assert (attributes.job_status, attributes.job_name) == ("completed", "Brute force (R1)")
    assert str(attributes.job_definition.queries[0].data_source) == "logs"
    listed = api.list_historical_jobs(filter_query=f"id:{job_id}")
    assert [item.id for item in listed.data] == [job_id]
    assert listed.meta.total_count == 1
    (result,) = api.get_security_monitoring_histsignals_by_job_id(job_id).data
    assert result.attributes.attributes["workflow"]["events_matched"] == 4
    assert result.attributes.message == "%%%\nalice failed 4 logins\n%%%"
    listed_all = api.list_security_monitoring_histsignals(
        filter_query="@usr.id:alice OR status:high"
    )
    assert result.id in [item.id for item in listed_all.data]
    searched = api.search_security_monitoring_histsignals(
        body=SecurityMonitoringSignalListRequest(
            filter=SecurityMonitoringSignalListRequestFilter(
                query=f"@job_id:{job_id}", _from=None, to=None
            )
        )
    )
    assert [item.id for item in searched.data] == [result.id]
    single = api.get_security_monitoring_histsignal(result.id)
    assert single.data.id == result.id
    assert single.data.attributes.custom["group_by"] == {"@usr.id": "alice"}


def test_convert_a_result_to_a_signal_delivered_to_a_webhook(
    api: SecurityMonitoringApi, receiver: Receiver
) -> None:
    created = api.run_historical_job(
        run_request(RunHistoricalJobRequestAttributes(job_definition=definition("to convert")))
    )
    completed(api, created.data.id)
    (result,) = api.get_security_monitoring_histsignals_by_job_id(created.data.id).data
    api.convert_job_result_to_signal(
        body=ConvertJobResultsToSignalsRequest(
            data=ConvertJobResultsToSignalsData(
                type=ConvertJobResultsToSignalsDataType.HISTORICALDETECTIONSJOBRESULTSIGNALCONVERSION,
                attributes=ConvertJobResultsToSignalsAttributes(
                    job_result_ids=[result.id],
                    notifications=["@webhook-soc"],
                    signal_message="Confirmed brute force on alice",
                    signal_severity=SecurityMonitoringRuleSeverity.CRITICAL,
                ),
            )
        )
    )
    signals = api.list_security_monitoring_signals(filter_query="status:critical").data
    (signal,) = [item for item in signals if item.attributes.message.startswith("%%%\nConfirmed")]
    assert api.get_security_monitoring_signal(signal.id).data.id == signal.id
    deadline = time.monotonic() + 10
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    (delivered,) = [r for r in receiver.requests if r.get("signal", {}).get("id") == signal.id]
    assert delivered["signal"]["attributes"]["status"] == "critical"


def test_run_a_stored_rule_with_a_case_index(api: SecurityMonitoringApi) -> None:
    rule = api.create_security_monitoring_rule(
        SecurityMonitoringStandardRuleCreatePayload(
            name="escalating",
            type=SecurityMonitoringRuleTypeCreate.LOG_DETECTION,
            is_enabled=True,
            queries=[
                SecurityMonitoringStandardRuleQuery(
                    query="source:auth",
                    aggregation=SecurityMonitoringRuleQueryAggregation.COUNT,
                    group_by_fields=["@usr.id"],
                )
            ],
            cases=[
                SecurityMonitoringRuleCaseCreate(
                    status=SecurityMonitoringRuleSeverity.CRITICAL, condition="a > 10"
                ),
                SecurityMonitoringRuleCaseCreate(
                    status=SecurityMonitoringRuleSeverity.MEDIUM, condition="a > 1"
                ),
            ],
            options=SecurityMonitoringRuleOptions(
                evaluation_window=SecurityMonitoringRuleEvaluationWindow.FIVE_MINUTES,
                keep_alive=SecurityMonitoringRuleKeepAlive.TEN_MINUTES,
                max_signal_duration=SecurityMonitoringRuleMaxSignalDuration.ONE_HOUR,
            ),
            message="many logins",
        )
    )
    assert api.get_security_monitoring_rule(rule.id).name == "escalating"
    assert rule.id in [item.id for item in api.list_security_monitoring_rules(page_size=100).data]
    created = api.run_historical_job(
        run_request(
            RunHistoricalJobRequestAttributes(
                from_rule=JobDefinitionFromRule(
                    id=rule.id, _from=T, to=at(3600), index="main", case_index=1
                )
            )
        )
    )
    job = completed(api, created.data.id)
    assert job.data.attributes.created_from_rule_id == rule.id
    results = api.get_security_monitoring_histsignals_by_job_id(created.data.id).data
    assert results
    assert {item.attributes.attributes["triggeringRuleCase"]["status"] for item in results} == {
        "medium"
    }


def test_cancel_and_delete_conflicts_then_not_found(api: SecurityMonitoringApi) -> None:
    created = api.run_historical_job(
        run_request(RunHistoricalJobRequestAttributes(job_definition=definition("finished")))
    )
    job_id = created.data.id
    completed(api, job_id)
    with pytest.raises(ApiException) as conflict:
        api.cancel_historical_job(job_id)
    assert conflict.value.status == 409
    api.delete_historical_job(job_id)
    with pytest.raises(ApiException) as missing:
        api.get_historical_job(job_id)
    assert missing.value.status == 404
    assert missing.value.body == {
        "errors": [
            {"status": "404", "title": "Not Found", "detail": f"Job {job_id} was not found."}
        ]
    }


def test_unknown_index_and_unknown_rule(api: SecurityMonitoringApi) -> None:
    bad_index = definition()
    bad_index.index = "nope"
    with pytest.raises(ApiException) as index_error:
        api.run_historical_job(
            run_request(RunHistoricalJobRequestAttributes(job_definition=bad_index))
        )
    assert index_error.value.status == 400
    assert index_error.value.body == {
        "errors": [
            "input_validation_error(Field 'index' is invalid: Invalid index): Index must exist"
        ]
    }
    with pytest.raises(ApiException) as rule_error:
        api.run_historical_job(
            run_request(
                RunHistoricalJobRequestAttributes(
                    from_rule=JobDefinitionFromRule(
                        id="no-such-rule", _from=T, to=at(60), index="main"
                    )
                )
            )
        )
    assert rule_error.value.status == 404


def test_bad_keys_are_refused(server: LiveServer) -> None:
    with pytest.raises(ApiException) as refused:
        client_for(server, api_key="0" * 32).list_historical_jobs()
    assert refused.value.status == 403
    assert refused.value.body == {"errors": ["Forbidden"]}


def test_jobs_and_results_survive_a_server_restart(tmp_path: Path) -> None:
    logs = tmp_path / "logs.ndjson"
    logs.write_text("\n".join(json.dumps(item) for item in EVENTS))
    ingest(logs, tmp_path / "archive")
    settings = ServerSettings(archive=tmp_path / "archive", database=str(tmp_path / "h.db"))
    with live_server(settings) as first:
        api = client_for(first)
        job_id = api.run_historical_job(
            run_request(RunHistoricalJobRequestAttributes(job_definition=definition()))
        ).data.id
        completed(api, job_id)
        (result,) = api.get_security_monitoring_histsignals_by_job_id(job_id).data
    with live_server(settings) as second:
        api = client_for(second)
        assert api.get_historical_job(job_id).data.attributes.job_status == "completed"
        assert api.get_security_monitoring_histsignal(result.id).data.id == result.id


def test_histsignal_pages_follow_their_cursors(api: SecurityMonitoringApi) -> None:
    job_id = api.run_historical_job(
        run_request(RunHistoricalJobRequestAttributes(job_definition=definition("paged")))
    ).data.id
    completed(api, job_id)
    seen: list[str] = []
    page = api.list_security_monitoring_histsignals(page_limit=1)
    while True:
        seen += [item.id for item in page.data]
        cursor = page.meta.page.get("after")  # absent on the last page
        if not cursor:
            break
        assert page.links.next.startswith("http://127.0.0.1:")
        page = api.list_security_monitoring_histsignals(page_limit=1, page_cursor=cursor)
    everything = [
        item.id for item in api.list_security_monitoring_histsignals(page_limit=1000).data
    ]
    assert seen == everything
    assert len(seen) == len(set(seen)) >= 1


def test_rules_delete_and_malformed_job_ids(api: SecurityMonitoringApi) -> None:
    rule = api.create_security_monitoring_rule(
        SecurityMonitoringStandardRuleCreatePayload(
            name="short lived",
            type=SecurityMonitoringRuleTypeCreate.LOG_DETECTION,
            is_enabled=True,
            queries=[SecurityMonitoringStandardRuleQuery(query="*", group_by_fields=[])],
            cases=[
                SecurityMonitoringRuleCaseCreate(
                    status=SecurityMonitoringRuleSeverity.INFO, condition="a > 0"
                )
            ],
            options=SecurityMonitoringRuleOptions(),
            message="",
        )
    )
    api.delete_security_monitoring_rule(rule.id)
    with pytest.raises(ApiException) as gone:
        api.get_security_monitoring_rule(rule.id)
    assert gone.value.status == 404
    with pytest.raises(ApiException) as malformed:
        api.get_historical_job("inva-lid")
    assert (malformed.value.status, malformed.value.body) == (
        400,
        {"errors": [{"status": "400", "detail": "invalid jobId"}]},
    )
