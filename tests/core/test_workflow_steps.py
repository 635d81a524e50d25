"""The Step interface: typed input and output, validation hooks, the registry, built-ins."""

import pytest
from structlog.testing import capture_logs

from ecl_core.errors import ConfigError, MaxRevisionsExceeded, ValidationError
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.logging import get_logger
from ecl_core.steps.builtin import default_registry
from ecl_core.steps.critique import CritiqueStep
from ecl_core.steps.generate import GenerateStep
from ecl_core.steps.revise import FinalDraftStep, ReviseStep
from ecl_core.types import Critique, Draft
from ecl_core.workflow.step import DirectoryArtifacts, StepContext, StepRegistry

from scenarios import critique_json

DRAFT = Draft(topic="Tea", text="Tea is a drink.", revision=0)


def _context(provider, tmp_path, **config) -> StepContext:
    return StepContext(
        provider=provider, run_id="run-1", step_id="s", attempt=1,
        log=get_logger("test"), artifacts=DirectoryArtifacts(tmp_path), config=config,
    )


def test_generate_critique_revise_run_as_steps(tmp_path):
    provider = ScriptedProvider(["Tea is a drink.", critique_json("revise", "more"),
                                 "Tea is a drink made from leaves."])
    draft = GenerateStep().run(_context(provider, tmp_path), {"topic": "Tea"})
    verdict = CritiqueStep().run(_context(provider, tmp_path), {"draft": draft})
    revised = ReviseStep().run(_context(provider, tmp_path), {"draft": draft, "critique": verdict})
    assert (draft.revision, verdict.decision, revised.revision) == (0, "revise", 1)


def test_step_config_reaches_the_call(tmp_path):
    provider = ScriptedProvider(["Tea is a drink."])
    GenerateStep().run(_context(provider, tmp_path, max_tokens=77), {"topic": "Tea"})
    assert provider.requests[0].max_tokens == 77


def test_bad_input_names_the_field(tmp_path):
    with pytest.raises(ValidationError) as caught:
        CritiqueStep().run(_context(ScriptedProvider([]), tmp_path), {"draft": {"text": 1}})
    fields = [d.field for d in caught.value.details]
    assert "input.draft.topic" in fields and "input.draft.text" in fields


def test_the_final_step_raises_max_revisions_when_the_last_critique_did_not_pass(tmp_path):
    step = FinalDraftStep()
    verdict = Critique(decision="revise", critique="c", feedback="still thin")
    with pytest.raises(MaxRevisionsExceeded) as caught:
        step.run(_context(ScriptedProvider([]), tmp_path),
                 {"draft": DRAFT.model_copy(update={"revision": 3}), "critique": verdict})
    assert caught.value.attempts == 3
    passed = Critique(decision="pass", critique="good")
    context = _context(ScriptedProvider([]), tmp_path)
    accepted = step.run(context, {"draft": DRAFT, "critique": passed})
    assert accepted == DRAFT


def test_artifacts_are_files_a_person_can_open(tmp_path):
    where = DirectoryArtifacts(tmp_path).put("prompts/critique.txt", "hello")
    assert open(where, encoding="utf-8").read() == "hello"


def test_the_registry_knows_the_built_ins_and_refuses_duplicates_and_unknowns():
    registry = default_registry()
    assert registry.names() == [
        "combine_summaries", "critique", "final_draft", "generate", "human_review", "revise",
        "split_sections", "summarize_section",
    ]
    assert registry.get("revise").revision_limit == 3
    with pytest.raises(ConfigError, match="registered twice"):
        registry.register(GenerateStep)
    with pytest.raises(ConfigError, match="unknown step type 'translate'"):
        registry.get("translate")
    assert "generate" in StepRegistry([GenerateStep])


def test_steps_log_through_the_context(tmp_path):
    context = _context(ScriptedProvider([]), tmp_path)
    with capture_logs() as logs:
        context.log.info("step.note", step=context.step_id)
    assert logs[0]["step"] == "s"
