"""The HTTP API as a real process (`ecl server start`) on the local stack, driven with httpx.

The stack (Postgres, code server, webserver, daemon) and its Messages API server are the
session's; this module starts the API server beside them with a keys file of one hashed key,
and routes its own topics on the Messages API server: a slow one to cancel, one whose first
critique fails. Everything a client sees is collected, and at the end no response, log
line, stored run config or event may hold the API key or ANTHROPIC_API_KEY.
"""

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from prometheus_client.parser import text_string_to_metric_families

from ecl_core.errors import TransientLLMError
from ecl_core.llm.resilience import BreakerSettings, make_breaker
from ecl_core.workflow.scaffold import new_workflow_text
from ecl_dagster.runs.views import RunDetail, RunPage, RunSummary
from ecl_dagster.service.keys import new_key
from ecl_dagster.service.openapi import COMMITTED
from ecl_dagster.stack import services
from ecl_dagster.stack.postgres import free_port

from browser import chromium
from messages_api import Reply, system_text, user_text
from scenarios import API_KEY, STACK_DRAFT, critique_json

ROOT = Path(__file__).resolve().parents[2]
ENDED = {"SUCCESS", "FAILURE", "CANCELED"}


class Client:
    """httpx with the key, keeping every response for the final secrets check."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        self.key = key
        self.seen: list[str] = []

    def __call__(self, method: str, path: str, key: str | None = "default",
                 **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if key == "default":
            key = self.key
        if key is not None:
            headers["X-API-Key"] = key
        response = self.http.request(method, path, headers=headers, **kwargs)
        self.seen.append(json.dumps(dict(response.headers)) + response.text)
        return response

    def follow(self, run_id: str, until=ENDED, timeout_s: float = 180) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            body = self("GET", f"/workflows/{run_id}").json()
            if body["state"] in until:
                return body
            time.sleep(0.3)
        raise TimeoutError(f"run {run_id} not in {until} after {timeout_s} s")


@pytest.fixture(scope="module")
def routes(stack_api):
    """Topic marker -> responder, consulted before the stack's own answers."""
    table: dict[str, object] = {}
    default = stack_api.responder

    def respond(body):
        text = user_text(body)
        for marker, responder in table.items():
            if marker in text:
                return responder(body)
        return default(body)

    stack_api.responder = respond
    yield table
    stack_api.responder = default


@pytest.fixture(scope="module")
def api(stack, tmp_path_factory) -> Iterator[Client]:
    folder = tmp_path_factory.mktemp("api")
    key, entry = new_key("ci-tests")
    limited_key, limited = new_key("limited")
    keys_file = folder / "keys.toml"
    keys_file.write_text(f"{entry}requests_per_minute = 100000\n"
                         f"{limited}requests_per_minute = 3\n")
    log = folder / "api.log"
    port = free_port()
    env = {**stack.env, "ECL_API_KEYS_FILE": str(keys_file)}
    command = services.api_server("127.0.0.1", port, str(stack.home / "workspace.yaml"))
    command[0] = str(Path(sys.executable).with_name(command[0]))
    with log.open("wb") as out:  # the local stack's own command for it
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    client = Client(f"http://127.0.0.1:{port}", key)
    client.log = log
    client.limited_key = limited_key
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if client("GET", "/health/live", key=None).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.3)
    yield client
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def _topic(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


def test_a_key_is_needed_and_checked(api):
    assert api("GET", "/health/live", key=None).json() == {"status": "ok"}
    for key in (None, "ecl_not-a-key", api.key + "x"):
        response = api("GET", "/workflows", key=key)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "unauthorized" and error["details"] == []
        assert "X-API-Key" in error["message"]
    assert api("GET", "/workflows").status_code == 200


def test_each_key_has_its_own_rate(api):
    statuses = [api("GET", "/definitions", key=api.limited_key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api("GET", "/definitions", key=api.limited_key)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "60" and "'limited'" in refused.text
    assert api("GET", "/definitions").status_code == 200  # another key is not held back


def test_bad_input_is_refused_field_by_field(api):
    response = api("POST", "/workflows", json={
        "workflow": "critique_revise", "input": {"topic": 42, "max_revisions": "many"}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    fields = {tuple(d["loc"]) for d in error["details"]}
    assert fields == {("body", "input", "topic"), ("body", "input", "max_revisions")}

    capped = api("POST", "/workflows", json={
        "workflow": "critique_revise", "input": {"topic": "Caps", "max_revisions": 9}})
    assert capped.status_code == 422
    (detail,) = capped.json()["error"]["details"]
    assert detail["loc"] == ["body", "input", "max_revisions"] and "3" in detail["msg"]

    unknown = api("POST", "/workflows", json={"workflow": "nope", "input": {}})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["loc"] == ["body", "workflow"]
    assert "critique_revise" in unknown.json()["error"]["message"]

    for path in ("/etc/passwd.md", "../../dagster.yaml", "notes/../../../secret.md"):
        outside = api("POST", "/workflows", json={
            "workflow": "summarize_document", "input": {"path": path}})
        assert outside.status_code == 422, path
        (detail,) = outside.json()["error"]["details"]
        assert detail["loc"] == ["body", "input", "path"]
        assert "outside the documents folder" in detail["msg"]

    nul = api("POST", "/workflows", json={"workflow": "summarize_document",
                                          "input": {"path": "notes\u0000.md"}})
    assert nul.status_code == 422, nul.text
    (detail,) = nul.json()["error"]["details"]
    assert detail["loc"] == ["body", "input", "path"] and "control character" in detail["msg"]

    many_tags = "/workflows?" + "&".join(f"tag=t{i}=x" for i in range(70))
    for path in ("/workflows?limit=101", "/workflows?limit=0", "/workflows?state=DONE",
                 many_tags):
        assert api("GET", path).status_code == 422, path
    long_id = api("GET", "/workflows/" + "a" * 60_000)
    assert long_id.status_code in (404, 422) and len(long_id.text) < 1000, long_id.status_code


def test_submit_chooses_the_llm_and_refuses_what_is_not_one(api, stack, monkeypatch):
    response = api("POST", "/workflows", json={
        "workflow": "critique_revise", "input": {"topic": _topic("Local model"),
                                                 "max_revisions": 1},
        "provider": "offline", "model": "some-name", "context_window_tokens": 32000})
    assert response.status_code == 201, response.text
    run_id = response.json()["run_id"]
    detail = RunDetail.model_validate(api.follow(run_id))
    assert detail.state == "SUCCESS" and detail.provider == "offline"
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:  # the stack's, as its DAGSTER_HOME says
        run = instance.get_run_by_id(run_id)
    assert run is not None
    assert run.run_config["resources"]["llm"]["config"] == {
        "provider": "offline", "model": "some-name", "context_window_tokens": 32000}

    for field, value, says in [
        ("provider", "claude", "'auto', 'anthropic', 'openai_compatible', 'offline' or "
                               "'scripted'"),
        ("model", " ", "it must be a model name of 1 to 200 characters"),
        ("context_window_tokens", -1, "it must be 0 to 10,000,000 tokens"),
    ]:
        refused = api("POST", "/workflows", json={
            "workflow": "critique_revise", "input": {"topic": "x"}, field: value})
        assert refused.status_code == 422, field
        (detail_,) = refused.json()["error"]["details"]
        assert detail_["loc"] == ["body", field] and says in detail_["msg"], detail_


def test_the_served_openapi_document_is_the_committed_one(api):
    served = api("GET", "/openapi.json", key=None).json()
    assert served == json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_unknown_ids_are_404(api):
    for method, path in [("GET", "/workflows/ffffffff"), ("GET", "/workflows/ffffffff/steps"),
                         ("GET", "/workflows/ffffffff/artifacts"),
                         ("DELETE", "/workflows/ffffffff"),
                         ("POST", "/workflows/ffffffff/reexecute"),
                         ("GET", "/definitions/no_such_workflow")]:
        response = api(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


def test_submit_and_follow_a_run_to_success_then_read_its_steps_and_artifacts(api, stack):
    topic = _topic("Durable APIs")
    response = api("POST", "/workflows", json={
        "workflow": "critique_revise", "input": {"topic": topic, "max_revisions": 1}})
    assert response.status_code == 201, response.text
    submitted = RunSummary.model_validate(response.json())
    assert submitted.state in {"QUEUED", "NOT_STARTED", "STARTING", "STARTED"}
    assert submitted.tags["ecl/api_key"] == "ci-tests"
    assert response.headers["location"] == f"/workflows/{submitted.run_id}"
    assert submitted.tags["ecl/request_id"] == response.headers["x-request-id"]

    detail = RunDetail.model_validate(api.follow(submitted.short_id))
    request_id = response.headers["x-request-id"]
    worker_log = (stack.home / "service_logs" / "code-server.log").read_text()
    calls = [line for line in worker_log.splitlines()
             if '"event": "llm.call"' in line and submitted.run_id in line]
    assert len(calls) == 2 and all(f'"api_request_id": "{request_id}"' in c for c in calls)
    assert detail.state == "SUCCESS"
    assert detail.final_output == STACK_DRAFT
    assert detail.provider == "anthropic"
    assert detail.usage.calls == 2 and detail.usage.total_tokens > 0
    assert detail.total_tokens == detail.usage.total_tokens
    steps = api("GET", f"/workflows/{submitted.run_id}/steps").json()
    assert [s["key"] for s in steps if s["state"] == "succeeded"] == [
        "generate_draft", "critique_draft_0", "final_draft"]

    listed = {a["name"]: a for a in api("GET", f"/workflows/{submitted.run_id}/artifacts").json()}
    assert "final_draft/result" in listed and "generate_draft/result" in listed
    download = api("GET", f"/workflows/{submitted.run_id}/artifacts/final_draft/result")
    assert download.status_code == 200
    assert download.json()["value"]["text"] == STACK_DRAFT
    assert int(download.headers["content-length"]) == listed["final_draft/result"]["bytes"]
    for name in ("../../dagster.yaml", "final_draft/../../../dagster", "%2e%2e/dagster"):
        assert api("GET", f"/workflows/{submitted.run_id}/artifacts/{name}").status_code == 404


def test_list_pages_with_a_cursor_and_filters(api):
    batch = uuid.uuid4().hex[:8]
    ids = []
    for number in range(3):
        response = api("POST", "/workflows", json={
            "workflow": "critique_revise", "tags": {"batch": batch},
            "input": {"topic": _topic(f"Paging {number}"), "max_revisions": 1}})
        assert response.status_code == 201
        ids.append(response.json()["run_id"])
    first = RunPage.model_validate(api("GET", f"/workflows?tag=batch={batch}&limit=2").json())
    assert [r.run_id for r in first.runs] == ids[::-1][:2]  # newest first
    assert first.cursor == ids[1]
    second = RunPage.model_validate(
        api("GET", f"/workflows?tag=batch={batch}&limit=2&cursor={first.cursor}").json())
    assert [r.run_id for r in second.runs] == [ids[0]] and second.cursor is None
    for run_id in ids:
        api.follow(run_id)
    done = api("GET", f"/workflows?tag=batch={batch}&state=SUCCESS&workflow=critique_revise")
    assert len(done.json()["runs"]) == 3
    assert api("GET", f"/workflows?tag=batch={batch}&state=FAILURE").json()["runs"] == []
    reserved = api("POST", "/workflows", json={
        "workflow": "critique_revise", "tags": {"ecl/api_key": "someone-else"},
        "input": {"topic": "x"}})
    assert reserved.status_code == 422
    assert reserved.json()["error"]["details"][0]["loc"] == ["body", "tags", "ecl/api_key"]
    pod = {"container_config": {"image": "attacker/image", "command": ["sh"]},
           "pod_spec_config": {"host_network": True}}
    for tags, loc in [
        ({"dagster-k8s/config": json.dumps(pod)}, ["body", "tags", "dagster-k8s/config"]),
        ({"team.docs": "x" * 257}, ["body", "tags", "team.docs"]),
        ({f"t{i}": "x" for i in range(21)}, ["body", "tags"]),
    ]:
        refused = api("POST", "/workflows", json={"workflow": "critique_revise", "tags": tags,
                                                  "input": {"topic": "x"}})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["loc"] == loc


def _held(hold: threading.Event):
    """Drafts answered once ``hold`` is set; critiques pass at once."""
    def answer(body):
        if "demanding editor" in system_text(body):
            return Reply(text=critique_json("pass"))
        return Reply(text=STACK_DRAFT, hold=hold)
    return answer


def _await_call(stack_api, marker: str) -> None:
    deadline = time.monotonic() + 60
    while not any(marker in user_text(r.body) for r in list(stack_api.requests)):
        assert time.monotonic() < deadline, f"no call for {marker!r}"
        time.sleep(0.2)


def test_cancel_a_running_run_then_reexecute_it_from_failure(api, routes, stack_api):
    marker = _topic("Slow to answer")
    hold = threading.Event()
    routes[marker] = _held(hold)
    try:
        run_id = api("POST", "/workflows", json={
            "workflow": "critique_revise", "input": {"topic": marker}}).json()["run_id"]
        api.follow(run_id, until={"STARTED"})
        _await_call(stack_api, marker)
        running = api("POST", f"/workflows/{run_id}/reexecute", json={"all_steps": True})
        assert running.status_code == 409 and "STARTED" in running.json()["error"]["message"]
        response = api("DELETE", f"/workflows/{run_id[:8]}")
        assert response.status_code == 202
        assert response.json()["state"] in {"CANCELING", "CANCELED"}
        canceled = RunDetail.model_validate(api.follow(run_id))
        assert canceled.state == "CANCELED"
        assert canceled.steps[0].key == "generate_draft" and canceled.steps[0].attempts == 1
        again = api("DELETE", f"/workflows/{run_id}")
        assert again.status_code == 409 and "CANCELED" in again.json()["error"]["message"]
    finally:
        hold.set()
    response = api("POST", f"/workflows/{run_id}/reexecute")  # no body: from failure
    assert response.status_code == 201, response.text
    child = RunDetail.model_validate(api.follow(response.json()["run_id"]))
    assert child.state == "SUCCESS" and child.parent_run_id == run_id
    assert child.tags["ecl/request_id"] == response.headers["x-request-id"]  # not the parent's
    assert child.usage.calls == child.llm_calls == 2


def test_a_run_executing_in_a_shell_cannot_be_cancelled_from_the_api(api, routes, stack_api,
                                                                      stack):
    marker = _topic("In a shell")
    hold = threading.Event()
    routes[marker] = _held(hold)
    dg_bin = Path(sys.executable).with_name("dg")
    config = json.dumps({"ops": {"generate_draft": {"config": {"topic": marker,
                                                               "max_revisions": 0}}}})
    shell = subprocess.Popen(
        [str(dg_bin), "launch", "--job", "critique_revise", "--config-json", config],
        cwd=ROOT, env={**stack.env, "VIRTUAL_ENV": str(Path(sys.executable).parents[1])},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _await_call(stack_api, marker)
        (run,) = api("GET", "/workflows?state=STARTED&limit=100").json()["runs"][:1] or [None]
        assert run is not None and run["tags"].get("ecl/api_key") is None
        refused = api("DELETE", f"/workflows/{run['run_id']}")
        assert refused.status_code == 409
        assert "outside the run queue" in refused.json()["error"]["message"]
    finally:
        hold.set()
        assert shell.wait(timeout=120) == 0


def test_reexecute_a_failed_run_from_failure_without_paying_twice(api, routes, stack_api):
    marker = _topic("Fails once")
    critiques = []

    def answer(body):
        if "demanding editor" in system_text(body):
            critiques.append(body)
            if len(critiques) == 1:
                return Reply(status=400, message="scripted: this request is refused once")
            return Reply(text=critique_json("pass"))
        return Reply(text=STACK_DRAFT)

    routes[marker] = answer
    parent_id = api("POST", "/workflows", json={
        "workflow": "critique_revise", "input": {"topic": marker}}).json()["run_id"]
    parent = RunDetail.model_validate(api.follow(parent_id))
    assert parent.state == "FAILURE"
    assert any(e.startswith("critique_draft_0") for e in parent.errors)

    response = api("POST", f"/workflows/{parent_id}/reexecute", json={})
    assert response.status_code == 201, response.text
    child = RunDetail.model_validate(api.follow(response.json()["run_id"]))
    assert child.state == "SUCCESS" and child.parent_run_id == parent_id
    assert child.final_output == STACK_DRAFT
    generated = [r for r in stack_api.requests
                 if marker in user_text(r.body) and "demanding editor" not in system_text(r.body)]
    assert len(generated) == 1  # the draft is not asked for again
    assert len(critiques) == 2
    assert child.usage.calls == 1 and child.lineage_usage.calls == 2

    again = api("POST", f"/workflows/{child.run_id}/reexecute", json={})
    assert again.status_code == 409 and "SUCCESS" in again.json()["error"]["message"]


def test_definitions_describe_each_workflow_and_its_input(api):
    listed = {w["id"]: w for w in api("GET", "/definitions").json()}
    assert {"critique_revise", "summarize_document"} <= set(listed)
    detail = api("GET", "/definitions/critique_revise").json()
    assert detail["input_schema"]["properties"]["topic"]["type"] == "string"
    assert detail["loops"] == [{"reviser": "revise_draft", "validator": "critique_draft",
                                "max_iterations": 3, "max_iterations_from": "max_revisions"}]
    assert detail["order"][0] == "generate_draft"


BROKEN = """\
id: zz_broken
name: Broken on purpose
input: ecl_core.steps.builtin:CritiqueReviseInput
steps:
  - {id: zz_first, type: generate}
  - {id: zz_second, type: no_such_step, depends_on: [zz_first]}
"""


def _reload(stack) -> None:
    """What the UI's Reload button does: the webserver reloads the code location."""
    graphql = f"{stack.web_url}/graphql"
    mutation = 'mutation { reloadRepositoryLocation(repositoryLocationName: "ecl") { __typename } }'
    assert httpx.post(graphql, json={"query": mutation}, timeout=120).status_code == 200
    status = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        entries = httpx.post(graphql, json={"query": status}, timeout=60).json()[
            "data"]["workspaceOrError"]["locationEntries"]
        if all(e["loadStatus"] == "LOADED" for e in entries):
            return
        time.sleep(0.5)
    raise TimeoutError("the code location did not reload in 120 s")


def test_a_broken_workflow_file_is_contained_and_said_everywhere(api, stack):
    folder = Path(stack.env["ECL_WORKFLOWS_DIR"])
    broken, fresh = folder / "zz_broken.yaml", folder / "zz_fresh.yaml"
    where = f"{broken}:6: step 'zz_second': unknown step type 'no_such_step'"
    broken.write_text(BROKEN)
    fresh.write_text(new_workflow_text("zz_fresh"))  # added after the API server started
    try:
        _reload(stack)
        listed = subprocess.run([str(Path(sys.executable).with_name("ecl")), "workflows",
                                 "list"], env=stack.env, capture_output=True, text=True,
                                timeout=120)
        assert listed.returncode == 2
        assert "critique_revise " in listed.stdout and "zz_fresh " in listed.stdout
        assert where in listed.stderr

        ready = api("GET", "/health/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["workflows"] == {"ok": False, "error": (
            "1 broken workflow file(s): zz_broken.yaml:6; their runs are refused: run "
            "`ecl workflows check` for every problem")}
        refused = api("POST", "/workflows", json={"workflow": "zz_broken",
                                                  "input": {"topic": _topic("broken")}})
        assert refused.status_code == 503 and where in refused.json()["error"]["message"]
        described = api("GET", "/definitions/zz_broken")
        assert described.status_code == 503 and where in described.json()["error"]["message"]
        for workflow in ("critique_revise", "zz_fresh"):
            accepted = api("POST", "/workflows", json={"workflow": workflow,
                                                       "input": {"topic": _topic(workflow)}})
            assert accepted.status_code == 201, accepted.text
            assert api.follow(accepted.json()["run_id"])["state"] == "SUCCESS"

        with chromium(ROOT / "test-artifacts" / "ui") as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{stack.web_url}/locations/ecl/jobs/zz_broken",
                      wait_until="networkidle")
            try:  # Dagster's "join the community" dialog may cover the page
                page.get_by_role("button", name="Skip").click(timeout=5_000)
            except PlaywrightTimeoutError:
                pass
            expect(page.get_by_text("Broken workflow file").first).to_be_visible(
                timeout=60_000)
            expect(page.get_by_text(where, exact=False).first).to_be_visible()
            page.screenshot(path=str(ROOT / "test-artifacts" / "ui" / "broken-workflow.png"))

        broken.write_text(new_workflow_text("zz_broken"))  # fixed, and no reload
        mended = api("POST", "/workflows", json={"workflow": "zz_broken",
                                                 "input": {"topic": _topic("mended")}})
        assert mended.status_code == 201, mended.text
        assert api.follow(mended.json()["run_id"])["state"] == "SUCCESS"
    finally:
        broken.unlink()
        fresh.unlink()
        _reload(stack)


def test_metrics_show_runs_and_their_tokens(api):
    families = {f.name: f for f in text_string_to_metric_families(
        api("GET", "/metrics", key=None).text)}
    runs = {(s.labels["state"], s.labels["workflow"]): s.value
            for s in families["ecl_runs"].samples}
    listed, cursor = [], None
    while True:
        page = api("GET", "/workflows?workflow=critique_revise&limit=100"
                   + (f"&cursor={cursor}" if cursor else "")).json()
        listed += page["runs"]
        cursor = page["cursor"]
        if cursor is None:
            break
    succeeded = [r for r in listed if r["state"] == "SUCCESS"]
    assert runs[("SUCCESS", "critique_revise")] == len(succeeded) > 0
    tokens = sum(s.value for s in families["ecl_llm_tokens"].samples
                 if s.name == "ecl_llm_tokens_total"
                 and s.labels["workflow"] == "critique_revise")
    assert tokens == sum(r["total_tokens"] or 0 for r in listed) > 0
    calls = sum(s.value for s in families["ecl_llm_calls"].samples
                if s.name == "ecl_llm_calls_total" and s.labels["workflow"] == "critique_revise")
    assert calls == sum(r["llm_calls"] or 0 for r in listed)
    requests = [s for s in families["ecl_api_requests"].samples
                if s.name == "ecl_api_requests_total" and s.labels["status"] == "401"]
    assert requests and all(s.labels["route"] == "/workflows" for s in requests)


def test_ready_reports_an_open_breaker(api, stack):
    url = stack.postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    name = f"tests:{uuid.uuid4().hex[:8]}"
    breaker = make_breaker(name, BreakerSettings(failure_threshold=2, window_s=60,
                                                 reset_timeout_s=600), url)

    def failing(_request):
        raise TransientLLMError("scripted overload")

    ready = api("GET", "/health/ready", key=None).json()
    assert ready["storage"]["ok"] and ready["code_location"]["ok"]
    assert name not in {b["name"] for b in ready["breakers"]}
    for _ in range(2):
        with pytest.raises(TransientLLMError):
            breaker.call(failing, None)
    response = api("GET", "/health/ready", key=None)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    (reported,) = [b for b in body["breakers"] if b["name"] == name]
    assert reported["state"] == "open" and reported["opens"] == 1
    metrics = api("GET", "/metrics", key=None).text
    assert f'ecl_breaker_state{{name="{name}",state="open"}} 1.0' in metrics
    assert f'ecl_breaker_opens_total{{name="{name}"}} 1.0' in metrics
    with sa.create_engine(url).begin() as conn:  # leave the instance as it was
        for table in ("ecl_breaker_state", "ecl_breaker_failures", "ecl_breaker_opens"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE name = :n"), {"n": name})


def test_zz_no_secret_in_responses_logs_run_config_or_events(api, stack):
    secrets = [api.key, API_KEY]
    for text in api.seen:
        for secret in secrets:
            assert secret not in text
    logs = [api.log, *sorted((stack.home / "service_logs").glob("*"))]
    for path in logs:
        content = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in content, f"a secret is in {path}"
    assert "api.request" in api.log.read_text() and "api.audit" in api.log.read_text()
    with sa.create_engine(stack.postgres_url).connect() as conn:
        for secret in secrets:
            pattern = {"p": f"%{secret}%"}
            for query in ("SELECT count(*) FROM runs WHERE run_body LIKE :p",
                          "SELECT count(*) FROM run_tags WHERE value LIKE :p",
                          "SELECT count(*) FROM event_logs WHERE event LIKE :p"):
                assert conn.execute(sa.text(query), pattern).scalar_one() == 0, query
