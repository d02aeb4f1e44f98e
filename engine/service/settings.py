"""The job service's settings: archive, database, rule library, limits, notifications.

Read from a TOML file (`hindsight serve --config FILE`), command-line options override it:

```toml
archive = "archive"            # a folder, or "s3://bucket/prefix" (docs/distributed.md)
database = "hindsight.db"
rules = "rules"
tables = "tables"              # optional: reference tables (<tableName>.csv or .parquet)
max_concurrent_jobs = 2
max_results_per_job = 10000    # optional: results beyond it are dropped and the job says so
max_range_days = 90            # optional: longer job ranges are refused with a 400
scheduler = "tcp://10.0.0.5:8786"  # optional: jobs run on this Dask cluster (docs/distributed.md)
[indexes]                      # optional: job index name -> archive index (default: the same)
security = "main"
[notifications.webhooks.soc]
url = "https://hooks.example.com/hindsight"
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.errors import SettingsError
from engine.notify.notifier import NotificationSettings


class ServiceSettings(BaseModel):
    """Everything the job service needs."""

    model_config = ConfigDict(extra="forbid")

    archive: Path | str | None = None  # a folder or s3:// URL; required to serve jobs, not to
    # convert or manage keys
    database: str = "hindsight.db"
    rules: Path | None = None
    tables: Path | None = None  # the folder of reference tables rules may join with
    max_concurrent_jobs: int = Field(2, ge=1, le=64)
    max_results_per_job: int | None = Field(None, ge=1)
    max_range_days: float | None = Field(None, gt=0)
    indexes: dict[str, str] = Field(default_factory=dict)
    scheduler: str | None = None  # a Dask scheduler's address: jobs run on its cluster
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)


class ServerSettings(ServiceSettings):
    """The service plus the HTTP server's own settings."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024)


def load_settings(path: Path | None = None, **overrides: Any) -> ServerSettings:
    """Settings from a TOML file (relative paths are relative to it), then `overrides`."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from None
        for key in ("archive", "rules", "tables"):
            if isinstance(data.get(key), str) and "://" not in data[key]:
                data[key] = str((path.parent / data[key]).resolve())
        if isinstance(data.get("database"), str) and "://" not in data["database"]:
            data["database"] = str((path.parent / data["database"]).resolve())
    data.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return ServerSettings.model_validate(data)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise SettingsError(f"invalid settings{where}: {problems}") from None
