"""`create_app`: the job service's HTTP API, Datadog's v2 paths (SPEC §4, §5).

The ten historical-job endpoints are served under both path families,
`/api/v2/siem-historical-detections` and `/api/v2/siem-threat-hunting`, with identical
behaviour; beside them the signals API (converted results) and the rules API (what `fromRule`
jobs run). Every endpoint needs `DD-API-KEY` and `DD-APPLICATION-KEY` with the right scope; the
OpenAPI document (`/openapi.json`) and the docs UI (`/docs`, `/redoc`) are public. Request bodies
over `settings.max_body_bytes` are refused with 413 (once the keys are checked), and every error
is a Datadog error body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from engine.api.auth import SECURITY_SCHEMES, Authenticator
from engine.api.bodies import BodyLimit
from engine.api.docs import install_docs
from engine.api.errors import install_error_handlers
from engine.api.routes.histsignals import histsignals_router
from engine.api.routes.jobs import jobs_router
from engine.api.routes.rules import rules_router
from engine.api.routes.signals import signals_router
from engine.service.jobs import JobService
from engine.service.settings import ServerSettings
from engine.store.keys import KeyStore

#: The path families of the historical-jobs API (SPEC §5.4: both, identical behaviour).
JOB_PATH_FAMILIES: tuple[str, ...] = (
    "/api/v2/siem-historical-detections",
    "/api/v2/siem-threat-hunting",
)

DESCRIPTION = """\
Hindsight's job service: Datadog Cloud SIEM Historical Jobs over a local log archive.

Authenticate every request with the headers `DD-API-KEY` and `DD-APPLICATION-KEY`; each
operation names the application-key scope it needs (`x-required-scope`).
"""


def create_app(service: JobService, keys: KeyStore, settings: ServerSettings) -> FastAPI:
    """The FastAPI application serving `service`, authenticating with `keys`."""
    app = FastAPI(
        title="Hindsight",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # served by install_docs with local assets
        redoc_url=None,
        strict_content_type=False,
    )
    app.state.service = service
    app.state.authenticator = Authenticator(keys)
    app.state.settings = settings
    for family in JOB_PATH_FAMILIES:
        tag = family.rsplit("/", 1)[-1]
        app.include_router(jobs_router(service), prefix=family, tags=[tag])
        app.include_router(histsignals_router(service), prefix=family, tags=[tag])
    app.include_router(signals_router(service), tags=["signals"])
    app.include_router(rules_router(service), tags=["rules"])
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _document_security(app)
    install_docs(app)
    return app


def _document_security(app: FastAPI) -> None:
    """Add the key headers to the OpenAPI document's security schemes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
