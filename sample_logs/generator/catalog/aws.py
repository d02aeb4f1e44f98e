"""AWS: the accounts, IAM Identity Center roles, IAM users (service accounts), EC2 instances, and
the API calls of the week (what the crawler polls, what engineers and Terraform read and write,
how the CLI and IAM name a call).

One production account (`AWS_ACCOUNT`), a DR account the backups are shared with, and the account
Datadog's AWS integration calls from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AWS_ACCOUNT = "491783625870"
AWS_STAGING_ACCOUNT = "903355240118"
DATADOG_AWS_ACCOUNT = "464622532012"

TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{AWS_ACCOUNT}:trail/org-management-events"

# IAM Identity Center (SSO) permission-set roles, with their role ids.
SSO_ROLE_ENGINEERING = "AWSReservedSSO_Engineering_5f1c2a7e3b9d4c10"
SSO_ROLE_READONLY = "AWSReservedSSO_ReadOnly_a83e0b6d19c2f475"
SSO_ROLE_ADMIN = "AWSReservedSSO_AdministratorAccess_2d94c7e1f0ab6358"
SSO_ROLE_IDS = {
    SSO_ROLE_ENGINEERING: "AROAXBZV5EXAMPLE7KQ2P",
    SSO_ROLE_READONLY: "AROAXBZV5EXAMPLEL3M8D",
    SSO_ROLE_ADMIN: "AROAXBZV5EXAMPLE1TG4N",
}
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"

# EC2 instance-profile roles: (role, role id, host name prefix, instance count).
INSTANCE_ROLES: tuple[tuple[str, str, str, int], ...] = (
    ("web-store-role", "AROAXBZV5EXAMPLEWS01K", "web-store", 8),
    ("web-api-role", "AROAXBZV5EXAMPLEWA02M", "web-api", 6),
    ("batch-worker-role", "AROAXBZV5EXAMPLEBW03Q", "batch-worker", 4),
    ("bastion-role", "AROAXBZV5EXAMPLEBA04T", "bastion", 2),
)


@dataclass(frozen=True, slots=True)
class IamUser:
    """A long-lived IAM user with an access key (service accounts)."""

    name: str
    user_id: str
    access_key: str

    @property
    def arn(self) -> str:
        """The user's ARN."""
        return user_arn(self.name)


SVC_BACKUP = IamUser("svc_backup", "AIDAXBZV5EXAMPLEB7PLM", "AKIAXBZV5EXAMPLE3BKP")
SVC_CI = IamUser("svc_ci", "AIDAXBZV5EXAMPLEC1JXN", "AKIAXBZV5EXAMPLEQ7CI")
SVC_REPORTING = IamUser("svc_reporting", "AIDAXBZV5EXAMPLERP0TW", "AKIAXBZV5EXAMPLEMRPT")


@dataclass(frozen=True, slots=True)
class Instance:
    """An EC2 instance with an instance profile role."""

    instance_id: str
    role: str
    role_id: str
    private_ip: str
    hostname: str


def user_arn(name: str) -> str:
    """The ARN of IAM user `name`."""
    return f"arn:aws:iam::{AWS_ACCOUNT}:user/{name}"


def role_arn(role: str, path: str = "/") -> str:
    """The ARN of IAM role `role`."""
    return f"arn:aws:iam::{AWS_ACCOUNT}:role{path}{role}"


def assumed_role_arn(role: str, session: str) -> str:
    """The STS ARN of a session of `role`."""
    return f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/{role}/{session}"


# The services deployed on ECS (CI deploys them; their logs, secrets and parameters are read).
SERVICES = ("web-store", "web-api", "checkout-worker", "search-indexer")


def _api_list(text: str) -> tuple[tuple[str, str], ...]:
    """`"ec2:DescribeInstances s3:ListBuckets"` -> ((eventSource, eventName), ...)."""
    pairs = (item.split(":") for item in text.split())
    return tuple((f"{service}.amazonaws.com", name) for service, name in pairs)


READ_ONLY_EXTRA = frozenset({"Decrypt", "GenerateDataKey", "BatchGetSecretValue"})
DATADOG_POLL: tuple[tuple[str, str], ...] = _api_list(
    "ec2:DescribeInstances ec2:DescribeVolumes ec2:DescribeInstanceStatus "
    "ec2:DescribeSecurityGroups elasticloadbalancing:DescribeLoadBalancers "
    "elasticloadbalancing:DescribeTargetGroups rds:DescribeDBInstances "
    "lambda:ListFunctions20150331 tagging:GetResources s3:ListBuckets cloudtrail:DescribeTrails "
    "cloudtrail:GetTrailStatus logs:DescribeLogGroups sqs:ListQueues "
    "elasticache:DescribeCacheClusters monitoring:DescribeAlarms"
)
# Poll period of each `DATADOG_POLL` call in 10-minute ticks (in us-east-1; 3x in eu-west-1).
DATADOG_PERIODS: tuple[int, ...] = (3, 6, 6, 12, 6, 12, 6, 12, 3, 12, 6, 6, 12, 12, 12, 6)
ENGINEER_READS: tuple[tuple[str, str], ...] = _api_list(
    "ec2:DescribeInstances ec2:DescribeInstances ec2:DescribeInstanceStatus "
    "ec2:DescribeSecurityGroups ec2:DescribeVpcs ec2:DescribeSubnets ec2:DescribeVolumes "
    "ec2:DescribeSnapshots ec2:DescribeImages s3:ListBuckets s3:GetBucketLocation "
    "s3:GetBucketPolicy s3:GetBucketEncryption lambda:ListFunctions20150331 "
    "lambda:GetFunction20150331v2 rds:DescribeDBInstances rds:DescribeDBClusters "
    "logs:DescribeLogGroups logs:DescribeLogStreams logs:FilterLogEvents "
    "monitoring:DescribeAlarms ecs:ListClusters ecs:DescribeServices ecs:DescribeTaskDefinition "
    "ecs:ListTasks iam:ListRoles iam:GetRole iam:ListAttachedRolePolicies iam:GetPolicyVersion "
    "sts:GetCallerIdentity secretsmanager:ListSecrets secretsmanager:DescribeSecret "
    "ssm:DescribeParameters ssm:GetParameter kms:ListAliases "
    "elasticloadbalancing:DescribeLoadBalancers elasticloadbalancing:DescribeTargetHealth "
    "cloudformation:DescribeStacks cloudformation:ListStacks route53:ListHostedZones "
    "dynamodb:DescribeTable dynamodb:ListTables cloudtrail:LookupEvents"
)
ENGINEER_WRITES: tuple[tuple[str, str, Any], ...] = (
    (
        "ec2.amazonaws.com",
        "StartInstances",
        {"instancesSet": {"items": [{"instanceId": "i-0b4c6e8f1a2d3e5f7"}]}},
    ),
    (
        "ec2.amazonaws.com",
        "StopInstances",
        {"instancesSet": {"items": [{"instanceId": "i-0b4c6e8f1a2d3e5f7"}]}, "force": False},
    ),
    (
        "ec2.amazonaws.com",
        "RebootInstances",
        {"instancesSet": {"items": [{"instanceId": "i-07e1d3c5b9a2f4680"}]}},
    ),
    (
        "ec2.amazonaws.com",
        "CreateTags",
        {
            "resourcesSet": {"items": [{"resourceId": "i-07e1d3c5b9a2f4680"}]},
            "tagSet": {"items": [{"key": "owner", "value": "platform"}]},
        },
    ),
    (
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        {
            "groupId": "sg-0a7c3e5f9b1d2468a",
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 5432,
                        "toPort": 5432,
                        "ipRanges": {"items": [{"cidrIp": "10.20.0.0/16"}]},
                    }
                ]
            },
        },
    ),
    (
        "ssm.amazonaws.com",
        "PutParameter",
        {"name": "/prod/web-api/feature_flags", "type": "String", "overwrite": True},
    ),
    (
        "ecs.amazonaws.com",
        "UpdateService",
        {"cluster": "prod", "service": "search-indexer", "desiredCount": 3},
    ),
    (
        "logs.amazonaws.com",
        "PutRetentionPolicy",
        {"logGroupName": "/ecs/web-api", "retentionInDays": 30},
    ),
    (
        "s3.amazonaws.com",
        "PutBucketTagging",
        {
            "bucketName": "example-analytics-exports",
            "Host": "example-analytics-exports.s3.amazonaws.com",
        },
    ),
    (
        "lambda.amazonaws.com",
        "UpdateFunctionConfiguration20150331v2",
        {"functionName": "image-resizer", "memorySize": 1024},
    ),
)
TERRAFORM_WRITES: tuple[tuple[str, str, Any], ...] = (
    (
        "ec2.amazonaws.com",
        "CreateTags",
        {
            "resourcesSet": {"items": [{"resourceId": "sg-0a7c3e5f9b1d2468a"}]},
            "tagSet": {"items": [{"key": "managed-by", "value": "terraform"}]},
        },
    ),
    (
        "ec2.amazonaws.com",
        "ModifyInstanceAttribute",
        {"instanceId": "i-0c2e4a6b8d1f3a5c7", "disableApiTermination": {"value": True}},
    ),
    (
        "iam.amazonaws.com",
        "TagRole",
        {"roleName": "web-api-role", "tags": [{"key": "managed-by", "value": "terraform"}]},
    ),
    (
        "s3.amazonaws.com",
        "PutBucketVersioning",
        {"bucketName": "example-terraform-state", "VersioningConfiguration": {"Status": "Enabled"}},
    ),
    (
        "route53.amazonaws.com",
        "ChangeResourceRecordSets",
        {
            "hostedZoneId": "Z03486412EXAMPLE",
            "changeBatch": {
                "changes": [
                    {
                        "action": "UPSERT",
                        "resourceRecordSet": {"name": "api.example.com", "type": "CNAME"},
                    }
                ]
            },
        },
    ),
)


def access_denied(source: str, name: str, arn: str) -> tuple[str, str]:
    """(errorCode, errorMessage) of a call `arn` is not allowed to make."""
    service = source.split(".", maxsplit=1)[0]
    if service == "ec2":
        return ("Client.UnauthorizedOperation", "You are not authorized to perform this operation.")
    action = f"{service}:{name.removesuffix('20150331v2').removesuffix('20150331')}"
    return (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: {action} because no "
        "identity-based policy allows the action",
    )


def cli_command(source: str, name: str) -> str:
    """The aws-cli `command/...` user-agent part of a call (`ec2.describe-instances`)."""
    service = source.split(".", maxsplit=1)[0]
    words: list[str] = []
    for char in name.removesuffix("20150331v2").removesuffix("20150331"):
        if char.isupper() and words:
            words.append("-")
        words.append(char.lower())
    return f"{service}.{''.join(words)}"
