"""The job service's HTTP API (FastAPI): `create_app(service, keys, settings)`."""

from engine.api.app import create_app

__all__ = ["create_app"]
