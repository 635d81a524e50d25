"""A workflow of your own, as docs/write-your-own-workflow.md has a new user write it.

Every command is a process: ``ecl workflows new``, ``pip install`` of a package of steps
(into a folder of its own on the processes' path, so the suite's environment is left as it
was), ``ecl workflows check``, ``ecl run --wait`` offline, then against the local
Messages-API server. The custom step's output is read back as the UI shows it: the step's
output metadata in the run's event log. Every workflow file the repository ships, and the
example package's, runs offline.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from messages_api import user_text
from scenarios import critique_json, draft_text

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

STEPS = '''\
"""Headlines for a finished draft."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ecl_core import LLM_RETRY_POLICY, Draft, Step, StepContext, complete_structured, load_prompt


class Headline(BaseModel):
    headline: str = Field(min_length=1, max_length=120)
    audience: str = Field(max_length=80)


class HeadlineStep(Step[Draft, Headline]):
    type_name = "headline"
    name = "Write a headline"
    input_model = Draft
    output_model = Headline
    retry_policy = LLM_RETRY_POLICY

    def execute(self, context: StepContext, step_input: Draft) -> Headline:
        prompt = load_prompt("headline", Path(__file__).parent / "prompts")
        return complete_structured(context, prompt, Headline, draft=step_input.text)

    def describe(self, output: Headline) -> dict[str, str]:
        return {"headline": output.headline, "audience": output.audience}
'''

PROMPT = """\
## System prompt

You write one headline for a text.

## User template

Write a headline for this text, and say who it is for. Answer with only a JSON object:
{"headline": "...", "audience": "..."}.

${draft}
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "mysteps"
version = "0.1.0"

[project.entry-points."ecl.steps"]
mysteps = "mysteps"

[tool.setuptools.package-data]
mysteps = ["prompts/*.md"]
"""


def _ecl(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ecl"), *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def _step_metadata(home: Path, run_id: str, step: str) -> dict[str, str]:
    """The output metadata of ``step``, as the UI's run page shows it."""
    assert os.environ["DAGSTER_HOME"] == str(home)
    with dg.DagsterInstance.get() as instance:
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
            event = record.dagster_event
            if event is not None and event.step_key == step:
                data = event.event_specific_data.metadata  # type: ignore[union-attr]
                return {k: str(getattr(v, "value", v)) for k, v in data.items()}
    raise AssertionError(f"no output of {step} in run {run_id}")


def _run_id(done: subprocess.CompletedProcess[str]) -> str:
    line = next(x for x in done.stdout.splitlines() if x.startswith("run "))
    return line.split()[1]


@pytest.fixture
def user(tmp_path, monkeypatch) -> dict[str, str]:
    """A new user's environment: an instance, an empty workflows folder, a packages folder."""
    home, workflows, site = tmp_path / "home", tmp_path / "workflows", tmp_path / "site"
    for folder in (home, workflows, site):
        folder.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "DAGSTER_HOME": str(home), "ECL_WORKFLOWS_DIR": str(workflows),
            "PYTHONPATH": path}


def test_scaffold_add_a_step_of_your_own_run_it_offline_then_on_the_messages_api(
        user, tmp_path, messages_api, api_key):
    new = _ecl("workflows", "new", "note", env=user)
    assert new.returncode == 0, new.stderr
    workflow = Path(user["ECL_WORKFLOWS_DIR"]) / "note.yaml"
    assert new.stdout.strip() == str(workflow)
    assert "ecl run note" in new.stderr

    as_written = _ecl("run", "note", "--input", json.dumps({"topic": "Tea"}), "--wait",
                      env={**user, "ANTHROPIC_API_KEY": ""})
    assert as_written.returncode == 0, as_written.stdout + as_written.stderr
    assert "(note): SUCCESS" in as_written.stdout

    package = tmp_path / "mysteps"
    (package / "mysteps" / "prompts").mkdir(parents=True)
    (package / "pyproject.toml").write_text(PYPROJECT)
    (package / "mysteps" / "__init__.py").write_text('"""My steps."""\n')
    (package / "mysteps" / "steps.py").write_text(STEPS)
    (package / "mysteps" / "prompts" / "headline.md").write_text(PROMPT)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps",
         "--disable-pip-version-check", "--target", user["PYTHONPATH"].split(os.pathsep)[0],
         str(package)], capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    step = '  - {id: note_headline, type: "mysteps.steps:HeadlineStep", depends_on: [note_final]}\n'
    workflow.write_text(workflow.read_text().replace("transitions:", step + "transitions:"))
    checked = _ecl("workflows", "check", env=user)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "(note)" in checked.stdout

    offline = _ecl("run", "note", "--input", json.dumps({"topic": "Green tea"}), "--wait",
                   env={**user, "ANTHROPIC_API_KEY": ""})
    assert offline.returncode == 0, offline.stdout + offline.stderr
    shown = _step_metadata(Path(user["DAGSTER_HOME"]), _run_id(offline), "note_headline")
    assert shown["headline"].startswith("Offline headline: draft: ")
    assert shown["audience"].startswith("Offline audience: ")

    messages_api.script([
        draft_text(0), critique_json("pass"),
        json.dumps({"headline": "Green tea, brewed right", "audience": "tea drinkers"}),
    ])
    real = _ecl("run", "note", "--input", json.dumps({"topic": "Green tea"}), "--wait",
                "--provider", "anthropic",
                env={**user, "ANTHROPIC_BASE_URL": messages_api.url, "ANTHROPIC_API_KEY": api_key})
    assert real.returncode == 0, real.stdout + real.stderr
    run_id = _run_id(real)
    shown = _step_metadata(Path(user["DAGSTER_HOME"]), run_id, "note_headline")
    assert shown["headline"] == "Green tea, brewed right"
    assert shown["audience"] == "tea drinkers"
    headline_request = messages_api.requests[-1]
    assert draft_text(0) in user_text(headline_request.body)
    assert headline_request.body["output_config"]["format"]["schema"]["required"] == [
        "headline", "audience"]


def test_a_new_workflow_that_would_break_another_is_refused(user):
    folder = Path(user["ECL_WORKFLOWS_DIR"])
    shutil.copy(ROOT / "workflows" / "critique_revise.yaml", folder)
    refused = _ecl("workflows", "new", "critique", env=user)
    assert refused.returncode == 2
    assert (f"ecl: the new workflow would break what loads here: "
            f"{folder / 'critique_revise.yaml'}:10: step 'critique_draft': workflow 'critique' "
            "has a step with this id too") in refused.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["critique_revise.yaml"]
    reserved = _ecl("workflows", "new", "migration_intake", env=user)
    assert reserved.returncode == 2
    assert "already the name of a job or op of this code location" in reserved.stderr


def test_a_step_module_that_fails_to_import_says_why_and_where(user):
    site = Path(user["PYTHONPATH"].split(os.pathsep)[0])
    (site / "badsteps").mkdir()
    (site / "badsteps" / "__init__.py").write_text("")
    (site / "badsteps" / "steps.py").write_text("def broken(:\n    pass\n")
    info = site / "badsteps-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: badsteps\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ecl.steps]\nbadsteps = badsteps\n")
    folder = Path(user["ECL_WORKFLOWS_DIR"])
    shutil.copy(ROOT / "workflows" / "critique_revise.yaml", folder)
    (folder / "uses_bad.yaml").write_text(textwrap.dedent("""\
        id: uses_bad
        name: Uses a bad module
        input: ecl_core.steps.builtin:CritiqueReviseInput
        steps:
          - {id: bad_first, type: generate}
          - {id: bad_second, type: "badsteps.steps:Thing", depends_on: [bad_first]}
          - {id: bad_third, type: "notinstalled.steps:Thing", depends_on: [bad_first]}
    """))
    listed = _ecl("workflows", "list", env=user)
    assert listed.returncode == 2
    assert listed.stdout.startswith("critique_revise ")
    assert (f"{folder / 'uses_bad.yaml'}:6: step 'bad_second': step type "
            f"'badsteps.steps:Thing': module 'badsteps.steps' has a syntax error at "
            f"{site / 'badsteps' / 'steps.py'}:1") in listed.stderr
    assert (f"{folder / 'uses_bad.yaml'}:7: step 'bad_third': step type "
            "'notinstalled.steps:Thing' is in module 'notinstalled.steps', which is not "
            "allowed") in listed.stderr
    assert '[project.entry-points."ecl.steps"] name = "notinstalled"' in listed.stderr


@pytest.mark.parametrize("workflow", ["critique_revise", "summarize_document", "reviewed_draft",
                                      "translate"])
def test_every_shipped_workflow_runs_offline(workflow, user):
    folder = Path(user["ECL_WORKFLOWS_DIR"])
    source = (ROOT / "examples" / "translate" / "translate.yaml" if workflow == "translate"
              else ROOT / "workflows" / f"{workflow}.yaml")
    shutil.copy(source, folder)
    given = {
        "critique_revise": {"topic": "What a database index does"},
        "summarize_document": {"path": str(ROOT / "examples" / "documents" /
                                           "durable_llm_workflows.md")},
        "reviewed_draft": {"topic": "What a database index does"},
        "translate": {"text": "Le chat dort sur le canapé.", "language": "English"},
    }[workflow]
    done = _ecl("run", workflow, "--input", json.dumps(given), "--wait",
                env={**user, "ANTHROPIC_API_KEY": ""})
    if workflow == "reviewed_draft":  # it stops for a person's answer: no process waits
        assert done.returncode == 0, done.stdout + done.stderr
        assert "awaiting review " in done.stdout
    else:
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"({workflow}): SUCCESS" in done.stdout
        assert "provider: offline" in done.stdout
