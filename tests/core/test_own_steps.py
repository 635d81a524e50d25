"""What a step of your own gets from ECL: calls recorded, structured answers parsed and
repaired, an offline answer to any prompt, and folders where one bad file is contained."""

import json
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import ecl_core
from ecl_core import (
    ConfigError,
    Step,
    StepContext,
    ValidationError,
    complete_structured,
    complete_text,
    load_prompt,
)
from ecl_core.llm.providers.offline import OfflineProvider
from ecl_core.llm.providers.offline_any import OFFLINE_ANSWER_MARK
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.files import scan_workflows
from ecl_core.workflow.step import DirectoryArtifacts

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "## System prompt\n\nYou grade.\n\n## User template\n\nGrade ${essay} for ${level}.\n"


class Grade(BaseModel):
    score: int = Field(ge=1, le=5)
    verdict: Literal["keep", "rewrite"]
    reasons: list[str] = Field(min_length=2, max_length=3)
    summary: str = Field(min_length=20, max_length=40)
    extra: "Nested | None" = None


class Nested(BaseModel):
    label: str
    weight: float = Field(gt=0.5)


def _context(provider, tmp_path) -> StepContext:
    return StepContext(provider=provider, run_id="r", step_id="grade", attempt=1, log=None,
                       artifacts=DirectoryArtifacts(tmp_path))


@pytest.fixture
def prompt(tmp_path):
    (tmp_path / "grade.md").write_text(PROMPT)
    return load_prompt("grade", tmp_path)


def test_ecl_core_exports_what_a_step_needs():
    from ecl_core.workflow.step import Step as Defined

    assert ecl_core.Step is Defined is Step
    assert set(ecl_core.__all__) >= {"Step", "StepContext", "load_prompt", "complete_structured",
                                     "complete_text", "Draft", "Critique"}
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = ecl_core.Nope


def test_a_structured_answer_is_parsed_and_recorded(prompt, tmp_path):
    answer = {"score": 4, "verdict": "keep", "reasons": ["clear", "short"],
              "summary": "A clear essay, kept as is."}
    provider = ScriptedProvider([f"Here it is:\n```json\n{json.dumps(answer)}\n```"])
    context = _context(provider, tmp_path)
    grade = complete_structured(context, prompt, Grade, essay="E", level="B2")
    assert grade == Grade.model_validate(answer)
    (request,) = provider.requests
    assert request.output_schema == Grade.model_json_schema()
    assert request.step == "grade" and request.messages[0].content == "Grade E for B2."
    (call,) = context.calls
    assert call.step == "grade" and call.llm_calls == 1


def test_an_unusable_answer_gets_one_repair_then_fails_naming_the_fields(prompt, tmp_path):
    provider = ScriptedProvider(['{"score": 9}', '{"score": 9, "verdict": "maybe"}'])
    with pytest.raises(ValidationError) as failed:
        complete_structured(_context(provider, tmp_path), prompt, Grade, essay="E", level="B2")
    fields = {d.field for d in failed.value.details}
    assert {"grade.score", "grade.verdict", "grade.reasons", "grade.summary"} <= fields
    repair = provider.requests[1].messages[-1].content
    assert repair.startswith("Your reply could not be used: grade.score")


def test_a_text_answer_is_recorded(prompt, tmp_path):
    context = _context(ScriptedProvider(["  Good.  "]), tmp_path)
    assert complete_text(context, prompt, essay="E", level="B2") == "Good."
    assert context.calls[0].llm_calls == 1


def test_the_offline_provider_answers_any_prompt_in_its_schema(prompt, tmp_path):
    context = _context(OfflineProvider(), tmp_path)
    grade = complete_structured(context, prompt, Grade, essay="My essay", level="B2")
    assert grade.summary.startswith("Offline summary")
    assert "essay: My essay" in grade.reasons[0]
    assert (grade.score, grade.verdict, len(grade.reasons)) == (1, "keep", 2)
    assert grade.extra is not None and grade.extra.weight > 0.5
    text = complete_text(context, prompt, essay="My essay", level="B2")
    assert text.startswith(OFFLINE_ANSWER_MARK)
    assert "Step 'grade' was asked: essay: My essay; level: B2" in text


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=5), st.integers(min_value=1, max_value=30),
       st.text(min_size=1, max_size=200))
def test_offline_answers_fit_bounds_of_every_size(min_items, max_len, essay):
    class Sized(BaseModel):
        items: list[str] = Field(min_length=min_items, max_length=min_items + 1)
        text: str = Field(min_length=1, max_length=max_len)
        count: int = Field(ge=min_items, le=min_items + 3)

    context = StepContext(provider=OfflineProvider(), run_id="r", step_id="s", attempt=1,
                          log=None, artifacts=DirectoryArtifacts(Path("/nonexistent")))
    from ecl_core.prompts import PromptTemplate

    template = PromptTemplate(name="sized", system="S", context=None, user="${essay}",
                              version="x")
    Sized.model_validate(complete_structured(context, template, Sized, essay=essay))


def test_offline_answers_for_formats_tuples_sets_and_exclusive_bounds(tmp_path):
    import datetime
    import uuid

    from pydantic import HttpUrl

    class Formats(BaseModel):
        when: datetime.datetime
        day: datetime.date
        uid: uuid.UUID
        url: HttpUrl
        negative: float = Field(lt=0)
        small: float = Field(gt=0, lt=0.3)
        ten: int = Field(ge=10, gt=0)
        fives: int = Field(ge=7, multiple_of=5)
        pair: tuple[int, str]
        tags: set[str] = Field(min_length=2)
        counts: dict[str, int] = Field(min_length=2)

    (tmp_path / "grade.md").write_text(PROMPT)
    template = load_prompt("grade", tmp_path)
    context = _context(OfflineProvider(), tmp_path)
    found = complete_structured(context, template, Formats, essay="E", level="B2")
    assert (found.ten, found.fives, found.negative < 0, 0 < found.small < 0.3) == (
        10, 10, True, True)

    class Coded(BaseModel):
        code: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")

    with pytest.raises(ConfigError, match="cannot write field 'code': it must match pattern"):
        complete_structured(context, template, Coded, essay="E", level="B2")


@pytest.mark.parametrize(("steps", "expected"), [
    ("[{id: config, type: generate}]",
     "step 'config': this id is a name Dagster reserves (its own names, Python's keywords, "
     "and names starting with '__'); choose another"),
    ("[{id: g, type: generate, config: {max_tokens: 500000}}]",
     "step 'g': config.max_tokens: Input should be less than or equal to 128000"),
    ("[{id: g, type: generate, config: {temperature: 2}}]",
     "step 'g': config.temperature: Extra inputs are not permitted"),
    ("[{id: g, type: generate}, {id: c, type: critique, depends_on: [g]},"
     " {id: r, type: revise, revision_source: c}, {id: c_1, type: final_draft, depends_on: [c]}]",
     "step 'c_1': the loop step 'c' is unrolled into ops 'c_0', 'c_1', ...; this id would be "
     "one of them: rename it"),
])
def test_ids_dagster_would_refuse_are_refused_at_their_line(tmp_path, steps, expected):
    (tmp_path / "w.yaml").write_text(
        f"id: w\nname: W\ninput: ecl_core.steps.builtin:CritiqueReviseInput\nsteps: {steps}\n"
        "transitions: [{kind: revision_loop, reviser: r, validator: c, max_iterations: 2}]\n"
        if "c_1" in steps else
        f"id: w\nname: W\ninput: ecl_core.steps.builtin:CritiqueReviseInput\nsteps: {steps}\n"
    )
    problems = [str(p) for p in scan_workflows(tmp_path, default_registry()).problems]
    assert f"{tmp_path / 'w.yaml'}:4: {expected}" in problems, problems


def test_a_workflow_id_dagster_keeps_for_itself_is_refused(tmp_path):
    (tmp_path / "w.yaml").write_text("id: __ASSET_JOB\nname: W\n"
                                     "input: ecl_core.steps.builtin:CritiqueReviseInput\n"
                                     "steps: [{id: g, type: generate}]\n")
    (problem,) = scan_workflows(tmp_path, default_registry()).problems
    assert (problem.line, problem.step) == (1, "workflow '__ASSET_JOB'")
    assert "names starting with '__'" in problem.rule


def test_a_custom_step_cannot_ask_for_more_output_than_any_model_writes(tmp_path):
    context = StepContext(provider=OfflineProvider(), run_id="r", step_id="s", attempt=1,
                          log=None, artifacts=DirectoryArtifacts(tmp_path),
                          config={"max_tokens": 500_000})
    with pytest.raises(ValidationError) as refused:
        _ = context.max_tokens
    assert str(refused.value.details[0]) == (
        "config.max_tokens: is 500000; it must be a whole number from 1 to 128,000")


def test_one_broken_file_leaves_the_others_loaded_and_says_where(tmp_path):
    (tmp_path / "a.yaml").write_text((ROOT / "workflows" / "critique_revise.yaml").read_text())
    (tmp_path / "b.yaml").write_text(
        "id: b\nname: B\ninput: ecl_core.steps.builtin:CritiqueReviseInput\nsteps:\n"
        "  - {id: b1, type: generate}\n  - {id: b2, type: nope, depends_on: [b1]}\n"
        "transitions:\n  - {kind: sequential, from: b1, to: zz}\n"
    )
    (tmp_path / "c.yaml").write_text("id: c\nname: [unclosed\n")
    (tmp_path / "c2.yaml").write_text("id: c2\nname: X\ndescription: 2020-13-45\n")
    (tmp_path / "d.yaml").write_text((ROOT / "workflows" / "critique_revise.yaml").read_text())
    scan = scan_workflows(tmp_path, default_registry())
    assert [w.id for w in scan.workflows] == ["critique_revise"]
    assert scan.broken_ids == {str(tmp_path / "b.yaml"): "b", str(tmp_path / "c.yaml"): "c",
                               str(tmp_path / "c2.yaml"): "c2",
                               str(tmp_path / "d.yaml"): "critique_revise"}
    (dated,) = scan.broken[str(tmp_path / "c2.yaml")]
    assert (dated.step, dated.rule) == ("file", "month must be in 1..12")
    b = [str(p) for p in scan.broken[str(tmp_path / "b.yaml")]]
    assert b[0].startswith(f"{tmp_path / 'b.yaml'}:6: step 'b2': unknown step type 'nope'")
    assert b[1].startswith(f"{tmp_path / 'b.yaml'}:8: transition 1 (sequential): 'to' names")
    (c,) = scan.broken[str(tmp_path / "c.yaml")]
    assert c.line == 3 and c.step == "file"
    d = scan.broken[str(tmp_path / "d.yaml")]
    assert d[0].rule == f"{tmp_path / 'a.yaml'} defines this workflow id too" and d[0].line == 3
