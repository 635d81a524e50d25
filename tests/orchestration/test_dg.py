"""The `dg` CLI on the project, as the README runs it: real processes from the repo root.

`dg` reads `[tool.dg]` in pyproject.toml (project `ecl_dagster`, code location module
`ecl_dagster.definitions`) and loads the code location in its own interpreter, the venv's.
`dg launch --job` executes the job in its process on the instance at DAGSTER_HOME, the
embedded instance from the repo's dagster.yaml, whose `anthropic` pool has a default limit.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

ROOT = Path(__file__).resolve().parents[2]
DG = str(Path(sys.executable).with_name("dg"))
VENV_MISMATCH = "does not match the virtual environment"


def _dg(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `dg ARGS` from the repo root on the instance at `home`, offline, as in the README."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env["DAGSTER_HOME"] = str(home)
    # The venv active, as the README's set-up has it; dg warns otherwise.
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    done = subprocess.run(
        [DG, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"dg {' '.join(args)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    assert VENV_MISMATCH not in done.stderr + done.stdout
    return done


def test_dg_check_and_list_defs(home):
    checked = _dg(home, "check", "defs")
    assert "All definitions loaded successfully." in checked.stdout + checked.stderr

    listed = json.loads(_dg(home, "list", "defs", "--json").stdout)
    jobs = {job["name"] for job in listed["jobs"]}
    assert {"critique_revise", "summarize_document", "reviewed_draft"} <= jobs
    assert "migration_analysis" in jobs
    assets = {asset["asset_key"] for asset in listed["assets"]}
    assert {"migration_intake", "codebase_facts", "migration_delivery"} <= assets
    assert {a["group_name"] for a in listed["assets"] if a["asset_key"] == "migration_intake"} == {
        "migration"
    }


def test_dg_launch_critique_revise_on_the_embedded_instance(home):
    launched = _dg(
        home, "launch", "--job", "critique_revise", "--config", "examples/critique_revise.yaml"
    )
    output = launched.stdout + launched.stderr
    assert "Final draft (revision" in output
    assert "SupersessionWarning" not in output
    # Once per run, though dg sets the LLM resource up again after the run, for its result.
    assert output.count("llm.provider.offline_fallback") == 1

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "critique_revise"
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["ecl/llm_provider"] == "offline"


def test_embedded_instance_limits_the_anthropic_pool(home):
    embedded = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    production = yaml.safe_load((ROOT / "deploy" / "postgres" / "dagster.yaml").read_text())
    # The same limit as production: at most 4 LLM ops at once in every pool without its own.
    assert embedded["concurrency"]["pools"] == production["concurrency"]["pools"]
    limit = embedded["concurrency"]["pools"]["default_limit"]

    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == limit
        assert instance.event_log_storage.supports_global_concurrency_limits
        # What the UI reads for a pool: a null limit is its "no slots configured" warning.
        info = instance.event_log_storage.get_concurrency_info("anthropic")
        assert info.limit == limit
        assert info.using_default_limit
