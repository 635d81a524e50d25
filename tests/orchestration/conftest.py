import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from ecl_dagster.stack.local import LocalStack, local_stack
from ecl_dagster.stack.postgres import free_port

from analysis import DocumentServer
from messages_api import MessagesAPIServer, Reply, system_text
from scenarios import API_KEY, STACK_DRAFT, critique_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An embedded instance's DAGSTER_HOME (the repo's dagster.yaml), set in the environment."""
    folder = tmp_path / "home"
    folder.mkdir()
    shutil.copy(ROOT / "dagster.yaml", folder / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(folder))
    return folder


@pytest.fixture
def documents(messages_api) -> DocumentServer:
    """The local Messages API server answering the migration documents' prompts."""
    return DocumentServer(messages_api)


@pytest.fixture
def postgres_instance(postgres_url, tmp_path, monkeypatch):
    """An instance from deploy/postgres/dagster.yaml on a fresh database; yields (instance, url)."""
    url = sa.make_url(postgres_url)
    for name, value in {
        "DAGSTER_PG_HOST": url.host,
        "DAGSTER_PG_PORT": str(url.port),
        "DAGSTER_PG_USER": url.username,
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.database,
    }.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        yield instance, postgres_url


def _answer(body: dict) -> Reply:
    """A draft for generate requests, a pass for critiques; half a second each."""
    if "demanding editor" in system_text(body):
        return Reply(text=critique_json("pass"), delay_s=0.5)
    return Reply(text=STACK_DRAFT, delay_s=0.5)


@pytest.fixture(scope="session")
def stack_api() -> Iterator[MessagesAPIServer]:
    server = MessagesAPIServer()
    server.responder = _answer
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(stack_api, tmp_path_factory) -> Iterator[LocalStack]:
    """The local stack, on a copy of the workflows folder that tests may add files to."""
    home = tmp_path_factory.mktemp("stack") / "home"
    workflows = tmp_path_factory.mktemp("stack_workflows")
    for path in (ROOT / "workflows").glob("*.yaml"):
        shutil.copy(path, workflows)
    env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": stack_api.url,
           "ECL_WORKFLOWS_DIR": str(workflows)}
    with local_stack(home, web_port=free_port(), extra_env=env) as running:
        yield running
