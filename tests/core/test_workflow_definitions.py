"""Workflow definitions: every rejection names file, step and rule; Kahn order; YAML files."""

from pathlib import Path

import pytest
import yaml

from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import (
    WorkflowDefinition,
    WorkflowValidationError,
    topological_order,
    validate,
)
from ecl_core.workflow.files import load_workflow, load_workflows

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = default_registry()
INPUT = "ecl_core.steps.builtin:CritiqueReviseInput"


def _workflow(steps, transitions=(), **extra) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate(
        {"id": "w", "name": "W", "input": INPUT, "steps": steps, "transitions": transitions,
         "source": "workflows/w.yaml", **extra}
    )


def _problems(workflow) -> list[str]:
    with pytest.raises(WorkflowValidationError) as caught:
        validate(workflow, REGISTRY)
    return [str(p) for p in caught.value.problems]


GEN = {"id": "g", "type": "generate"}
CRIT = {"id": "c", "type": "critique", "depends_on": ["g"]}
REV = {"id": "r", "type": "revise", "revision_source": "c"}


def _loop(bound):
    loop = {"kind": "revision_loop", "reviser": "r", "validator": "c"}
    return loop if bound is None else {**loop, "max_iterations": bound}


@pytest.mark.parametrize(
    ("steps", "transitions", "expected"),
    [
        ([GEN, {"id": "g", "type": "critique"}], [],
         "workflows/w.yaml: step 'g': duplicate step id"),
        ([GEN, {"id": "x", "type": "translate"}], [],
         "workflows/w.yaml: step 'x': unknown step type 'translate' (known: "
         "combine_summaries, critique, final_draft, generate, human_review, revise, "
         "split_sections, summarize_section)"),
        ([GEN, {"id": "c", "type": "critique", "depends_on": ["nope"]}], [],
         "workflows/w.yaml: step 'c': depends_on names no step: 'nope'"),
        ([GEN, CRIT, {"id": "r", "type": "revise", "revision_source": "nope"}], [],
         "workflows/w.yaml: step 'r': revision_source names no step: 'nope'"),
        ([GEN, CRIT], [{"kind": "sequential", "from": "c", "to": "zz"}],
         "workflows/w.yaml: transition 1 (sequential): 'to' names no step: 'zz'"),
        ([GEN, CRIT, REV], [_loop(3) | {"validator": "v"}],
         "workflows/w.yaml: transition 1 (revision_loop): 'validator' names no step: 'v'"),
        ([{"id": "a", "type": "generate", "depends_on": ["b"]},
          {"id": "b", "type": "critique", "depends_on": ["a"]}], [],
         "workflows/w.yaml: steps 'a' -> 'b' -> 'a': dependency cycle"),
        ([GEN, CRIT], [{"kind": "sequential", "from": "c", "to": "g"}],
         "workflows/w.yaml: steps 'g' -> 'c' -> 'g': dependency cycle"),
        ([GEN, CRIT, REV], [_loop(None)],
         "workflows/w.yaml: transition 1 (revision_loop): max_iterations is missing; "
         "a revision loop needs a bound of 1 to 10"),
        ([GEN, CRIT, REV], [_loop(11)],
         "workflows/w.yaml: transition 1 (revision_loop): max_iterations is 11; "
         "it must be 1 to 10"),
        ([GEN, CRIT, REV], [_loop(0)],
         "workflows/w.yaml: transition 1 (revision_loop): max_iterations is 0; "
         "it must be 1 to 10"),
        ([GEN, CRIT, REV], [_loop(5)],
         "workflows/w.yaml: transition 1 (revision_loop): max_iterations is 5; "
         "step type 'revise' allows at most 3 revisions"),
        ([GEN, CRIT], [{"kind": "conditional", "from": "g", "to": "c", "condition": "text[?"}],
         "workflows/w.yaml: transition 1 (conditional): condition 'text[?' does not parse"),
        ([GEN, CRIT | {"inputs": {"draft": "x"}}], [],
         "workflows/w.yaml: step 'c': inputs.draft names 'x', which is not in depends_on"),
        ([GEN, {"id": "a", "type": "generate"}, CRIT | {"depends_on": ["g", "a"],
                                                         "for_each": "items"}], [],
         "workflows/w.yaml: step 'c': for_each needs exactly one dependency, not 2"),
        ([GEN, {"id": "a", "type": "generate"}, CRIT | {"depends_on": ["g", "a"]}, REV],
         [_loop(3)],
         "workflows/w.yaml: transition 1 (revision_loop): validator 'c' needs exactly one "
         "dependency (the step that writes the first draft), not 2"),
        ([GEN, CRIT, REV | {"revision_source": None}], [_loop(3)],
         "workflows/w.yaml: transition 1 (revision_loop): reviser 'r' needs "
         "revision_source: c"),
        ([GEN, CRIT, REV | {"depends_on": ["g"]}], [_loop(3)],
         "workflows/w.yaml: transition 1 (revision_loop): reviser 'r' takes only its "
         "validator's verdict; remove its depends_on and for_each"),
        ([GEN | {"for_each": "x", "depends_on": ["a"]}, {"id": "a", "type": "generate"}, CRIT,
          REV], [_loop(3)],
         "workflows/w.yaml: transition 1 (revision_loop): the entry step 'g' is a for_each "
         "step; a loop starts from one draft"),
        ([{"id": "a", "type": "generate"}, GEN | {"depends_on": ["a"]}, CRIT, REV],
         [_loop(3) | {"max_iterations_from": "max_revisions"}],
         "workflows/w.yaml: transition 1 (revision_loop): max_iterations_from needs the entry "
         "step 'g' to take the workflow input (no depends_on)"),
        ([GEN, CRIT | {"type": "generate"}, REV], [_loop(3)],
         "workflows/w.yaml: transition 1 (revision_loop): validator 'c' must write a Critique"),
        ([GEN, CRIT, REV | {"type": "critique"}], [_loop(3)],
         "workflows/w.yaml: transition 1 (revision_loop): reviser 'r' must write a Draft"),
        ([GEN, CRIT | {"for_each": "pages"}], [],
         "workflows/w.yaml: step 'c': for_each: 'pages' is not a field of 'g''s output "
         "(Draft: topic, text, revision)"),
        ([{"id": "s", "type": "split_sections"},
          {"id": "m", "type": "summarize_section", "depends_on": ["s"], "for_each": "sections"},
          {"id": "n", "type": "summarize_section", "depends_on": ["m"], "for_each": "x"}], [],
         "workflows/w.yaml: step 'n': for_each over 'm', a for_each step or loop validator, "
         "is not supported"),
        ([GEN, CRIT, REV, {"id": "f", "type": "final_draft"}],
         [_loop(3), {"kind": "conditional", "from": "c", "to": "f", "condition": "draft"}],
         "workflows/w.yaml: step 'f': a conditional transition from 'c' needs a plain step "
         "(not for_each, not a loop validator)"),
        ([{"id": "s", "type": "split_sections"},
          {"id": "m", "type": "summarize_section", "for_each": "sections"}],
         [{"kind": "conditional", "from": "s", "to": "m", "condition": "title"}],
         "workflows/w.yaml: step 'm': a for_each step cannot be the end of a conditional"),
    ],
    ids=[
        "duplicate-id", "unknown-type", "unknown-dependency", "unknown-revision-source",
        "unknown-transition-end", "unknown-loop-end", "cycle-in-dependencies",
        "cycle-through-transition", "unbounded-loop", "loop-above-10", "loop-of-0",
        "loop-above-step-limit", "condition-does-not-parse", "inputs-not-a-dependency",
        "for-each-with-two-dependencies", "validator-with-two-dependencies",
        "reviser-without-its-source", "reviser-with-dependencies", "loop-from-a-for-each-step",
        "runtime-bound-on-a-non-root-entry", "validator-that-writes-no-critique",
        "reviser-that-writes-no-draft", "for-each-over-a-missing-field",
        "for-each-over-a-for-each-step", "conditional-from-a-loop-validator",
        "conditional-into-a-for-each-step",
    ],
)
def test_each_rule_is_rejected_with_file_step_and_rule(steps, transitions, expected):
    problems = _problems(_workflow(steps, transitions))
    assert any(p.startswith(expected) for p in problems), problems


def test_an_input_model_that_does_not_import_is_rejected():
    problems = _problems(_workflow([GEN], input="ecl_core.nowhere:Nothing"))
    assert problems == [
        "workflows/w.yaml: workflow 'w': input model 'ecl_core.nowhere:Nothing': package "
        "'ecl_core' has no module 'nowhere': check the spelling of 'ecl_core.nowhere'"
    ]


def test_all_problems_are_reported_at_once():
    problems = _problems(_workflow([GEN, GEN, {"id": "x", "type": "nope", "depends_on": ["y"]}]))
    assert len(problems) == 3


def test_a_valid_workflow_passes_and_orders_by_declaration_on_ties():
    workflow = _workflow(
        [{"id": "b", "type": "generate"}, {"id": "a", "type": "generate"},
         {"id": "c", "type": "critique", "depends_on": ["a", "b"]}, REV | {"revision_source": "c"}],
    )
    validate(workflow, REGISTRY)
    assert topological_order(workflow) == ["b", "a", "c", "r"]


def test_conditions_that_parse_are_accepted():
    validate(
        _workflow([GEN, CRIT], [{"kind": "conditional", "from": "g", "to": "c",
                                 "condition": "length(text) > `10`"}]),
        REGISTRY,
    )


def test_a_file_that_is_not_a_workflow_says_which_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"id": "x", "name": "X", "input": INPUT, "steps": [],
                                    "transitions": [{"kind": "teleport"}]}))
    with pytest.raises(WorkflowValidationError) as caught:
        load_workflow(path)
    text = str(caught.value)
    assert str(path) in text and "field steps" in text and "field transitions.0" in text


def test_ids_that_cannot_name_a_dagster_op_are_refused(tmp_path):
    path = tmp_path / "dashed.yaml"
    path.write_text(yaml.safe_dump({"id": "my-flow", "name": "X", "input": INPUT,
                                    "steps": [{"id": "write draft", "type": "generate"}]}))
    with pytest.raises(WorkflowValidationError) as caught:
        load_workflow(path)
    text = str(caught.value)
    assert "field id: String should match pattern" in text
    assert "field steps.0.id: String should match pattern" in text


def test_the_workflows_folder_loads():
    workflows = load_workflows(ROOT / "workflows", REGISTRY)
    assert {"critique_revise", "summarize_document"} <= {w.id for w in workflows}


def test_one_bad_file_fails_the_folder_with_its_name(tmp_path):
    (tmp_path / "good.yaml").write_text((ROOT / "workflows" / "critique_revise.yaml").read_text())
    bad = "id: bad\nname: Bad\ninput: x:Y\nsteps: [{id: a, type: z}]\n"
    (tmp_path / "bad.yaml").write_text(bad)
    with pytest.raises(WorkflowValidationError) as caught:
        load_workflows(tmp_path, REGISTRY)
    assert all(p.file.endswith("bad.yaml") for p in caught.value.problems)


def test_two_workflows_sharing_a_step_id_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text((ROOT / "workflows" / "critique_revise.yaml").read_text())
    (tmp_path / "b.yaml").write_text(
        "id: b\nname: B\ninput: ecl_core.steps.builtin:CritiqueReviseInput\n"
        "steps: [{id: critique_draft, type: generate}, {id: other, type: generate}]\n"
    )
    with pytest.raises(WorkflowValidationError) as caught:
        load_workflows(tmp_path, REGISTRY)
    (problem,) = caught.value.problems
    assert problem.file.endswith("b.yaml") and problem.step == "step 'critique_draft'"
    assert "workflow 'critique_revise' has a step with this id too" in problem.rule
