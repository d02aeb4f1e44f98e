"""Planted: an EBS snapshot made public (`aws_ebs_snapshot_made_public`).

Marco Rossi, an engineer, signs in to the console through IAM Identity Center at the London
office on Friday 16:43 and adds `createVolumePermission` group `all` to a snapshot at 16:47.
Near miss: svc_backup shares three snapshots a night with the DR account (a `userId`, not `all`).
"""

from __future__ import annotations

from ..catalog.agents import UA_CONSOLE
from ..catalog.aws import AWS_STAGING_ACCOUNT, SSO_ROLE_ENGINEERING, SVC_BACKUP, assumed_role_arn
from ..catalog.people import MARCO, OFFICE
from ..clock import at
from ..context import Context
from ..sources.cloudtrail import api_caller, sso_console_login
from ..sources.cloudtrail_people import sso_identity
from .attack import Attack

SNAPSHOT_PUBLIC = at(4, 16, 47, 33)
PUBLIC_SNAPSHOT_ID = "snap-0c7d2e94a1b35f608"
EC2 = "ec2.amazonaws.com"

ATTACK = Attack(
    "aws_ebs_snapshot_made_public",
    "threshold",
    SNAPSHOT_PUBLIC,
    SNAPSHOT_PUBLIC,
    assumed_role_arn(SSO_ROLE_ENGINEERING, MARCO.email),
    {
        "source": "cloudtrail",
        "snapshot": PUBLIC_SNAPSHOT_ID,
        "ootb_rules": ["AWS EBS Snapshot Made Public"],
        "query": (
            "source:cloudtrail @evt.name:ModifySnapshotAttribute "
            '@requestParameters.createVolumePermission.add.items.group:"all"'
        ),
        "what_a_rule_sees": "ModifySnapshotAttribute adding createVolumePermission "
        "group 'all' by an engineer's SSO session",
        "near_misses": [
            {
                "user": SVC_BACKUP.name,
                "description": "svc_backup shares three snapshots a night with the DR "
                f"account ({AWS_STAGING_ACCOUNT}) via createVolumePermission userId",
            }
        ],
    },
)


def plant(ctx: Context) -> None:
    """Marco's console sign-in, a look at the snapshots, then the public share."""
    london = OFFICE["lon"].nat_sites[1]
    start = SNAPSHOT_PUBLIC - 240_000
    identity = sso_identity(ctx, MARCO, SSO_ROLE_ENGINEERING, start)
    sso_console_login(ctx, start, identity(), MARCO.agent, london)
    call = api_caller(ctx, identity, london, UA_CONSOLE)
    call(start + 95_000, EC2, "DescribeSnapshots", {"ownersSet": {"items": [{"owner": "self"}]}})
    call(
        SNAPSHOT_PUBLIC,
        EC2,
        "ModifySnapshotAttribute",
        {
            "snapshotId": PUBLIC_SNAPSHOT_ID,
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"group": "all"}]}},
        },
        read_only=False,
        response={"_return": True, "requestId": ctx.uuid()},
    )
