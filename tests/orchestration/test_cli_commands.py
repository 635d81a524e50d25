"""The ``ecl`` commands on a real embedded instance: run, list, status, logs, cancel,
reexecute, workflows, server new-key, ``--format table|json|quiet``, run id prefixes, shell
completion, the LLM options. JSON output is validated against the models the HTTP API
returns."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner, Result
from processes import daemon, wait_for

from ecl_dagster.cli import COMMANDS, ecl
from ecl_dagster.runs import launching
from ecl_dagster.runs.views import RunDetail, RunPage, RunSummary
from ecl_dagster.service.keys import hash_key, load_keys

ROOT = Path(__file__).resolve().parents[2]
ECL = str(Path(sys.executable).with_name("ecl"))
TOPIC = {"topic": "Durable execution for LLM workflows"}
TOPIC_JSON = json.dumps(TOPIC)


@pytest.fixture
def offline(home, no_api_key, monkeypatch) -> Path:
    """The embedded instance with the offline provider and the project's workflows."""
    for name in ("ANTHROPIC_BASE_URL", "ECL_WORKFLOWS_DIR", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return home


def _ecl(*args: str) -> Result:
    """``ecl ARGS`` in this process, through click's runner (stdout and stderr apart)."""
    return CliRunner().invoke(ecl, list(args), catch_exceptions=False)


def _shell(*args: str, env: dict[str, str] | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``ecl ARGS`` as a real process, as a person or a script runs it."""
    return subprocess.run([ECL, *args], env=env or {**os.environ}, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _run_here() -> RunDetail:
    done = _ecl("run", "critique_revise", "--input", TOPIC_JSON, "--wait", "--format", "json")
    assert done.exit_code == 0, done.output
    return RunDetail.model_validate(json.loads(done.stdout))


def test_run_wait_in_a_shell_executes_the_run_here_and_prints_its_detail(offline):
    done = _shell("run", "critique_revise", "--input", TOPIC_JSON, "--wait", "--format", "json")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "no daemon runs for this instance: the run executes in this process" in done.stderr
    detail = RunDetail.model_validate(json.loads(done.stdout))
    assert detail.state == "SUCCESS" and detail.workflow == "critique_revise"
    assert detail.provider == "offline" and detail.llm_calls == detail.usage.calls > 0
    assert detail.final_output
    assert [s.key for s in detail.steps][0] == "generate_draft"
    assert "final_draft" in {s.key for s in detail.steps if s.state == "succeeded"}
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(detail.run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["ecl/workflow"] == "critique_revise"


def test_status_by_prefix_shows_provider_tokens_and_duration(offline):
    detail = _run_here()

    shown = _ecl("status", detail.short_id)
    assert shown.exit_code == 0, shown.output
    assert f"run {detail.run_id} (critique_revise): SUCCESS" in shown.stdout
    assert (f"provider: offline   tokens: {detail.usage.total_tokens:,}   duration: "
            in shown.stdout)
    states = [s.state for s in detail.steps]
    assert (f"steps: {states.count('succeeded')} succeeded, {states.count('skipped')} skipped, "
            "0 failed") in shown.stdout
    assert "  succeeded  generate_draft " in shown.stdout
    assert f"usage: {detail.usage.calls} LLM calls (0 from the journal)" in shown.stdout
    assert shown.stdout.endswith(f"final draft:\n{detail.final_output}\n")

    as_json = _ecl("status", detail.run_id[:4], "--format", "json")
    assert as_json.exit_code == 0
    again = RunDetail.model_validate(json.loads(as_json.stdout))
    assert (again.run_id, again.state, again.usage) == (detail.run_id, "SUCCESS", detail.usage)

    quiet = _ecl("status", detail.short_id, "--format", "quiet")
    assert (quiet.exit_code, quiet.stdout) == (0, f"{detail.run_id}\n")

    short = _ecl("status", detail.run_id[:3])
    assert short.exit_code == 2
    assert f"no run {detail.run_id[:3]} in the instance at DAGSTER_HOME" in short.stderr
    assert "a prefix of 4 to 36 of its characters" in short.stderr
    unknown = _ecl("status", "0000aaaa")
    assert unknown.exit_code == 2
    assert "no run 0000aaaa in the instance at DAGSTER_HOME" in unknown.stderr

    watched = _ecl("status", detail.short_id, "--watch", "--format", "json")
    assert watched.exit_code == 0
    (line,) = _json_lines(watched.stdout)  # it has ended: printed once
    assert RunDetail.model_validate(line).run_id == detail.run_id


def test_seventy_tag_filters_are_refused_not_a_traceback(offline):
    done = _ecl("list", *[f"--tag=t{i}=x" for i in range(70)])
    assert done.exit_code == 2
    assert "Invalid value for --tag: tag: 70 tag filters; at most 10" in done.stderr


def test_a_run_id_longer_than_a_run_id_is_refused_before_any_query(offline):
    done = _ecl("status", "a" * 60_000)
    assert done.exit_code == 2
    assert done.stderr.startswith(
        f"ecl: no run {'a' * 40}... in the instance at DAGSTER_HOME: run id '{'a' * 40}... "
        "(60,000 characters)': give a run id or a prefix of 4 to 36 of its characters")
    assert len(done.stderr) < 400


def test_a_path_with_a_nul_is_refused_before_a_run_exists(offline):
    done = _ecl("run", "summarize_document", "--input", json.dumps({"path": "notes\u0000.md"}))
    assert done.exit_code == 2
    assert "path: Value error, has a control character (such as NUL)" in done.stderr
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs() == []


def test_an_ambiguous_prefix_is_refused_naming_it(offline):
    with dg.DagsterInstance.get() as instance:
        for tail in ("1111-4111-8111-111111111111", "2222-4222-8222-222222222222"):
            instance.add_run(dg.DagsterRun(job_name="critique_revise",
                                           run_id=f"abcdef12-{tail}",
                                           status=dg.DagsterRunStatus.FAILURE))
    done = _ecl("status", "abcdef12")
    assert done.exit_code == 2
    assert "run id prefix 'abcdef12' is ambiguous" in done.stderr
    assert _ecl("status", "abcdef12-1111", "--format", "quiet").stdout == (
        "abcdef12-1111-4111-8111-111111111111\n")


def test_logs_of_one_step_and_as_json_lines(offline):
    detail = _run_here()

    table = _ecl("logs", detail.short_id, "--step", "final_draft")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    events = [line.split()[2] for line in lines if line[:2].isdigit()]
    assert events[0] == "STEP_START" and events[-1] == "STEP_SUCCESS"
    assert all(line.split()[1] == "final_draft" for line in lines if line[:2].isdigit())
    assert "generate_draft" not in table.stdout

    documents = _json_lines(_ecl("logs", detail.short_id, "--format", "json").stdout)
    assert documents[0]["event_type"] == "RUN_START"
    assert documents[-1]["event_type"] in {"RUN_SUCCESS", "ENGINE_EVENT"}
    assert {d["run_id"] for d in documents} == {detail.run_id}
    assert {"generate_draft", "final_draft", None} <= {d["step_key"] for d in documents}
    revisions = _json_lines(_ecl("logs", detail.short_id, "--step", "revise_draft_1",
                                 "--format", "json").stdout)
    assert revisions and {d["step_key"] for d in revisions} == {"revise_draft_1[revision_1]"}
    assert _ecl("logs", detail.short_id, "--format", "quiet").stdout == ""


def test_list_pages_filters_and_cancels_a_queued_run(offline, tmp_path):
    first, second = _run_here(), _run_here()
    brief = tmp_path / "input.json"
    brief.write_text(TOPIC_JSON)
    submitted = _ecl("run", "critique_revise", "--input-file", str(brief), "--tag", "team=docs",
                     "--format", "json")
    assert submitted.exit_code == 0, submitted.output
    assert "waits in the queue until one does" in submitted.stderr  # no daemon runs
    queued = RunSummary.model_validate(json.loads(submitted.stdout))
    assert queued.state == "QUEUED" and queued.tags["team"] == "docs"

    page = RunPage.model_validate(json.loads(_ecl("list", "--limit", "1", "--format",
                                                   "json").stdout))
    assert [r.run_id for r in page.runs] == [queued.run_id] and page.cursor == queued.run_id
    rest = RunPage.model_validate(json.loads(_ecl("list", "--limit", "5", "--cursor",
                                                   page.cursor, "--format", "json").stdout))
    assert [r.run_id for r in rest.runs] == [second.run_id, first.run_id]
    assert rest.cursor is None
    succeeded = RunPage.model_validate(json.loads(_ecl("list", "--state", "SUCCESS",
                                                        "--format", "json").stdout))
    assert {r.run_id for r in succeeded.runs} == {first.run_id, second.run_id}
    assert {r.state for r in succeeded.runs} == {"SUCCESS"}
    assert _ecl("list", "--tag", "team=docs", "--format", "quiet").stdout == (
        f"{queued.run_id}\n")
    assert _ecl("list", "--workflow", "summarize_document").stdout == "no runs\n"
    table = _ecl("list")
    assert table.stdout.splitlines()[0].split()[:3] == ["RUN", "WORKFLOW", "STATE"]
    assert f"{first.short_id}  critique_revise" in table.stdout and "offline" in table.stdout
    bad = _ecl("list", "--state", "DONE")
    assert bad.exit_code == 2 and "'DONE' is not a valid DagsterRunStatus" in bad.stderr

    cancelled = _ecl("cancel", queued.short_id, "--format", "json")
    assert cancelled.exit_code == 0, cancelled.output
    assert RunSummary.model_validate(json.loads(cancelled.stdout)).state == "CANCELED"
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(queued.run_id).status == dg.DagsterRunStatus.CANCELED
    again = _ecl("cancel", queued.short_id)
    assert again.exit_code == 2
    assert f"cannot cancel: run {queued.run_id} has ended: CANCELED" in again.stderr
    ended = _ecl("cancel", first.short_id)
    assert ended.exit_code == 2 and "has ended: SUCCESS" in ended.stderr


def test_run_without_wait_prints_the_queued_run(offline):
    table = _ecl("run", "critique_revise", "--input", TOPIC_JSON)
    assert table.exit_code == 0, table.output
    (line,) = table.stdout.splitlines()
    assert line.startswith("run ") and line.endswith(" (critique_revise): QUEUED")
    quiet = _ecl("run", "critique_revise", "--input", TOPIC_JSON, "--format", "quiet")
    run_id = quiet.stdout.strip()
    assert quiet.exit_code == 0 and str(uuid.UUID(run_id)) == run_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", '{"topic": 5}'], "Invalid value for --input: topic: Input should be a "
                                      "valid string (the input of workflow critique_revise)"),
        ([], "Invalid value for --input: topic: Field required"),
        (["--input", '{"topic": "Tea", "max_revisions": 9}'],
         "Invalid value for --input: max_revisions: is 9; it must be 0 to 3"),
        (["--input", '{"topic": '], "Invalid value for --input: not JSON"),
        (["--input", '["Tea"]'], "give a JSON object"),
        (["--input", TOPIC_JSON, "--input-file", "-"], "give --input or --input-file, not both"),
        (["--input", TOPIC_JSON, "--tag", "ecl/budget_usd=9"], "'ecl/budget_usd': a tag key "
                                                              "is a plain name"),
        (["--input", TOPIC_JSON, "--tag", 'dagster-k8s/config={"container_config": {}}'],
         "'dagster-k8s/config': a tag key is a plain name"),
        (["--input", TOPIC_JSON, "--budget-tokens", "lots"], "--budget-tokens"),
        (["--input", TOPIC_JSON, "--budget-tokens", "²"],
         "--budget-tokens: is '²'; it must be a whole number of tokens (digits 0-9)"),
        (["--input", TOPIC_JSON, "--provider", "claude"],
         "Invalid value for '--provider': 'claude' is not one of 'auto', 'anthropic', "
         "'openai_compatible', 'offline', 'scripted'"),
        (["--input", TOPIC_JSON, "--context-window-tokens", "-1"],
         "Invalid value for '--context-window-tokens': -1 is not in the range "
         "0<=x<=10000000"),
        (["--input", TOPIC_JSON, "--model", " "],
         "ecl: invalid LLM settings: --model: is ' '; it must be a model name of 1 to 200 "
         "characters, not blank"),
    ],
)
def test_bad_input_exits_2_naming_the_field(offline, args, message):
    done = _ecl("run", "critique_revise", *args)
    assert done.exit_code == 2
    assert message in done.stderr
    with dg.DagsterInstance.get() as instance:
        assert instance.get_runs() == []  # nothing started


def _llm_config(run_id: str) -> dict:
    """The ``resources.llm.config`` of the run as the instance stored it."""
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.run_config["resources"]["llm"]["config"]


def test_run_chooses_the_llm_queued_and_in_this_process(offline):
    queued = _ecl("run", "critique_revise", "--input", TOPIC_JSON, "--provider", "offline",
                  "--model", "some-name", "--format", "quiet")
    assert queued.exit_code == 0, queued.output
    assert _llm_config(queued.stdout.strip()) == {"provider": "offline", "model": "some-name"}

    waited = _ecl("run", "critique_revise", "--input", TOPIC_JSON, "--wait", "--provider",
                  "offline", "--model", "local-model", "--context-window-tokens", "32000",
                  "--format", "json")
    assert waited.exit_code == 0, waited.output
    detail = RunDetail.model_validate(json.loads(waited.stdout))
    assert detail.state == "SUCCESS" and detail.provider == "offline"
    assert _llm_config(detail.run_id) == {"provider": "offline", "model": "local-model",
                                          "context_window_tokens": 32000}


def test_an_unknown_workflow_exits_2_naming_the_defined_ones(offline):
    done = _ecl("run", "nope", "--input", TOPIC_JSON)
    assert done.exit_code == 2
    assert "no workflow 'nope' (defined: critique_revise, reviewed_draft" in done.stderr


def test_reexecute_every_step_prints_the_new_runs_detail(offline):
    parent = _run_here()

    done = _ecl("reexecute", parent.short_id, "--all", "--format", "json")
    assert done.exit_code == 0, done.output
    child = RunDetail.model_validate(json.loads(done.stdout))
    assert child.parent_run_id == child.root_run_id == parent.run_id
    assert child.state == "SUCCESS" and child.lineage_usage is not None
    assert child.usage.journaled_calls == child.usage.calls > 0  # answered by the journal

    refused = _ecl("reexecute", parent.short_id)  # from failure, of a run that succeeded
    assert refused.exit_code == 2
    assert f"ecl: cannot re-execute {parent.run_id}: " in refused.stderr


def test_without_dagster_home_only_workflows_and_help_work(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("ECL_WORKFLOWS_DIR", raising=False)
    for args in (["status", "abcd1234"], ["list"], ["logs", "abcd"], ["cancel", "abcd1234"],
                 ["usage"], ["review", "list"]):
        done = _ecl(*args)
        assert done.exit_code == 2, args
        assert done.stderr == "ecl: set DAGSTER_HOME to the instance's directory\n", args
    assert _ecl("--help").exit_code == 0
    assert _ecl("workflows", "list", "--format", "quiet").stdout.split() == [
        "critique_revise", "reviewed_draft", "summarize_document"]
    listed = json.loads(_ecl("workflows", "list", "--format", "json").stdout)
    assert [w["id"] for w in listed][0] == "critique_revise"
    assert "topic" in listed[0]["input_schema"]["properties"]
    shown = json.loads(_ecl("workflows", "show", "critique_revise", "--format", "json").stdout)
    assert shown["order"] == ["generate_draft", "critique_draft", "revise_draft", "final_draft"]


def test_help_and_completion_import_no_command():
    """``ecl --help`` lists every command without importing one (so no Dagster)."""
    code = ("import sys; from ecl_dagster.cli import main; code = main(['--help']); "
            "assert code == 0; print(sorted(m for m in sys.modules if m == 'dagster'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    for name in COMMANDS:
        assert f"  {name} " in done.stdout


def test_each_commands_listed_help_is_its_own():
    for name, (_, text) in COMMANDS.items():
        command = ecl.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None, name
        assert command.get_short_help_str(limit=200) == text, name


def _complete(words: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [ECL], env={**env, "_ECL_COMPLETE": "bash_complete", "COMP_WORDS": words,
                    "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))},
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines()]


def test_shell_completion_of_commands_workflows_and_run_ids(offline):
    script = _shell(env={**os.environ, "_ECL_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "_ecl_completion" in script.stdout
    env = {**os.environ}
    assert _complete("ecl sta", env) == ["status"]
    assert _complete("ecl run crit", env) == ["critique_revise"]
    detail = _run_here()
    assert _complete(f"ecl status {detail.run_id[:4]}", env) == [detail.short_id]


def test_server_new_key_prints_the_key_once_and_its_hashed_entry(tmp_path):
    done = _ecl("server", "new-key", "ci")
    assert done.exit_code == 0, done.output
    key = done.stdout.strip()
    assert key.startswith("ecl_") and key not in done.stderr
    assert f'sha256 = "{hash_key(key)}"' in done.stderr and "ECL_API_KEYS_FILE" in done.stderr

    keys_file = tmp_path / "keys.toml"
    for name in ("ci", "ops"):
        added = _ecl("server", "new-key", name, "--keys-file", str(keys_file), "--format",
                     "quiet")
        assert added.exit_code == 0 and added.stderr == ""
    loaded = load_keys(keys_file)
    assert [k.name for k in loaded] == ["ci", "ops"]
    assert loaded[1].sha256 == hash_key(added.stdout.strip())
    assert oct(keys_file.stat().st_mode & 0o777) == "0o600"
    bad = _ecl("server", "new-key", "not a name")
    assert bad.exit_code == 2 and "Invalid value for NAME" in bad.stderr


def test_server_start_without_a_keys_file_exits_2(home, monkeypatch):
    monkeypatch.delenv("ECL_API_KEYS_FILE", raising=False)
    done = _ecl("server", "start", "--port", "1")
    assert done.exit_code == 2
    assert "ecl: set ECL_API_KEYS_FILE" in done.stderr


def test_run_wait_and_reexecute_through_the_daemon(offline, tmp_path):
    """With a daemon, ``ecl run --wait`` queues the run and follows it to its end, and
    ``ecl reexecute`` of a run from the queue goes through the queue too."""
    with daemon(tmp_path / "daemon.log", ["-w", str(ROOT / "workspace.yaml")]):
        with dg.DagsterInstance.get() as instance:
            wait_for("the daemon's heartbeat", lambda: launching.daemon_running(instance),
                     timeout_s=120)
        done = _shell("run", "critique_revise", "--input", TOPIC_JSON, "--wait",
                      "--format", "json")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "executes in this process" not in done.stderr
        progress = [line.split()[1:3] for line in done.stderr.splitlines()
                    if line[:2].isdigit()]
        assert ["final_draft", "STEP_SUCCESS"] in progress
        assert ["-", "RUN_SUCCESS"] in progress
        detail = RunDetail.model_validate(json.loads(done.stdout))
        assert detail.state == "SUCCESS" and detail.final_output

        queued = _ecl("run", "critique_revise", "--input", TOPIC_JSON, "--format", "quiet")
        run_id = queued.stdout.strip()
        watched = _json_lines(_shell("status", run_id[:8], "--watch", "--format", "json").stdout)
        assert RunDetail.model_validate(watched[-1]).state == "SUCCESS"
        followed = _shell("logs", run_id[:8], "--follow")
        assert followed.returncode == 0 and "RUN_SUCCESS" in followed.stdout

        again = _shell("reexecute", detail.short_id, "--all", "--format", "json")
        assert again.returncode == 0, again.stderr[-3000:]
        assert "through the run queue" in again.stderr
    child = RunDetail.model_validate(json.loads(again.stdout))
    assert child.parent_run_id == detail.run_id and child.state == "SUCCESS"
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(child.run_id).remote_job_origin is not None


def test_a_run_awaiting_review_is_answered_and_resumed_with_json_output(offline):
    started = _ecl("run", "reviewed_draft", "--input", TOPIC_JSON, "--wait", "--format", "json")
    assert started.exit_code == 0, started.output  # it ended awaiting a person: not a failure
    first = RunDetail.model_validate(json.loads(started.stdout))
    assert (first.state, first.review_state) == ("SUCCESS", "awaiting")
    assert f"awaiting review {first.review_id}: the run ended here" in _ecl(
        "status", first.short_id).stdout

    listed = json.loads(_ecl("review", "list", "--format", "json").stdout)
    assert [(r["id"], r["run_id"], r["answer"]) for r in listed] == [
        (first.review_id, first.run_id, None)]
    assert _ecl("review", "list", "--format", "quiet").stdout == f"{first.review_id}\n"
    approved = _ecl("review", "approve", first.review_id[:6], "--format", "json")
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["answer"] == "approve"

    resumed = _ecl("review", "resume", first.review_id, "--format", "json")
    assert resumed.exit_code == 0, resumed.output
    final = RunDetail.model_validate(json.loads(resumed.stdout))
    assert final.parent_run_id == first.run_id and final.state == "SUCCESS"
    assert final.final_output and final.review_state is None
