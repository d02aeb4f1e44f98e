"""The official client (`datadog-api-client` 2.62.0) against a live server: the wire contract.

The client builds the requests from its own models and checks every response against its
models (`check_return_type`), so these tests fail when a path, a parameter, a request field or
a response shape drifts from Datadog's. The server runs on a loopback port in a thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException, NotFoundException
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
from datadog_api_client.v2.model.security_monitoring_signal_list_request import (
    SecurityMonitoringSignalListRequest,
)
from datadog_api_client.v2.model.security_monitoring_signal_list_request_filter import (
    SecurityMonitoringSignalListRequestFilter,
)
from datadog_api_client.v2.model.security_monitoring_signal_list_request_page import (
    SecurityMonitoringSignalListRequestPage,
)
from datadog_api_client.v2.model.security_monitoring_standard_rule_create_payload import (
    SecurityMonitoringStandardRuleCreatePayload,
)
from datadog_api_client.v2.model.security_monitoring_standard_rule_query import (
    SecurityMonitoringStandardRuleQuery,
)

from tests.api.conftest import DAY_MS, LIBRARY_RULE_ID, UNKNOWN_JOB, Api, serve
from tests.detect.builders import T

pytestmark = pytest.mark.filterwarnings("ignore:Using unstable operation")

UNSTABLE = (
    "cancel_historical_job",
    "convert_job_result_to_signal",
    "delete_historical_job",
    "get_historical_job",
    "get_security_monitoring_histsignal",
    "get_security_monitoring_histsignals_by_job_id",
    "list_historical_jobs",
    "list_security_monitoring_histsignals",
    "run_historical_job",
    "search_security_monitoring_histsignals",
)


@dataclass
class Live:
    """A server on a loopback port and an official client configured for it."""

    api: Api
    client: SecurityMonitoringApi


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, archive: Path, library: Path) -> Iterator[Live]:
    with serve(tmp_path_factory.mktemp("client"), archive, library) as api:
        config = uvicorn.Config(api.client.app, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "the server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        configuration = Configuration(host=f"http://127.0.0.1:{port}")
        configuration.api_key["apiKeyAuth"] = api.headers["DD-API-KEY"]
        configuration.api_key["appKeyAuth"] = api.headers["DD-APPLICATION-KEY"]
        for operation in UNSTABLE:
            configuration.unstable_operations[operation] = True
        try:
            with ApiClient(configuration) as client:
                yield Live(api, SecurityMonitoringApi(client))
        finally:
            server.should_exit = True
            thread.join(10)


def r1_definition() -> JobDefinition:
    """SPEC rule R1 as the client's `JobDefinition`."""
    return JobDefinition(
        _from=T,
        to=T + DAY_MS,
        index="main",
        name="R1 from the client",
        message="Failed logins",
        type="log_detection",
        queries=[
            HistoricalJobQuery(
                query="source:auth @evt.outcome:failure",
                aggregation=SecurityMonitoringRuleQueryAggregation.COUNT,
                group_by_fields=["@usr.id"],
                distinct_fields=[],
            )
        ],
        cases=[
            SecurityMonitoringRuleCaseCreate(
                status=SecurityMonitoringRuleSeverity.HIGH,
                condition="a > 3",
                name="",
                notifications=[],
            )
        ],
        options=HistoricalJobOptions(
            evaluation_window=SecurityMonitoringRuleEvaluationWindow.FIVE_MINUTES,
            keep_alive=SecurityMonitoringRuleKeepAlive.TEN_MINUTES,
            max_signal_duration=SecurityMonitoringRuleMaxSignalDuration.ONE_HOUR,
        ),
    )


def run(live: Live, attributes: RunHistoricalJobRequestAttributes) -> str:
    body = RunHistoricalJobRequest(
        data=RunHistoricalJobRequestData(
            type=RunHistoricalJobRequestDataType.HISTORICALDETECTIONSJOBCREATE,
            attributes=attributes,
        )
    )
    created = live.client.run_historical_job(body)
    job_id: str = created.data.id
    live.api.service.runner.wait(job_id, 30)
    return job_id


def test_the_client_runs_reads_converts_and_deletes_a_job(live: Live) -> None:
    job_id = run(live, RunHistoricalJobRequestAttributes(job_definition=r1_definition()))
    job = live.client.get_historical_job(job_id).data
    assert job.attributes.job_status == "completed"
    assert job.attributes.job_definition.queries[0].data_source.value == "logs"
    listed = live.client.list_historical_jobs(
        filter_query=f"id:{job_id}", page_size=10, page_number=0
    )
    assert [item.id for item in listed.data] == [job_id]
    assert listed.meta.total_count == 1

    results = live.client.get_security_monitoring_histsignals_by_job_id(job_id, page_limit=10)
    (result,) = results.data
    assert result.attributes.attributes["workflow"]["events_matched"] == 4
    single = live.client.get_security_monitoring_histsignal(result.id).data
    assert single.attributes.custom["group_by"] == {"@usr.id": "alice"}
    searched = live.client.search_security_monitoring_histsignals(
        body=SecurityMonitoringSignalListRequest(
            filter=SecurityMonitoringSignalListRequestFilter(query=f"@job_id:{job_id}"),
            page=SecurityMonitoringSignalListRequestPage(limit=5),
        )
    )
    assert [item.id for item in searched.data] == [result.id]
    everything = live.client.list_security_monitoring_histsignals(filter_query="status:high")
    assert result.id in [item.id for item in everything.data]

    live.client.convert_job_result_to_signal(
        ConvertJobResultsToSignalsRequest(
            data=ConvertJobResultsToSignalsData(
                type=ConvertJobResultsToSignalsDataType.HISTORICALDETECTIONSJOBRESULTSIGNALCONVERSION,
                attributes=ConvertJobResultsToSignalsAttributes(
                    job_result_ids=[result.id],
                    notifications=[],
                    signal_message="Confirmed",
                    signal_severity=SecurityMonitoringRuleSeverity.CRITICAL,
                ),
            )
        )
    )
    signals = live.client.list_security_monitoring_signals(filter_query="status:critical")
    (signal,) = signals.data
    assert (
        live.client.get_security_monitoring_signal(signal.id).data.attributes.custom[
            "histsignal_id"
        ]
        == result.id
    )

    with pytest.raises(ApiException) as conflict:
        live.client.cancel_historical_job(job_id)
    assert conflict.value.status == 409
    live.client.delete_historical_job(job_id)
    with pytest.raises(NotFoundException):
        live.client.get_historical_job(job_id)


def test_the_client_pages_histsignals_with_cursors(live: Live) -> None:
    from_rule = JobDefinitionFromRule(_from=T, to=T + DAY_MS, index="main", id=LIBRARY_RULE_ID)
    job_ids = [run(live, RunHistoricalJobRequestAttributes(from_rule=from_rule)) for _ in range(2)]
    for job_id in job_ids:
        job = live.client.get_historical_job(job_id).data
        assert job.attributes.created_from_rule_id == LIBRARY_RULE_ID
    page = live.client.list_security_monitoring_histsignals(page_limit=1)
    assert page.links.next.startswith("http://127.0.0.1:")
    following = live.client.list_security_monitoring_histsignals(
        page_limit=1, page_cursor=page.meta.page.after
    )
    assert following.data[0].id != page.data[0].id


def test_the_client_manages_rules(live: Live) -> None:
    payload = SecurityMonitoringStandardRuleCreatePayload(
        name="Created by the client",
        is_enabled=True,
        message="Failed logins",
        queries=[
            SecurityMonitoringStandardRuleQuery(
                query="source:auth @evt.outcome:failure",
                aggregation=SecurityMonitoringRuleQueryAggregation.COUNT,
                group_by_fields=["@usr.id"],
                distinct_fields=[],
            )
        ],
        cases=[
            SecurityMonitoringRuleCaseCreate(
                status=SecurityMonitoringRuleSeverity.HIGH, condition="a > 3"
            )
        ],
        options=SecurityMonitoringRuleOptions(
            evaluation_window=SecurityMonitoringRuleEvaluationWindow.FIVE_MINUTES,
            keep_alive=SecurityMonitoringRuleKeepAlive.TEN_MINUTES,
            max_signal_duration=SecurityMonitoringRuleMaxSignalDuration.ONE_HOUR,
        ),
    )
    created = live.client.create_security_monitoring_rule(payload)
    assert created.name == "Created by the client"
    assert live.client.get_security_monitoring_rule(created.id).version == 1
    listed = live.client.list_security_monitoring_rules(page_size=100)
    assert created.id in [rule.id for rule in listed.data]
    assert listed.meta.page.total_count == len(listed.data)
    live.client.delete_security_monitoring_rule(created.id)
    with pytest.raises(NotFoundException):
        live.client.get_security_monitoring_rule(created.id)


def test_the_client_reads_error_bodies(live: Live) -> None:
    with pytest.raises(NotFoundException) as missing:
        live.client.get_historical_job(UNKNOWN_JOB)
    assert f"Job {UNKNOWN_JOB} was not found." in str(missing.value.body)
    with pytest.raises(ApiException) as invalid:
        live.client.get_historical_job("inva-lid")
    assert invalid.value.status == 400
