"""The code location loads, and the job is what the launchpad and the CLI show."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from ecl_dagster import defs
from ecl_dagster.resources import LLMResource
from ecl_dagster.storage.io_managers import JsonIOManager

from jobrun import dagster_job_execute

ROOT = Path(__file__).resolve().parents[2]


def test_defs_load():
    dg.Definitions.validate_loadable(defs)
    job = defs.get_job_def("critique_revise")
    assert {node.name for node in job.graph.nodes} == {
        "generate_draft",
        "critique_draft_0",
        "revise_draft_1",
        "critique_draft_1",
        "revise_draft_2",
        "critique_draft_2",
        "revise_draft_3",
        "critique_draft_3",
        "final_draft",
    }
    assert isinstance(defs.resources["llm"], LLMResource)
    assert isinstance(defs.resources["io_manager"], JsonIOManager)


def test_the_launchpad_form_has_topic_and_max_revisions_with_descriptions():
    job = defs.get_job_def("critique_revise")
    fields = job.run_config_schema.config_type.fields["ops"].config_type.fields
    config = fields["generate_draft"].config_type.fields["config"].config_type.fields
    assert config["topic"].is_required
    assert "2,000 characters" in config["topic"].description
    assert config["max_revisions"].default_value == 3
    assert "0 to 3" in config["max_revisions"].description


def test_dagster_job_execute_runs_the_example_offline(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    done = dagster_job_execute(home, "critique_revise")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Final draft (revision 1)" in done.stderr
    assert "Offline draft" in done.stderr
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS


RUN_TIME_ONLY = ("anthropic", "openai", "structlog", "rich", "pygments", "pathspec", "sqlalchemy",
                 "fastapi", "uvicorn", "prometheus_client")
"""Packages only a run, a log line, a scan or the API server needs."""


def test_loading_the_definitions_imports_nothing_only_a_run_needs():
    """The code server and every run worker load the definitions: they pay only for that."""
    script = (
        "import sys\n"
        "from ecl_dagster.definitions import defs\n"
        "assert defs.get_job_def('critique_revise')\n"
        f"print(sorted(m for m in {RUN_TIME_ONLY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_an_offline_run_never_imports_the_anthropic_sdk(tmp_path):
    """The SDK costs about 1.4 s to import; only the anthropic provider needs it."""
    script = (
        "import sys, dagster as dg\n"
        "from ecl_dagster.definitions import defs\n"
        "with dg.instance_for_test() as instance:\n"
        "    result = defs.get_job_def('critique_revise').execute_in_process(\n"
        "        run_config={'ops': {'generate_draft': {'config': {'topic': 'Tea'}}},\n"
        "                    'resources': {'llm': {'config': {'provider': 'offline'}}}},\n"
        "        instance=instance)\n"
        "print(result.success, 'anthropic' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["True", "False"]
