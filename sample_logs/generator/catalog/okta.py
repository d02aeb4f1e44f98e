"""Okta: the org, the apps employees sign in to, and per event type its display message,
legacy event type, Datadog category and request URI.
"""

from __future__ import annotations

OKTA_ORG = "example.okta.com"

OktaApp = tuple[str, str, int]
"""(app label, app instance name, weight among the employees' sign-ins)."""

OKTA_APPS: tuple[OktaApp, ...] = (
    # (app label, app instance name, weight)
    ("Slack", "slack", 30),
    ("Google Workspace", "google", 25),
    ("GitHub Enterprise Cloud", "githubcloud", 12),
    ("Jira Software", "atlassian_jira", 12),
    ("Datadog", "datadog", 8),
    ("Zoom", "zoomus", 8),
    ("Salesforce", "salesforce", 6),
    ("AWS IAM Identity Center", "amazon_aws_sso", 6),
    ("Workday", "workday", 3),
)
# The apps the planted sign-ins use.
APP_SLACK, APP_GOOGLE, APP_GITHUB = OKTA_APPS[0], OKTA_APPS[1], OKTA_APPS[2]
APP_SALESFORCE, APP_AWS = OKTA_APPS[6], OKTA_APPS[7]

OKTA_DISPLAY = {
    "user.session.start": "User login to Okta",
    "user.authentication.auth_via_mfa": "Authentication of user via MFA",
    "user.authentication.sso": "User single sign on to app",
    "user.session.end": "User logout from Okta",
    "user.mfa.okta_verify.deny_push": "User rejected Okta push verify",
    "user.account.update_password": "User update password for Okta",
    "user.mfa.factor.activate": "Activate factor or authenticator",
}
OKTA_LEGACY = {
    "user.session.start": "core.user_auth.login_success",
    "user.authentication.auth_via_mfa": "core.user.factor.attempt_success",
    "user.authentication.sso": "app.auth.sso",
    "user.session.end": "core.user_auth.logout_success",
}
OKTA_LEGACY_FAILED = {
    "user.session.start": "core.user_auth.login_failed",
    "user.mfa.okta_verify.deny_push": "core.user.factor.attempt_fail",
}
OKTA_CATEGORY = {
    "user.session.start": "authentication",
    "user.authentication.auth_via_mfa": "authentication",
    "user.authentication.sso": "authentication",
    "user.session.end": "authentication",
    "user.mfa.okta_verify.deny_push": "authentication",
    "user.account.update_password": "user_change",
    "user.mfa.factor.activate": "user_change",
}
OKTA_URI = {
    "user.session.start": "/api/v1/authn",
    "user.authentication.auth_via_mfa": "/api/v1/authn/factors/verify",
    "user.authentication.sso": "/app/sso/saml",
    "user.session.end": "/login/signout",
    "user.mfa.okta_verify.deny_push": "/api/v1/authn/factors/verify",
    "user.account.update_password": "/api/v1/users/me/credentials/change_password",
    "user.mfa.factor.activate": "/api/v1/users/me/factors/activate",
}
