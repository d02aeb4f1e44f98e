"""CloudTrail background of the automation: service accounts and Terraform.

`svc_backup` snapshots volumes nightly, deletes old snapshots and shares three with the DR
account (the near miss of the public-snapshot attack); `svc_ci` deploys from CI runners on
weekdays; `svc_reporting` runs Athena queries every two hours; Terraform plans and applies a few
times a weekday.
"""

from __future__ import annotations

from functools import partial

from ..catalog.agents import UA_BOTO3, UA_CLI_CI, UA_JAVA, UA_TERRAFORM
from ..catalog.aws import (
    AWS_ACCOUNT,
    AWS_STAGING_ACCOUNT,
    ENGINEER_READS,
    SERVICES,
    SVC_BACKUP,
    SVC_CI,
    SVC_REPORTING,
    TERRAFORM_WRITES,
    role_arn,
)
from ..catalog.ids import HEX, LOWER_NUM
from ..catalog.sites import S_BACKUP, S_CI_RUNNERS
from ..clock import HOUR_MS, WEEK_END_MS, WEEK_START_MS, at
from ..context import Context, pick, ri
from .cloudtrail import (
    ApiCall,
    api_caller,
    cloudtrail,
    read_params,
    role_identity,
    service_identity,
    temp_key,
)

TERRAFORM_ROLE, TERRAFORM_ROLE_ID = "TerraformDeployer", "AROAXBZV5EXAMPLETF5DP"
TERRAFORM_SITE = S_CI_RUNNERS[0]  # Terraform Cloud's egress
BACKUP_VOLUMES = 12

EC2, ATHENA = "ec2.amazonaws.com", "athena.amazonaws.com"


def service_accounts(ctx: Context) -> None:
    """The week of svc_backup, svc_ci, svc_reporting, then the Terraform runs."""
    backup_jobs(ctx)
    ci_deploys(ctx)
    reporting_queries(ctx)
    terraform_runs(ctx)


def backup_jobs(ctx: Context) -> None:
    """svc_backup: nightly EBS snapshots, retention clean-up, DR sharing (near miss)."""
    rng = ctx.rng
    call = api_caller(ctx, partial(service_identity, SVC_BACKUP), S_BACKUP, UA_BOTO3)
    volumes = ["vol-0" + ctx.token(HEX, 16) for _ in range(BACKUP_VOLUMES)]
    for day in range(7):
        t = at(day, 2, 0, 0) + ri(rng, 0, 120_000)
        backup_tag = {"name": "tag:backup", "valueSet": {"items": [{"value": "daily"}]}}
        call(t, EC2, "DescribeVolumes", {"volumeSet": {}, "filterSet": {"items": [backup_tag]}})
        snapshots = []
        for vol in volumes:
            t += ri(rng, 800, 4_000)
            snap = "snap-0" + ctx.token(HEX, 16)
            snapshots.append(snap)
            call(
                t,
                EC2,
                "CreateSnapshot",
                {"volumeId": vol, "description": "daily backup"},
                response={
                    "snapshotId": snap,
                    "volumeId": vol,
                    "status": "pending",
                    "ownerId": AWS_ACCOUNT,
                },
            )
            t += ri(rng, 200, 900)
            call(
                t,
                EC2,
                "CreateTags",
                {
                    "resourcesSet": {"items": [{"resourceId": snap}]},
                    "tagSet": {"items": [{"key": "backup", "value": "daily"}]},
                },
                response={"_return": True},
            )
        t = at(day, 2, 35, 0) + ri(rng, 0, 120_000)
        call(t, EC2, "DescribeSnapshots", {"ownersSet": {"items": [{"owner": "self"}]}})
        for _ in range(BACKUP_VOLUMES):
            t += ri(rng, 500, 3_000)
            request = {"snapshotId": "snap-0" + ctx.token(HEX, 16)}
            call(t, EC2, "DeleteSnapshot", request, response={"_return": True})
        for snap in snapshots[:3]:
            t += ri(rng, 1_000, 5_000)
            call(
                t,
                EC2,
                "ModifySnapshotAttribute",
                {
                    "snapshotId": snap,
                    "attributeType": "CREATE_VOLUME_PERMISSION",
                    "createVolumePermission": {"add": {"items": [{"userId": AWS_STAGING_ACCOUNT}]}},
                },
                response={"_return": True},
                read_only=False,
            )


def ci_deploys(ctx: Context) -> None:
    """svc_ci: deployments from CI runners during working hours on weekdays."""
    rng = ctx.rng
    for day in range(5):
        for _ in range(ri(rng, 2, 6)):
            t = at(day, 13, 0) + ri(rng, 0, 10 * HOUR_MS)
            runner = pick(rng, S_CI_RUNNERS)
            svc = pick(rng, SERVICES)
            repository = {"repositoryName": svc, "registryId": AWS_ACCOUNT}
            steps = [
                ("sts.amazonaws.com", "GetCallerIdentity", "sts.get-caller-identity", None),
                ("ecr.amazonaws.com", "GetAuthorizationToken", "ecr.get-login-password", None),
                ("ecr.amazonaws.com", "InitiateLayerUpload", "ecr.push", repository),
                ("ecr.amazonaws.com", "CompleteLayerUpload", "ecr.push", repository),
                (
                    "ecr.amazonaws.com",
                    "PutImage",
                    "ecr.push",
                    {"repositoryName": svc, "imageTag": f"git-{ctx.token(HEX, 7)}"},
                ),
                (
                    "ecs.amazonaws.com",
                    "DescribeTaskDefinition",
                    "ecs.describe-task-definition",
                    {"taskDefinition": svc},
                ),
                (
                    "ecs.amazonaws.com",
                    "RegisterTaskDefinition",
                    "ecs.register-task-definition",
                    {"family": svc, "networkMode": "awsvpc"},
                ),
                (
                    "ecs.amazonaws.com",
                    "UpdateService",
                    "ecs.update-service",
                    {"cluster": "prod", "service": svc, "forceNewDeployment": False},
                ),
            ] + [
                (
                    "ecs.amazonaws.com",
                    "DescribeServices",
                    "ecs.wait.services-stable",
                    {"cluster": "prod", "services": [svc]},
                )
            ] * ri(rng, 1, 4)
            call = api_caller(ctx, partial(service_identity, SVC_CI), runner)
            for source, name, command, request in steps:
                t += ri(rng, 1_500, 25_000)
                call(t, source, name, request, user_agent=UA_CLI_CI.format(command=command))


def reporting_queries(ctx: Context) -> None:
    """svc_reporting: Athena reporting queries every two hours."""
    rng = ctx.rng

    call = api_caller(ctx, partial(service_identity, SVC_REPORTING), S_BACKUP, UA_JAVA)
    t = WEEK_START_MS + ri(rng, 0, 2 * HOUR_MS)
    while t < WEEK_END_MS:
        qid = ctx.uuid()
        call(
            t,
            ATHENA,
            "StartQueryExecution",
            {"queryString": "SELECT ... FROM orders_daily ...", "workGroup": "reporting"},
            read_only=False,
            response={"queryExecutionId": qid},
        )
        for _ in range(ri(rng, 1, 3)):
            t += ri(rng, 2_000, 15_000)
            call(t, ATHENA, "GetQueryExecution", {"queryExecutionId": qid})
        t += 2 * HOUR_MS + ri(rng, -300_000, 300_000)


def terraform_runs(ctx: Context) -> None:
    """Terraform: a few plan/apply runs per weekday (bursts of reads, a few writes)."""
    rng = ctx.rng
    for day in range(5):
        for _ in range(ri(rng, 1, 3)):
            call, t = terraform_plan(ctx, at(day, 14, 0) + ri(rng, 0, 8 * HOUR_MS))
            for _ in range(ri(rng, 0, 3)):
                t += ri(rng, 500, 5_000)
                source, name, request = pick(rng, TERRAFORM_WRITES)
                call(t, source, name, request, read_only=False)


def terraform_plan(ctx: Context, start: int) -> tuple[ApiCall, int]:
    """A Terraform run's web-identity AssumeRole and its burst of reads.

    Returns the run's call function and the time of its last read.
    """
    rng = ctx.rng
    run = "terraform-run-" + ctx.token(LOWER_NUM, 16)
    key = temp_key(ctx)
    identity = partial(role_identity, TERRAFORM_ROLE, TERRAFORM_ROLE_ID, run, key, start)
    call = api_caller(ctx, identity, TERRAFORM_SITE, UA_TERRAFORM)
    cloudtrail(
        ctx,
        start,
        {
            "type": "WebIdentityUser",
            "principalId": "app.terraform.io:aud:aws.workload.identity",
            "userName": "organization:example:project:infra:workspace:prod:run_phase:apply",
            "identityProvider": f"arn:aws:iam::{AWS_ACCOUNT}:oidc-provider/app.terraform.io",
        },
        "sts.amazonaws.com",
        "AssumeRoleWithWebIdentity",
        TERRAFORM_SITE.ip,
        UA_TERRAFORM,
        read_only=True,
        request={"roleArn": role_arn(TERRAFORM_ROLE), "roleSessionName": run},
        site=TERRAFORM_SITE,
    )
    t = start
    for _ in range(ri(rng, 12, 35)):
        t += ri(rng, 20, 900)
        source, name = pick(rng, ENGINEER_READS)
        call(t, source, name, read_params(ctx, name))
    return call, t
