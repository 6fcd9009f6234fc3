"""The API's documentation page, Swagger UI served from an installed package: no CDN.

FastAPI's own `/docs` loads its scripts from a CDN, which an offline machine cannot reach;
`fastapi-offline` ships the same Swagger UI files, served here under `/docs/assets`.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
SWAGGER_ASSETS = files("fastapi_offline") / "static"


def add_docs_page(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` for the app's `/openapi.json`, from local files only."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(SWAGGER_ASSETS)), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs_page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=None,
            # Swagger UI would otherwise send the schema to an online validator for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )
