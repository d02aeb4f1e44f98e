"""The API's interactive documentation, `/docs` (Swagger UI) and `/redoc`, served without a CDN.

FastAPI's default docs pages load Swagger UI and ReDoc from a CDN, so they stay blank on a machine
without internet access. Following FastAPI's "custom docs UI static assets" recipe, the app is
created with `docs_url=None, redoc_url=None` and these routes serve the same pages with the assets
vendored in `static/` (npm packages `swagger-ui-dist` and `redoc`, licences beside them) under
`/docs/assets/`. No page loads anything from another host (ReDoc's Google fonts are off).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS = Path(__file__).parent / "static"
#: The docs pages may load only from this server (ReDoc's footer logo and Swagger UI's validator
#: badge would otherwise be fetched from other hosts); both UIs need inline code and styles.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and `/redoc` for `app` (created with `docs_url=None, redoc_url=None`)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="api-docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _local_only(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - API docs",
                swagger_js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_PATH}/swagger-ui/favicon-32x32.png",
                oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            )
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _local_only(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - API reference",
                redoc_js_url=f"{ASSETS_PATH}/redoc/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_PATH}/swagger-ui/favicon-32x32.png",
                with_google_fonts=False,
            )
        )


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page
