"""``ecl status`` and ``ecl reexecute`` from a shell, on a failed run."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from jobrun import anthropic_llm
from messages_api import error
from scenarios import TOPIC, critique_json, draft_text

ROOT = Path(__file__).resolve().parents[2]
ECL = str(Path(sys.executable).with_name("ecl"))


def _ecl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ECL, *args], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_status_and_reexecute_a_failed_run(messages_api, api_key, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    env = {**os.environ}

    messages_api.script(
        [draft_text(0), critique_json("revise", "x"), draft_text(1), error(400, "try again")]
    )
    with dg.DagsterInstance.get() as instance:
        failed = dg.execute_job(
            dg.build_reconstructable_job(
                "ecl_dagster.definitions", "job_by_name", ("critique_revise",)
            ),
            instance=instance,
            run_config={
                "ops": {"generate_draft": {"config": {"topic": TOPIC}}},
                "resources": {"llm": {"config": anthropic_llm(messages_api)}},
            },
            raise_on_error=False,
        )
    assert not failed.success

    status = _ecl("status", failed.run_id, env=env)
    assert status.returncode == 1, status.stderr
    assert f"run {failed.run_id} (critique_revise): FAILURE" in status.stdout
    assert "steps: 3 succeeded, 0 skipped, 1 failed" in status.stdout
    assert "failed     critique_draft_1" in status.stdout
    assert "revisions: 1" in status.stdout
    assert "error: critique_draft_1: PermanentLLMError" in status.stdout
    assert "try again" in status.stdout

    messages_api.script([critique_json("pass")])
    again = _ecl("reexecute", failed.run_id, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"re-execution of {failed.run_id}" in again.stdout
    assert "steps: 2 succeeded, 2 skipped, 0 failed" in again.stdout
    assert "succeeded  critique_draft_1" in again.stdout
    assert f"final draft:\n{draft_text(1)}" in again.stdout
    assert len(messages_api.requests) == 5


def test_an_unknown_run_id_says_so(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = _ecl("status", "no-such-run", env=env)
    assert done.returncode == 2
    assert "no run no-such-run in the instance at DAGSTER_HOME" in done.stderr


def test_a_dagster_home_that_is_not_a_directory_says_so(tmp_path):
    missing = tmp_path / "nowhere"
    done = _ecl("list", env={**os.environ, "DAGSTER_HOME": str(missing)})
    assert done.returncode == 2
    assert done.stderr == (f"ecl: DAGSTER_HOME '{missing}' is not a directory: create it "
                           f"(mkdir -p {missing}) or point DAGSTER_HOME at the instance's\n")


def test_workflows_list_and_show():
    env = {k: v for k, v in os.environ.items() if k != "ECL_WORKFLOWS_DIR"}
    listed = _ecl("workflows", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("critique_revise ")
    assert "4 steps  loop 3x revise_draft  Critique and revise" in listed.stdout

    shown = _ecl("workflows", "show", "critique_revise", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "    revise_draft         revise (revises on critique_draft)" in shown.stdout
    assert "    generate_draft -> critique_draft" in shown.stdout
    assert "loop: revise_draft revises until critique_draft passes, at most 3 times" in shown.stdout
    assert "order: generate_draft -> critique_draft -> revise_draft -> final_draft" in shown.stdout


def test_an_invalid_workflow_file_is_reported_with_file_step_and_rule(tmp_path):
    (tmp_path / "broken.yaml").write_text(
        "id: broken\nname: Broken\ninput: ecl_core.steps.builtin:CritiqueReviseInput\n"
        "steps:\n  - {id: a, type: generate, depends_on: [b]}\n"
        "  - {id: b, type: critique, depends_on: [a]}\n"
    )
    env = {**os.environ, "ECL_WORKFLOWS_DIR": str(tmp_path)}
    done = _ecl("workflows", "list", env=env)
    assert done.returncode == 2
    assert f"{tmp_path / 'broken.yaml'}:5: steps 'a' -> 'b' -> 'a': dependency cycle" in done.stderr
    checked = _ecl("workflows", "check", env=env)
    assert checked.returncode == 1
    assert f"{tmp_path / 'broken.yaml'}:5: steps 'a' -> 'b' -> 'a'" in checked.stdout
    assert checked.stderr == "1 file(s), 1 broken\n"
    project = {**env, "ECL_WORKFLOWS_DIR": str(ROOT / "workflows")}
    missing = _ecl("workflows", "show", "nope", env=project)
    assert missing.returncode == 2 and "no workflow 'nope'" in missing.stderr
