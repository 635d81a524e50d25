"""What build_job makes of a workflow's shape: fan-out, fan-in, conditionals, bad shapes."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from ecl_core.errors import ConfigError
from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import WorkflowDefinition, WorkflowValidationError
from ecl_core.workflow.step import StepRetryPolicy
from ecl_dagster.resources import LLMResource
from ecl_dagster.storage.io_managers import JsonIOManager
from ecl_dagster.workflows.compiler import build_job
from ecl_dagster.workflows.jobs import build_critique_revise, workflow_jobs
from ecl_dagster.workflows.step_execution import dagster_retry_policy

from jobrun import anthropic_llm, failure_text, step_failure, step_keys, stored_outputs
from toy_steps import toy_registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _toy_steps_allowed(monkeypatch):
    """Workflow files may name classes only in allowed modules; these tests' are toy_steps."""
    monkeypatch.setenv("ECL_ALLOWED_MODULES", "toy_steps")

TOY = {
    "id": "toy",
    "name": "Toy",
    "input": "toy_steps:ToyInput",
    "steps": [
        {"id": "numbers", "type": "numbers"},
        {"id": "square", "type": "square", "depends_on": ["numbers"], "for_each": "values"},
        {"id": "total", "type": "total", "depends_on": ["square"],
         "inputs": {"squares": "square"}},
        {"id": "announce", "type": "announce"},
    ],
    "transitions": [
        {"kind": "conditional", "from": "total", "to": "announce", "condition": "total > `10`"},
    ],
}


def _run(instance, workflow: dict, count: int) -> dg.ExecuteInProcessResult:
    job = build_job(WorkflowDefinition.model_validate(workflow), toy_registry())
    return job.execute_in_process(
        run_config={"ops": {"numbers": {"config": {"count": count}}}},
        instance=instance,
        resources={"llm": LLMResource(provider="offline"), "io_manager": JsonIOManager()},
        raise_on_error=False,
    )


def test_for_each_runs_every_item_in_one_step_and_the_next_step_fans_them_in(instance):
    result = _run(instance, TOY, count=3)
    assert result.success
    assert {k for k in step_keys(result, "STEP_SUCCESS") if k.startswith("square")} == {"square"}
    assert result.output_for_node("total").total == 1 + 4 + 9
    outputs = stored_outputs(instance, result.run_id)
    assert sorted(k for k in outputs if k.startswith("square/")) == [
        "square/result/values_1", "square/result/values_2", "square/result/values_3",
    ]
    assert outputs["square/result/values_2"]["value"] == {"label": "toy", "n": 2, "square": 4}
    assert "numbers/result" in outputs


def test_a_conditional_transition_runs_its_step_only_when_the_condition_holds(instance):
    big = _run(instance, TOY, count=3)
    assert big.output_for_node("announce").text == "big total: 14"
    small = _run(instance, TOY, count=2)
    assert small.success
    assert "announce" in step_keys(small, "STEP_SKIPPED")
    assert "announce" not in step_keys(small, "STEP_SUCCESS")


def test_the_run_config_form_comes_from_the_input_model():
    job = build_job(WorkflowDefinition.model_validate(TOY), toy_registry())
    ops = job.run_config_schema.config_type.fields["ops"].config_type.fields
    count = ops["numbers"].config_type.fields["config"].config_type.fields["count"]
    assert count.default_value == 3


def test_a_final_step_shows_its_output(instance):
    result = _run(instance, TOY, count=3)
    final_logs = [
        e.message for e in instance.all_logs(result.run_id)
        if e.step_key == "announce" and "big total" in (e.message or "")
    ]
    assert final_logs and final_logs[0].startswith("Announce:")


def test_depending_on_a_reviser_is_refused_by_validate_naming_the_step():
    workflow = yaml.safe_load((ROOT / "workflows" / "critique_revise.yaml").read_text())
    workflow["steps"].append({"id": "after", "type": "final_draft", "depends_on": ["revise_draft"]})
    with pytest.raises(WorkflowValidationError) as caught:
        build_job(WorkflowDefinition.model_validate(workflow), default_registry())
    assert "step 'after': depends on reviser 'revise_draft'; depend on the loop's validator " \
           "'critique_draft' instead" in str(caught.value)


def test_an_invalid_definition_is_refused_with_validates_message():
    workflow = {**TOY, "steps": [*TOY["steps"], {"id": "x", "type": "nope"}]}
    with pytest.raises(WorkflowValidationError, match="step 'x': unknown step type 'nope'"):
        build_job(WorkflowDefinition.model_validate(workflow), toy_registry())


def test_every_file_in_the_workflows_folder_becomes_a_job(tmp_path, monkeypatch):
    short = yaml.safe_load((ROOT / "workflows" / "critique_revise.yaml").read_text())
    short["id"] = "critique_once"
    short["transitions"][0]["max_iterations"] = 1
    (tmp_path / "critique_once.yaml").write_text(yaml.safe_dump(short))
    monkeypatch.setenv("ECL_WORKFLOWS_DIR", str(tmp_path))
    (job,) = workflow_jobs()
    assert job.name == "critique_once"
    assert {n.name for n in job.graph.nodes} == {
        "generate_draft", "critique_draft_0", "revise_draft_1", "critique_draft_1", "final_draft",
    }


def test_a_workflow_with_its_own_step_classes_needs_no_registration(
    tmp_path, monkeypatch, instance
):
    own = {**TOY, "steps": [{**s, "type": f"toy_steps:{s['type'].title()}Step"}
                            for s in TOY["steps"]]}
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(own))
    monkeypatch.setenv("ECL_WORKFLOWS_DIR", str(tmp_path))
    (job,) = workflow_jobs()
    result = job.execute_in_process(
        run_config={"ops": {"numbers": {"config": {"count": 4}}}},
        instance=instance,
        resources={"llm": LLMResource(provider="offline"), "io_manager": JsonIOManager()},
    )
    assert result.output_for_node("announce").text == "big total: 30"


def test_a_step_class_that_does_not_import_is_reported():
    workflow = {**TOY, "steps": [*TOY["steps"], {"id": "x", "type": "toy_steps:Nope"}]}
    with pytest.raises(WorkflowValidationError, match="step 'x': step type 'toy_steps:Nope': "
                                                       "module 'toy_steps' has no 'Nope'"):
        build_job(WorkflowDefinition.model_validate(workflow), toy_registry())


def test_dagster_definitions_validate_fails_on_an_invalid_workflow_file(tmp_path):
    """The running code location contains a broken file; the definitions check does not."""
    (tmp_path / "broken.yaml").write_text(
        "id: broken\nname: Broken\ninput: ecl_core.steps.builtin:CritiqueReviseInput\n"
        "steps:\n  - {id: a, type: generate, depends_on: [b]}\n"
        "  - {id: b, type: critique, depends_on: [a]}\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "ECL_WORKFLOWS_DIR": str(tmp_path), "DAGSTER_HOME": str(home)}
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "ecl_dagster"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode != 0
    assert f"{tmp_path / 'broken.yaml'}:5: steps 'a' -> 'b' -> 'a': dependency cycle" in (
        done.stdout + done.stderr
    )


def test_llm_steps_retry_as_their_step_type_says_and_claim_the_pool_only_multiprocess():
    job = build_critique_revise()
    critique = job.graph.node_named("critique_draft_2").definition
    policy = critique.retry_policy
    assert (policy.max_retries, policy.delay, policy.backoff) == (2, 30.0, dg.Backoff.EXPONENTIAL)
    assert critique.pool is None  # one step at a time: a pool would limit nothing
    multiprocess = build_critique_revise(dg.multiprocess_executor)
    assert {n.name for n in multiprocess.graph.nodes if n.definition.pool == "anthropic"} == {
        "generate_draft", *(f"critique_draft_{k}" for k in range(4)),
        *(f"revise_draft_{k}" for k in range(1, 4)),
    }
    assert multiprocess.graph.node_named("final_draft").definition.pool is None


def test_a_retry_policy_dagster_cannot_express_is_refused():
    with pytest.raises(ConfigError, match="multiplier is 3.0; Dagster's backoff allows 1 or 2"):
        dagster_retry_policy(StepRetryPolicy(multiplier=3), "slow")
    with pytest.raises(ConfigError, match="waits 40 s before the last attempt; max_delay_s is 30"):
        dagster_retry_policy(StepRetryPolicy(max_attempts=4, initial_delay_s=10), "slow")


def test_a_run_time_bound_above_the_loop_is_refused_before_any_llm_call(
    messages_api, api_key, instance
):
    workflow = yaml.safe_load((ROOT / "workflows" / "critique_revise.yaml").read_text())
    workflow["input"] = "toy_steps:LooseBrief"
    job = build_job(WorkflowDefinition.model_validate(workflow), default_registry())
    result = job.execute_in_process(
        run_config={"ops": {"generate_draft": {"config": {"topic": "Tea", "max_revisions": 5}}},
                    "resources": {"llm": {"config": anthropic_llm(messages_api)}}},
        instance=instance,
        resources={"llm": LLMResource(), "io_manager": JsonIOManager()},
        raise_on_error=False,
    )
    assert not result.success
    assert "max_revisions: is 5; it must be 0 to 3" in failure_text(
        step_failure(result, "generate_draft")
    )
    assert messages_api.requests == []
