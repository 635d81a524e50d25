"""Fixtures shared by every test. Nothing here imports dagster: ecl_core tests stay engine-free."""

from collections.abc import Iterator

import pytest

from ecl_core.logging import configure_logging

from llama_server import LlamaServer
from messages_api import MessagesAPIServer
from scenarios import API_KEY


@pytest.fixture(autouse=True)
def _json_logs() -> None:
    configure_logging("INFO", force=True)


@pytest.fixture
def messages_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesAPIServer]:
    """The local Messages API server, named by ``ANTHROPIC_BASE_URL`` as a deployment would."""
    server = MessagesAPIServer().start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chat_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesAPIServer]:
    """A local OpenAI-compatible chat completions server, named by ``OPENAI_BASE_URL`` and
    reached with ``OPENAI_API_KEY``, as a deployment would set them."""
    server = MessagesAPIServer(chat=True).start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The real model behind llama.cpp's OpenAI-compatible server, one process per session."""
    server = LlamaServer(tmp_path_factory.mktemp("llama") / "server.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def local_model(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> LlamaServer:
    """The real model, named by ``OPENAI_BASE_URL`` as a deployment would (no key needed)."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "no-key")
    return llama_server


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    return API_KEY


@pytest.fixture
def no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    from postgres import postgres_server  # imports ecl_dagster: only tests that need Postgres

    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """A fresh database for one test."""
    from postgres import create_database

    return create_database(postgres_server_url)
