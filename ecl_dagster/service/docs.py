"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), offline.

FastAPI's own pages load their JavaScript, CSS, favicon and (ReDoc) fonts from public
hosts, so they are blank where the server's users have no internet. These are the same
pages, built with FastAPI's ``get_swagger_ui_html`` and ``get_redoc_html`` ("Self-hosting
JavaScript and CSS for docs" in FastAPI's documentation), whose assets the API serves
itself under ``/docs/assets`` from the ``fastapi-offline`` package (Swagger UI's bundle
and CSS, ReDoc's standalone bundle, a favicon). ``/redoc`` also answers with a
Content-Security-Policy allowing images from the server only, so the browser does not ask
for the logo ReDoc's menu takes from Redocly: nothing is fetched from outside. As with
FastAPI's pages, none of them asks for an API key; ``/openapi.json`` does not either.
"""

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "DOCS_URL", "REDOC_URL", "install"]

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
_IMAGES_FROM_HERE = "img-src 'self' data:"
_ASSETS = ("fastapi_offline", "static")  # the package's folder of the files the pages load


def install(app: FastAPI) -> None:
    """Serve ``/docs``, its OAuth2 redirect page, ``/redoc`` and their assets on ``app``.

    Args:
        app: An app made with ``docs_url=None, redoc_url=None`` (FastAPI's pages off).
    """
    openapi_url = app.openapi_url
    if not openapi_url:  # no document, no pages (as FastAPI's own)
        return
    redirect_url = app.swagger_ui_oauth2_redirect_url
    app.mount(ASSETS_URL, StaticFiles(packages=[_ASSETS]), name="docs-assets")

    def root(request: Request) -> str:
        root_path = request.scope.get("root_path", "")
        return root_path.rstrip("/") if isinstance(root_path, str) else ""

    async def swagger_ui_html(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=base + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{base}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=base + redirect_url if redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc_html(request: Request) -> HTMLResponse:
        base = root(request)
        page = get_redoc_html(
            openapi_url=base + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's menu shows Redocly's logo from Redocly's CDN (no option turns it off);
        # the browser may not ask for it, and ReDoc hides an image that fails.
        page.headers["Content-Security-Policy"] = _IMAGES_FROM_HERE
        return page

    app.add_route(DOCS_URL, swagger_ui_html, include_in_schema=False)
    if redirect_url:
        app.add_route(redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc_html, include_in_schema=False)
