"""Planted: a leaked access key (`aws_iam_admin_user_created`, `aws_cloudtrail_stop_logging`).

The svc_ci access key is used from a Hetzner VPS with a Kali aws-cli on Saturday 03:58: recon,
then a backdoor IAM user with AdministratorAccess and an access key, then StopLogging on the
organisation trail. Near miss: Terraform creates an IAM user and attaches ReadOnlyAccess.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..catalog.agents import UA_CLI_KALI
from ..catalog.aws import SVC_CI, TRAIL_ARN, user_arn
from ..catalog.sites import S_AWS_ATTACKER
from ..clock import at, datetime_text
from ..context import Context
from ..sources.cloudtrail import api_caller, service_identity
from ..sources.cloudtrail_service_accounts import TERRAFORM_ROLE, terraform_plan
from .attack import Attack

AWS_RECON = [at(5, 3, 58, 2), at(5, 3, 58, 30), at(5, 3, 59, 5), at(5, 3, 59, 40)]
AWS_CREATE_USER = at(5, 4, 1, 12)
AWS_ATTACH_ADMIN = at(5, 4, 1, 31)
AWS_CREATE_KEY = at(5, 4, 1, 50)
AWS_STOP_LOGGING = at(5, 4, 6, 5)
BACKDOOR_USER = "support-sync"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
READONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
TERRAFORM_READONLY_TS = at(2, 15, 12, 40)  # near miss: AttachUserPolicy ReadOnlyAccess
TERRAFORM_USER = "auditor-readonly"

ADMIN_USER_CREATED = Attack(
    "aws_iam_admin_user_created",
    "threshold",
    AWS_CREATE_USER,
    AWS_CREATE_KEY,
    SVC_CI.arn,
    {
        "source": "cloudtrail",
        "ip": S_AWS_ATTACKER.ip,
        "new_user": BACKDOOR_USER,
        "ootb_rules": [
            "AWS IAM AdministratorAccess policy was applied to a user",
            "AWS IAM User created with AdministratorAccess policy attached",
        ],
        "query": (
            "source:cloudtrail @eventSource:iam.amazonaws.com @evt.name:AttachUserPolicy "
            '@requestParameters.policyArn:"arn:aws:iam::aws:policy/AdministratorAccess"'
        ),
        "what_a_rule_sees": (
            "the leaked svc_ci key (from a Hetzner VPS, Kali aws-cli) creates IAM user "
            "support-sync, attaches AdministratorAccess to it and creates an access key "
            "for it"
        ),
        "near_misses": [
            {
                "user": TERRAFORM_ROLE,
                "start": TERRAFORM_READONLY_TS - 15_000,
                "end": TERRAFORM_READONLY_TS,
                "description": "Terraform creates IAM user auditor-readonly and attaches "
                "ReadOnlyAccess (not AdministratorAccess)",
            }
        ],
    },
)

STOP_LOGGING = Attack(
    "aws_cloudtrail_stop_logging",
    "threshold",
    AWS_STOP_LOGGING,
    AWS_STOP_LOGGING,
    SVC_CI.arn,
    {
        "source": "cloudtrail",
        "ip": S_AWS_ATTACKER.ip,
        "trail": TRAIL_ARN,
        "ootb_rules": ["AWS CloudTrail configuration modified"],
        "query": "source:cloudtrail @evt.name:StopLogging",
        "what_a_rule_sees": "one StopLogging call on the organisation trail (case "
        "'trail stopped'); the background only reads trails (DescribeTrails, "
        "GetTrailStatus)",
        "near_misses": [],
    },
)


def plant(ctx: Context) -> None:
    """Recon, the backdoor admin user and its key, then StopLogging, all with the leaked key."""
    call = api_caller(ctx, partial(service_identity, SVC_CI), S_AWS_ATTACKER)
    iam = "iam.amazonaws.com"
    backdoor = {"userName": BACKDOOR_USER}
    timeline: list[tuple[int, str, str, str, Any, Any]] = [
        # (time, eventSource, eventName, aws-cli command, requestParameters, responseElements)
        (
            AWS_RECON[0],
            "sts.amazonaws.com",
            "GetCallerIdentity",
            "sts.get-caller-identity",
            None,
            None,
        ),
        (AWS_RECON[1], iam, "ListUsers", "iam.list-users", None, None),
        (
            AWS_RECON[2],
            iam,
            "ListAttachedUserPolicies",
            "iam.list-attached-user-policies",
            {"userName": SVC_CI.name},
            None,
        ),
        (
            AWS_RECON[3],
            "s3.amazonaws.com",
            "ListBuckets",
            "s3.ls",
            {"Host": "s3.amazonaws.com"},
            None,
        ),
        (
            AWS_CREATE_USER,
            iam,
            "CreateUser",
            "iam.create-user",
            backdoor,
            {
                "user": {
                    "path": "/",
                    "userName": BACKDOOR_USER,
                    "userId": "AIDAXBZV5EXAMPLEK2BDR",
                    "arn": user_arn(BACKDOOR_USER),
                    "createDate": datetime_text(AWS_CREATE_USER),
                }
            },
        ),
        (
            AWS_ATTACH_ADMIN,
            iam,
            "AttachUserPolicy",
            "iam.attach-user-policy",
            {"userName": BACKDOOR_USER, "policyArn": ADMIN_POLICY},
            None,
        ),
        (
            AWS_CREATE_KEY,
            iam,
            "CreateAccessKey",
            "iam.create-access-key",
            backdoor,
            {
                "accessKey": {
                    "userName": BACKDOOR_USER,
                    "accessKeyId": "AKIAXBZV5EXAMPLEBD00R",
                    "status": "Active",
                    "createDate": datetime_text(AWS_CREATE_KEY),
                }
            },
        ),
        (
            AWS_STOP_LOGGING,
            "cloudtrail.amazonaws.com",
            "StopLogging",
            "cloudtrail.stop-logging",
            {"name": TRAIL_ARN},
            None,
        ),
    ]
    for ts, source, name, command, request, response in timeline:
        user_agent = UA_CLI_KALI.format(command=command)
        call(ts, source, name, request, user_agent=user_agent, response=response)


def plant_terraform_near_miss(ctx: Context) -> None:
    """The near miss: a Terraform run that onboards an auditor with ReadOnlyAccess."""
    call, _ = terraform_plan(ctx, TERRAFORM_READONLY_TS - 95_000)
    created = TERRAFORM_READONLY_TS - 15_000
    call(
        created,
        "iam.amazonaws.com",
        "CreateUser",
        {"userName": TERRAFORM_USER, "path": "/"},
        response={
            "user": {
                "userName": TERRAFORM_USER,
                "path": "/",
                "arn": user_arn(TERRAFORM_USER),
                "userId": "AIDAXBZV5EXAMPLEAUD7R",
                "createDate": datetime_text(created),
            }
        },
    )
    call(
        TERRAFORM_READONLY_TS,
        "iam.amazonaws.com",
        "AttachUserPolicy",
        {"userName": TERRAFORM_USER, "policyArn": READONLY_POLICY},
    )
