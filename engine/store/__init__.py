"""The job service's database: jobs, job results, signals, deliveries, API keys and stored rules.

SQLite by default (a file path, WAL mode); any SQLAlchemy URL (e.g. `postgresql+psycopg://...`)
works through the same SQLAlchemy Core layer. Everything survives a restart.
"""

from engine.store.database import Database, connect

__all__ = ["Database", "connect"]
