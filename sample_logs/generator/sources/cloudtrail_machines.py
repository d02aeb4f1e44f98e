"""CloudTrail background of the machines: Datadog's AWS integration crawler and the EC2 instances.

The crawler assumes its role hourly and polls Describe*/List*/Get* calls on fixed periods; each
instance-profile role refreshes its credentials every ~6 h and reads keys, parameters, secrets
and tags now and then.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..catalog.agents import UA_BOTO3, UA_DD_AGENT, UA_DD_CRAWLER, UA_GO_SDK, UA_JAVA
from ..catalog.aws import (
    AWS_ACCOUNT,
    DATADOG_AWS_ACCOUNT,
    DATADOG_PERIODS,
    DATADOG_POLL,
    Instance,
    assumed_role_arn,
    role_arn,
)
from ..catalog.sites import S_DATADOG
from ..clock import HOUR_MS, WEEK_END_MS, WEEK_START_MS, datetime_text
from ..context import Context, ri
from ..population import Population
from .cloudtrail import api_caller, cloudtrail, read_params, role_identity, temp_key

DATADOG_ROLE, DATADOG_ROLE_ID = "DatadogIntegrationRole", "AROAXBZV5EXAMPLEDD9IR"
SESSION = "DatadogAWSIntegration"  # the crawler's role session name


def datadog_crawler(ctx: Context) -> None:
    """Datadog's AWS integration crawler: AssumeRole hourly, Describe*/List*/Get* polls.

    It wakes every 10 min and polls each call on its own period (`DATADOG_PERIODS`: 30 min to
    2 h in us-east-1, three times slower in eu-west-1).
    """
    rng = ctx.rng
    role, role_id = DATADOG_ROLE, DATADOG_ROLE_ID
    session_start = WEEK_START_MS - 20 * 60_000
    key = temp_key(ctx)
    ts = WEEK_START_MS + ri(rng, 0, 60_000)
    tick = ri(rng, 0, 35)  # 10-minute ticks; the phase of the poll schedule
    while ts < WEEK_END_MS:
        if ts - session_start >= HOUR_MS:
            session_start = ts - ri(rng, 1_000, 5_000)
            key = temp_key(ctx)
            cloudtrail(
                ctx,
                session_start,
                {
                    "type": "AWSAccount",
                    "principalId": "AROAWQJ6ZJDRKYKK2NFS3:datadog",
                    "accountId": DATADOG_AWS_ACCOUNT,
                },
                "sts.amazonaws.com",
                "AssumeRole",
                S_DATADOG.ip,
                UA_DD_CRAWLER,
                read_only=True,
                request={
                    "roleArn": role_arn(role),
                    "roleSessionName": SESSION,
                    "externalId": "4b5e0b2ac0f74c8c9b6f2c3e1f0d9a7e",
                    "durationSeconds": 3600,
                },
                response={
                    "credentials": {
                        "accessKeyId": key,
                        "expiration": datetime_text(session_start + HOUR_MS),
                        "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
                    },
                    "assumedRoleUser": {
                        "assumedRoleId": f"{role_id}:DatadogAWSIntegration",
                        "arn": assumed_role_arn(role, SESSION),
                    },
                },
                site=S_DATADOG,
            )
        identity = partial(role_identity, role, role_id, SESSION, key, session_start)
        call = api_caller(ctx, identity, S_DATADOG, UA_DD_CRAWLER)
        tick += 1
        for region, slower in (("us-east-1", 1), ("eu-west-1", 3)):
            t = ts + ri(rng, 0, 20_000)
            for (source, name), period in zip(DATADOG_POLL, DATADOG_PERIODS, strict=True):
                if tick % (period * slower) or rng.random() > 0.9:
                    continue
                t += ri(rng, 50, 2_500)
                error = None
                if rng.random() < 0.004:
                    error = ("ThrottlingException", "Rate exceeded")
                call(t, source, name, read_params(ctx, name), region=region, error=error)
        ts += 10 * 60_000 + ri(rng, -15_000, 15_000)


def instance_roles(ctx: Context, population: Population) -> None:
    """Instance-profile roles: credential refreshes, tag lookups, KMS/SSM/Secrets reads.

    The EC2 service re-assumes each instance's role every ~6 h (the credential lifetime); the
    applications cache what they decrypt or read, so each instance calls AWS well under once
    an hour.
    """
    rng = ctx.rng
    vpce = {
        "kms": "vpce-0a3f61c9e2d7b8410",
        "ssm": "vpce-07c2e9d4b1a6f3825",
        "secretsmanager": "vpce-0e5b8a2d9c4f71360",
        "ec2": "vpce-0b9d7e1a4c2f63587",
    }
    rates = {  # calls per hour per instance
        "web-store-role": (("kms", 0.3), ("ssm", 0.1), ("secretsmanager", 0.08), ("ec2", 0.2)),
        "web-api-role": (("kms", 0.4), ("ssm", 0.1), ("secretsmanager", 0.1), ("ec2", 0.2)),
        "batch-worker-role": (("kms", 0.3), ("ssm", 0.15), ("ec2", 0.2), ("ecr", 0.12)),
        "bastion-role": (("ec2", 0.2), ("ssm", 0.08)),
    }
    for inst in population.instances:
        key = temp_key(ctx)
        created = WEEK_START_MS - ri(rng, 0, 6 * HOUR_MS)
        refresh = WEEK_START_MS + ri(rng, 0, 6 * HOUR_MS)
        while refresh < WEEK_END_MS:
            # the EC2 service assumes the role for the instance profile
            cloudtrail(
                ctx,
                refresh,
                {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
                "sts.amazonaws.com",
                "AssumeRole",
                "ec2.amazonaws.com",
                "ec2.amazonaws.com",
                read_only=True,
                request={
                    "roleArn": role_arn(inst.role),
                    "roleSessionName": inst.instance_id,
                },
                response={
                    "assumedRoleUser": {
                        "assumedRoleId": f"{inst.role_id}:{inst.instance_id}",
                        "arn": assumed_role_arn(inst.role, inst.instance_id),
                    }
                },
                extra={"sharedEventID": ctx.uuid()},
            )
            refresh += 6 * HOUR_MS + ri(rng, -600_000, 600_000)
        for service, per_hour in rates[inst.role]:
            ts = WEEK_START_MS + int(rng.expovariate(per_hour) * HOUR_MS)
            while ts < WEEK_END_MS:
                if ts - created > 6 * HOUR_MS:
                    created, key = ts - ri(rng, 60_000, 600_000), temp_key(ctx)
                identity = role_identity(
                    inst.role,
                    inst.role_id,
                    inst.instance_id,
                    key,
                    created,
                    extra={"ec2RoleDelivery": "2.0"},
                )
                name, source, request, agent = _instance_call(service, inst)
                cloudtrail(
                    ctx,
                    ts,
                    identity,
                    source,
                    name,
                    inst.private_ip,
                    agent,
                    request=request,
                    host=inst.instance_id,
                    vpce=vpce.get(service),
                )
                ts += int(rng.expovariate(per_hour) * HOUR_MS) + 1_000


def _instance_call(service: str, inst: Instance) -> tuple[str, str, Any, str]:
    """(eventName, eventSource, requestParameters, userAgent) for an instance-role call."""
    app = inst.hostname.rsplit("-", 1)[0]
    if service == "kms":
        return (
            "Decrypt",
            "kms.amazonaws.com",
            {
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": {
                    "aws:secretsmanager:arn": f"arn:aws:secretsmanager:us-east-1:{AWS_ACCOUNT}:"
                    f"secret:prod/{app}/db"
                },
            },
            UA_JAVA if app == "web-api" else UA_BOTO3,
        )
    if service == "ssm":
        return (
            "GetParameters",
            "ssm.amazonaws.com",
            {
                "names": [f"/prod/{app}/config", f"/prod/{app}/feature_flags"],
                "withDecryption": True,
            },
            UA_BOTO3,
        )
    if service == "secretsmanager":
        return (
            "GetSecretValue",
            "secretsmanager.amazonaws.com",
            {"secretId": f"prod/{app}/db"},
            UA_JAVA if app == "web-api" else UA_BOTO3,
        )
    if service == "ecr":
        return (
            "GetAuthorizationToken",
            "ecr.amazonaws.com",
            None,
            UA_GO_SDK.format(api="ecr#1.27.1"),
        )
    # the Datadog Agent collects the host's EC2 tags
    return (
        "DescribeTags",
        "ec2.amazonaws.com",
        {
            "filterSet": {
                "items": [
                    {"name": "resource-id", "valueSet": {"items": [{"value": inst.instance_id}]}}
                ]
            }
        },
        UA_DD_AGENT,
    )
