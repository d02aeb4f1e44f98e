"""The tables. Times are epoch integers (ms, or µs where Datadog shows µs), documents are JSON."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("definition", sa.JSON, nullable=False),  # the normalized jobDefinition
    sa.Column("index_name", sa.Text, nullable=False),
    sa.Column("from_ms", sa.BigInteger, nullable=False),
    sa.Column("to_ms", sa.BigInteger, nullable=False),
    sa.Column("created_from_rule_id", sa.Text),
    sa.Column("notifications", sa.JSON, nullable=False),  # fromRule.notifications
    sa.Column("signal_output", sa.Boolean, nullable=False),
    sa.Column("created_by_handle", sa.Text, nullable=False),
    sa.Column("created_by_name", sa.Text, nullable=False),
    sa.Column("created_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("modified_us", sa.BigInteger, nullable=False),
    sa.Column("progress_rate", sa.Float),
    sa.Column("failure", sa.Text),
    sa.Column("truncated", sa.Boolean, nullable=False, default=False),
    sa.Column("statistics", sa.JSON),
)

results = sa.Table(
    "job_results",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), index=True),
    sa.Column("timestamp_ms", sa.BigInteger, nullable=False, index=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("rule_name", sa.Text, nullable=False),
    sa.Column("document", sa.JSON, nullable=False),  # the histsignal (SPEC §4.3, list form)
    sa.Column("search", sa.JSON, nullable=False),  # its searchable event (store/search.py)
    sa.Column("signal_id", sa.String(64)),  # set once converted
)

signals = sa.Table(
    "signals",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("result_id", sa.String(64), unique=True, nullable=False),
    sa.Column("job_id", sa.String(36)),
    sa.Column("timestamp_ms", sa.BigInteger, nullable=False, index=True),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("document", sa.JSON, nullable=False),  # the signal (SPEC §4.1/4.2, list form)
    sa.Column("search", sa.JSON, nullable=False),  # its searchable event (store/search.py)
    sa.Column("notifications", sa.JSON, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("signal_id", sa.String(64), index=True),
    sa.Column("job_id", sa.String(36), index=True),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "api" | "application"
    sa.Column("digest", sa.String(64), unique=True, nullable=False),  # sha256 of the key
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),  # application keys only
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

rules = sa.Table(
    "rules",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),  # the rule as the rules API returns it
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)
