"""CloudTrail records, as Datadog's AWS integration stores them, and the identities that make them.

`cloudtrail` shapes one record (the raw CloudTrail keys plus Datadog's standard attributes);
the identity builders give its `userIdentity`; the console sign-ins are shared by the background
and the planted scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import Any, Protocol

from ..catalog.agents import A_SPRAY_BROWSER, Agent
from ..catalog.aws import (
    AWS_ACCOUNT,
    READ_ONLY_EXTRA,
    SERVICES,
    TRAIL_ARN,
    IamUser,
    assumed_role_arn,
    role_arn,
    user_arn,
)
from ..catalog.geo import Site
from ..catalog.ids import UPPER_NUM
from ..catalog.people import Person
from ..clock import iso_seconds
from ..context import Context, Event, pick

AWS_INTERNAL = "AWS Internal"  # the source IP of calls AWS makes on the user's behalf
CONSOLE_LOGIN_TO = "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true"


def cloudtrail(
    ctx: Context,
    ts: int,
    identity: Event,
    event_source: str,
    event_name: str,
    source_ip: str,
    user_agent: str,
    *,
    region: str = "us-east-1",
    read_only: bool | None = None,
    request: Any = None,
    response: Any = None,
    error: tuple[str, str] | None = None,
    event_type: str = "AwsApiCall",
    extra: Event | None = None,
    site: Site | None = None,
    host: str | None = None,
    vpce: str | None = None,
) -> None:
    """Emit one CloudTrail record plus the attributes Datadog's CloudTrail pipeline adds.

    `site` is where the caller is: its GeoIP is added when the call comes from its IP (console
    calls made on the user's behalf come from `AWS Internal`).
    """
    ts = ts - ts % 1000  # CloudTrail eventTime has second precision
    if read_only is None:
        read_only = event_name in READ_ONLY_EXTRA or event_name.startswith(
            ("Describe", "List", "Get", "Lookup", "Head", "Filter")
        )
    service = event_source.split(".", maxsplit=1)[0]
    header = (
        f"{service}.{region}.amazonaws.com"
        if service not in ("iam", "signin", "sts", "s3", "tagging")
        else f"{service}.amazonaws.com"
    )
    if service == "signin":
        header = "signin.aws.amazon.com"
    attributes: Event = {
        "eventVersion": "1.09" if event_type == "AwsApiCall" else "1.08",
        "userIdentity": identity,
        "eventTime": iso_seconds(ts),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": clone(request),
        "responseElements": clone(response),
        "requestID": ctx.uuid(),
        "eventID": ctx.uuid(),
        "readOnly": read_only,
        "eventType": event_type,
        "managementEvent": True,
        "recipientAccountId": AWS_ACCOUNT,
        "eventCategory": "Management",
    }
    if not source_ip.endswith("amazonaws.com") and source_ip != AWS_INTERNAL:
        attributes["tlsDetails"] = {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": header,
        }
    if vpce is not None:
        attributes["vpcEndpointId"] = vpce
        attributes["vpcEndpointAccountId"] = AWS_ACCOUNT
    if extra:
        attributes.update(clone(extra))
    console_failure = isinstance(response, dict) and response.get("ConsoleLogin") == "Failure"
    failed = error is not None or console_failure
    if error is not None:
        attributes["errorCode"], attributes["errorMessage"] = error
    # Datadog standard attributes
    attributes["evt"] = {"name": event_name, "outcome": "failure" if failed else "success"}
    attributes["http"] = {"useragent": user_agent}
    client: Event = {"ip": source_ip}
    if site is not None and source_ip == site.ip:
        client["geoip"] = site.geoip()
    attributes["network"] = {"client": client}
    attributes["level"] = "Error" if failed else "Info"
    if error is not None:
        attributes["error"] = {"kind": error[0], "message": error[1]}
    elif console_failure:
        attributes["error"] = {"message": attributes.get("errorMessage", "")}
    ctx.emit(
        {
            "id": "",
            "timestamp": ts,
            "host": host,
            "service": "cloudtrail",
            "source": "cloudtrail",
            "status": "error" if failed else "info",
            "message": f"{event_type} {event_source} {event_name}",
            "tags": [
                "env:prod",
                "source:cloudtrail",
                f"aws_account:{AWS_ACCOUNT}",
                f"region:{region}",
                "forwardername:datadog-forwarder",
            ],
            "attributes": attributes,
        }
    )


class ApiCall(Protocol):
    """One principal's call: `call(t, eventSource, eventName, requestParameters, **options)`."""

    def __call__(
        self,
        t: int,
        source: str,
        name: str,
        request: Any = None,
        *,
        user_agent: str = "",
        source_ip: str = "",
        **options: Any,
    ) -> None:
        """Emit the call's record (`options` are those of `cloudtrail`)."""


def api_caller(
    ctx: Context, identity: Callable[[], Event], site: Site, user_agent: str = ""
) -> ApiCall:
    """The calls of one principal from `site`: its IP and `user_agent` unless a call gives its
    own; `identity` makes each call's `userIdentity`."""

    def call(
        t: int,
        source: str,
        name: str,
        request: Any = None,
        *,
        user_agent: str = user_agent,
        source_ip: str = site.ip,
        **options: Any,
    ) -> None:
        cloudtrail(
            ctx,
            t,
            identity(),
            source,
            name,
            source_ip,
            user_agent,
            request=request,
            site=site,
            **options,
        )

    return call


def iam_identity(user_id: str, name: str, key: str | None = None, **extra: Any) -> Event:
    """The `userIdentity` of IAM user `name` (with the access key it signs with, if any)."""
    identity: Event = {
        "type": "IAMUser",
        "principalId": user_id,
        "arn": user_arn(name),
        "accountId": AWS_ACCOUNT,
        "userName": name,
    }
    if key is not None:
        identity["accessKeyId"] = key
    identity.update(extra)
    return identity


def service_identity(user: IamUser) -> Event:
    """The `userIdentity` of a service account signing with its long-lived access key."""
    return iam_identity(user.user_id, user.name, user.access_key)


def role_identity(
    role: str,
    role_id: str,
    session: str,
    key: str,
    created: int,
    *,
    path: str = "/",
    mfa: bool = False,
    extra: Event | None = None,
) -> Event:
    """The `userIdentity` of session `session` of `role`, created at `created` (epoch ms)."""
    identity: Event = {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": assumed_role_arn(role, session),
        "accountId": AWS_ACCOUNT,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role_arn(role, path),
                "accountId": AWS_ACCOUNT,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {
                "creationDate": iso_seconds(created),
                "mfaAuthenticated": "true" if mfa else "false",
            },
        },
        # Datadog's CloudTrail pipeline extracts these from the assumed-role ARN
        "session_name": session,
        "assumed_role": role,
    }
    if extra:
        identity.update(extra)
    return identity


def temp_key(ctx: Context) -> str:
    """A random temporary (STS) access key id."""
    return "ASIAXBZV5" + ctx.token(UPPER_NUM, 11)


def read_params(ctx: Context, name: str) -> Any:
    """requestParameters for a read-only call (small but plausible; None for most)."""
    factory = _READ_PARAMS.get(name)
    return factory(ctx.rng) if factory else None


def sso_console_login(ctx: Context, ts: int, identity: Event, agent: Agent, site: Site) -> None:
    """A successful console sign-in of an IAM Identity Center (SSO) role session."""
    identity.pop("accessKeyId")
    _console_sign_in(ctx, ts, identity, agent, site, success=True, mfa=False)


def console_login(ctx: Context, ts: int, person: Person, site: Site, *, success: bool) -> None:
    """A console sign-in of `person`'s IAM user with password and MFA (failed: no MFA step).

    Sign-ins from Russia (the planted console brute force) use the attacker's browser.
    """
    assert person.iam_user is not None
    identity = iam_identity(person.iam_user_id, person.iam_user, None if success else "")
    agent = person.agent if site.place.iso != "RU" else A_SPRAY_BROWSER
    _console_sign_in(ctx, ts, identity, agent, site, success=success, mfa=success)


def _console_sign_in(
    ctx: Context, ts: int, identity: Event, agent: Agent, site: Site, *, success: bool, mfa: bool
) -> None:
    """An `AwsConsoleSignIn` `ConsoleLogin` record."""
    extra: Event = {
        "additionalEventData": {
            "LoginTo": CONSOLE_LOGIN_TO,
            "MobileVersion": "No",
            "MFAUsed": "Yes" if mfa else "No",
        }
    }
    if not success:
        extra["errorMessage"] = "Failed authentication"
    cloudtrail(
        ctx,
        ts,
        identity,
        "signin.amazonaws.com",
        "ConsoleLogin",
        site.ip,
        agent.raw,
        read_only=False,
        event_type="AwsConsoleSignIn",
        response={"ConsoleLogin": "Success" if success else "Failure"},
        extra=extra,
        site=site,
    )


def clone(value: Any) -> Any:
    """A deep copy of JSON-like data (so events never share mutable sub-objects)."""
    if isinstance(value, dict):
        return {key: clone(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clone(item) for item in value]
    return value


def _read_params() -> dict[str, Callable[[Random], Any]]:
    """Per eventName, a factory of its `requestParameters` (None for the other reads)."""

    def instance_ids(rng: Random) -> Any:
        return {"instancesSet": {}, "filterSet": {}, "maxResults": pick(rng, (100, 500, 1000))}

    return {
        "DescribeInstances": instance_ids,
        "DescribeInstanceStatus": lambda rng: {"includeAllInstances": True, "filterSet": {}},
        "DescribeVolumes": lambda rng: {"volumeSet": {}, "filterSet": {}},
        "DescribeSnapshots": lambda rng: {"ownersSet": {"items": [{"owner": "self"}]}},
        "DescribeSecurityGroups": lambda rng: {"securityGroupSet": {}, "filterSet": {}},
        "GetBucketLocation": lambda rng: {"bucketName": pick(rng, _BUCKETS), "location": ""},
        "GetBucketPolicy": lambda rng: {"bucketName": pick(rng, _BUCKETS), "policy": ""},
        "GetBucketEncryption": lambda rng: {"bucketName": pick(rng, _BUCKETS), "encryption": ""},
        "ListBuckets": lambda rng: {"Host": "s3.amazonaws.com"},
        "GetFunction20150331v2": lambda rng: {"functionName": pick(rng, _FUNCTIONS)},
        "DescribeLogStreams": lambda rng: {"logGroupName": "/ecs/" + pick(rng, SERVICES)},
        "FilterLogEvents": lambda rng: {"logGroupName": "/ecs/" + pick(rng, SERVICES)},
        "DescribeServices": lambda rng: {"cluster": "prod", "services": [pick(rng, SERVICES)]},
        "DescribeTaskDefinition": lambda rng: {"taskDefinition": pick(rng, SERVICES)},
        "GetRole": lambda rng: {"roleName": pick(rng, _ROLES)},
        "ListAttachedRolePolicies": lambda rng: {"roleName": pick(rng, _ROLES)},
        "GetParameter": lambda rng: {
            "name": "/prod/" + pick(rng, SERVICES) + "/config",
            "withDecryption": True,
        },
        "DescribeSecret": lambda rng: {"secretId": "prod/" + pick(rng, SERVICES) + "/db"},
        "DescribeTable": lambda rng: {"tableName": pick(rng, ("carts", "sessions", "inventory"))},
        "GetTrailStatus": lambda rng: {"name": TRAIL_ARN},
        "DescribeTrails": lambda rng: {"includeShadowTrails": True, "trailNameList": []},
        "DescribeTargetHealth": lambda rng: {
            "targetGroupArn": f"arn:aws:elasticloadbalancing:us-east-1:{AWS_ACCOUNT}:"
            f"targetgroup/{pick(rng, SERVICES)}/6d0ecf831eec9f09"
        },
        "GetResources": lambda rng: {
            "resourceTypeFilters": [
                pick(rng, ("ec2:instance", "rds:db", "elasticloadbalancing:loadbalancer"))
            ]
        },
        "LookupEvents": lambda rng: {"maxResults": 50, "lookupAttributes": []},
    }


_BUCKETS = (
    "example-web-assets",
    "example-analytics-exports",
    "example-terraform-state",
    "example-access-logs",
    "example-backups-dr",
)
_FUNCTIONS = ("image-resizer", "order-events-consumer", "nightly-report", "slack-notifier")
_ROLES = ("web-store-role", "web-api-role", "batch-worker-role", "TerraformDeployer")
_READ_PARAMS = _read_params()
