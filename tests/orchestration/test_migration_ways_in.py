"""Ways into the analyzer: ``ecl analyze`` (offline, in its own process) and the inbox sensor,
each choosing the LLM with the same names; and the live check's script without a key."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ecl_core.migration.request import RequestStore
from ecl_dagster.analyzer import MigrationSettings, migration_request_sensor
from ecl_dagster.cli import run_status
from ecl_dagster.definitions import defs

from analysis import ASSETS, add, checks, make_codebase, materialized

ROOT = Path(__file__).resolve().parents[2]
ECL = str(Path(sys.executable).with_name("ecl"))


def _ecl(home: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["DAGSTER_HOME"] = str(home)
    return subprocess.run(
        [ECL, "analyze", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_a_vision_from_proc_is_refused_and_the_environment_goes_nowhere(tmp_path, monkeypatch):
    monkeypatch.setenv("ECL_TEST_SECRET", "s3cr3t-in-the-environment")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.py").write_text("print('hi')\n")
    home = tmp_path / "home"
    done = _ecl(home, str(tree), "--target", "Go", "--vision", "/proc/self/environ")
    assert done.returncode == 1
    assert "is on a pseudo-filesystem (/proc, /sys, /dev" in done.stderr
    assert "s3cr3t" not in done.stdout + done.stderr
    stored = "".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()
                     and p.suffix in (".json", ".md", ".txt"))
    assert "s3cr3t" not in stored


def test_ecl_analyze_on_ecl_itself_offline(tmp_path, monkeypatch):
    home = tmp_path / "home"
    done = _ecl(home, ".", "--target", "Rust", "--name", "ECL itself")
    assert done.returncode == 0, done.stderr[-3000:]
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder.is_absolute() and folder.name == "ecl-itself"
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.md"))
    assert names[:5] == ["01_codebase_facts.md", "02_codebase_analysis.md",
                         "03_architecture_design.md", "04_migration_plan.md",
                         "05_implementation_specs/phase_01_foundations.md"]
    assert names[-3:] == ["06_quality_assessment.md", "07_llm_cost.md", "README.md"]
    cost = (folder / "07_llm_cost.md").read_text()
    assert "| codebase_analysis | ecl-offline-1 |" in cost and "| **total** |  |" in cost
    assert folder.with_name("ecl-itself.zip").is_file()
    analysis = (folder / "02_codebase_analysis.md").read_text()
    assert "Offline" in analysis and "ecl_dagster/" in analysis
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.tags["dagster/partition"] == "ecl-itself"
        assert materialized(instance, run.run_id) == ASSETS
        evaluations = checks(instance, run.run_id)
        assert len(evaluations) == 24 and all(e.passed for e in evaluations.values())
        status = io.StringIO()
        run_status(instance, run.run_id, status)
    calls = int(run.tags["ecl/llm_calls"])
    assert re.search(rf"^request 'ecl-itself' usage: {calls} LLM calls \(0 from the journal\)"
                     r".*, cost 0 USD$", status.getvalue(), re.MULTILINE), status.getvalue()


def test_ecl_analyze_assesses_new_code_offline(tmp_path):
    old = make_codebase(tmp_path / "old")
    new = tmp_path / "new"
    (new / "src").mkdir(parents=True)
    (new / "src" / "main.rs").write_text("fn main() {\n    if true { println!(\"hi\"); }\n}\n")
    done = _ecl(tmp_path / "home", str(old), "--target", "Rust", "--new-code", str(new))
    assert done.returncode == 0, done.stderr[-3000:]
    quality = (Path(done.stdout.strip().splitlines()[-1]) / "06_quality_assessment.md")
    text = quality.read_text()
    assert "`src/main.rs`" in text and "Not assessed" not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "--target", "Rust"], "code_path: '{cwd}/nowhere' does not exist"),
        (["README.md", "--target", "Rust"], "code_path: '{cwd}/README.md' is not a folder"),
        ([".", "--target", "  "], "target: Value error, is blank"),
        ([".", "--target", "Rust", "--name", "→"], "name: '→' has no letter or digit"),
        ([".", "--target", "Rust", "--budget-usd", "lots"],
         "--budget-usd: is 'lots'; it must be a number of USD (digits 0-9 and one '.') from 0 "
         "(no budget) to 1,000,000"),
        ([".", "--target", "Rust", "--provider", "claude"],
         "Invalid value for '--provider': 'claude' is not one of 'auto', 'anthropic', "
         "'openai_compatible', 'offline', 'scripted'"),
        ([".", "--target", "Rust", "--model", "m" * 201],
         "--model: is 201 characters long; it must be a model name of 1 to 200 characters"),
    ],
)
def test_ecl_analyze_refuses_a_bad_request(tmp_path, args, message):
    done = _ecl(tmp_path / "home", *args)
    assert done.returncode == 2
    assert message.format(cwd=ROOT) in done.stderr


def test_ecl_analyze_runs_with_the_llm_its_options_choose(tmp_path, monkeypatch):
    home = tmp_path / "home"
    done = _ecl(home, str(make_codebase(tmp_path / "lookup")), "--target", "Go",
                "--provider", "offline", "--model", "some-name",
                "--context-window-tokens", "64000", "--format", "quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(done.stdout.strip())
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    assert run.run_config["resources"]["llm"]["config"] == {
        "provider": "offline", "model": "some-name", "context_window_tokens": 64000}
    assert run.tags["ecl/llm_provider"] == "offline"


def test_the_live_check_refuses_to_start_without_a_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "live_claude.sh")], env={
        **env, "TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "live_claude.sh: set ANTHROPIC_API_KEY" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no instance was made


def test_an_empty_folder_fails_the_intake_with_the_reason(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _ecl(tmp_path / "home", str(empty), "--target", "Rust")
    assert done.returncode == 1
    assert "migration_intake" in done.stderr and "no text file" in done.stderr


@pytest.fixture
def analysis_inbox(tmp_path, monkeypatch):
    folder = tmp_path / "analysis_inbox"
    folder.mkdir()
    monkeypatch.setenv("ECL_ANALYSIS_INBOX_DIR", str(folder))
    return folder


def _tick(instance):
    context = dg.build_sensor_context(
        instance=instance, resources={"migration": MigrationSettings()}
    )
    return migration_request_sensor(context)


def test_the_inbox_sensor_adds_a_partition_and_requests_its_run(
    instance, analysis_inbox, tmp_path
):
    make_codebase(analysis_inbox / "lookup")
    (analysis_inbox / "lookup.json").write_text(json.dumps(
        {"name": "Lookup tool", "code_path": "lookup", "target": "Go"}
    ))
    (analysis_inbox / "nested.json").write_text("[" * 30_000 + "]" * 30_000)
    (analysis_inbox / "missing.json").write_text(json.dumps(
        {"code_path": "nowhere", "target": "Go"}
    ))
    result = _tick(instance)
    (run,) = result.run_requests
    assert run.partition_key == "lookup-tool" and run.run_key.startswith("lookup.json:")
    (add,) = result.dynamic_partitions_requests
    assert add.partition_keys == ["lookup-tool"]
    stored = RequestStore(MigrationSettings().root(instance) / "requests").get("lookup-tool")
    assert stored.code_path == str(analysis_inbox / "lookup") and stored.target == "Go"
    failed = analysis_inbox / "failed"
    assert sorted(p.name for p in failed.iterdir()) == [
        "missing.json", "missing.json.reason.txt", "nested.json", "nested.json.reason.txt",
    ]
    assert "code_path" in (failed / "missing.json.reason.txt").read_text()
    assert "does not exist" in (failed / "missing.json.reason.txt").read_text()
    nested = (failed / "nested.json.reason.txt").read_text()
    assert "file: nests JSON too deeply to be read (RecursionError)" in nested


def test_an_inbox_request_chooses_its_runs_llm(instance, analysis_inbox):
    make_codebase(analysis_inbox / "lookup")
    request = {"name": "Lookup tool", "code_path": "lookup", "target": "Go"}
    (analysis_inbox / "local.json").write_text(json.dumps(
        {**request, "provider": "offline", "model": "some-name", "context_window_tokens": 32000}
    ))
    (analysis_inbox / "typo.json").write_text(json.dumps({**request, "provider": "claude"}))

    (run,) = _tick(instance).run_requests

    assert run.partition_key == "lookup-tool"  # the LLM is not part of the request
    job = defs.resolve_job_def("migration_analysis")
    assert dg.validate_run_config(job, run.run_config)
    created = instance.create_run_for_job(job, run_config=run.run_config, tags=run.tags)
    stored = instance.get_run_by_id(created.run_id)
    assert stored.run_config["resources"]["llm"]["config"] == {
        "provider": "offline", "model": "some-name", "context_window_tokens": 32000}
    reason = (analysis_inbox / "failed" / "typo.json.reason.txt").read_text()
    assert ("provider: is 'claude'; it must be one of auto, anthropic, openai_compatible, "
            "offline, scripted") in reason


def test_dg_launch_materializes_a_partition(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with dg.DagsterInstance.get() as instance:
        key = add(instance, make_codebase(tmp_path / "lookup"))
    dg_cli = str(Path(sys.executable).with_name("dg"))
    done = subprocess.run(
        [dg_cli, "launch", "--assets", "group:migration", "--partition", key],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.tags["dagster/partition"] == key
        assert sorted(materialized(instance, run.run_id)) == sorted(ASSETS)
