"""The API's documentation pages (/docs, /redoc) in a real browser with no way out.

``ecl server start`` runs as a process over an embedded instance (the repo's dagster.yaml
in a fresh DAGSTER_HOME) and Debian's Chromium, driven by Playwright as in test_ui.py,
opens each page with every request to a host other than this machine aborted: a page
that needs a CDN stays blank, and the aborted request is named. Screenshots go to
``$ECL_TEST_ARTIFACTS/api-docs`` (default ``test-artifacts/api-docs`` in the project).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from ecl_dagster.service.keys import new_key
from ecl_dagster.stack import services
from ecl_dagster.stack.postgres import free_port

from browser import chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ECL_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "api-docs"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def api_url(tmp_path_factory) -> Iterator[str]:
    """The base URL of ``ecl server start`` over a fresh embedded instance."""
    folder = tmp_path_factory.mktemp("api-docs")
    home = folder / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    keys_file = folder / "keys.toml"
    keys_file.write_text(new_key("docs-tests")[1])
    log = folder / "api.log"
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "ECL_API_KEYS_FILE": str(keys_file)}
    command = services.api_server("127.0.0.1", port, str(ROOT / "workspace.yaml"))
    command[0] = str(Path(sys.executable).with_name(command[0]))
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health/live", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(ARTIFACTS) as launched:
        yield launched


@pytest.fixture
def offline_page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page whose requests to any host but this machine are aborted, and their URLs."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    aborted: list[str] = []

    def only_local(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            aborted.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page, aborted
    context.close()


# Swagger UI breaks a path with invisible spaces before each slash; data-path has it whole.
_SWAGGER_PATH = ".opblock-summary-path[data-path='{path}']"
# ReDoc writes each operation's path beside its method, above the operation's servers.
_REDOC_PATH = "span:text-is('{path}')"


@pytest.mark.parametrize(("page_url", "path_selector"), [
    ("/docs", _SWAGGER_PATH),
    ("/redoc", _REDOC_PATH),
], ids=["swagger-ui", "redoc"])
def test_the_docs_pages_list_the_endpoints_with_nothing_from_outside(
    api_url, offline_page, page_url, path_selector
):
    page, aborted = offline_page
    assert httpx.get(f"{api_url}{page_url}").status_code == 200  # no API key, as before
    page.goto(f"{api_url}{page_url}", wait_until="networkidle")
    for path in ("/workflows", "/workflows/{run_id}", "/definitions", "/health/live"):
        expect(page.locator(path_selector.format(path=path)).first,
               f"{path} not shown on {page_url}; requests blocked: {aborted}",
               ).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / f"{page_url.strip('/')}.png"), full_page=False)
    page.wait_for_load_state("networkidle")
    assert aborted == [], f"{page_url} asked for files from outside this machine: {aborted}"
