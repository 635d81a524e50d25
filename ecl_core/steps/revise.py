"""The revise step: a new draft that acts on a critique's feedback; and the final draft."""

from pydantic import BaseModel, ConfigDict

from ecl_core.errors import FieldError, ValidationError
from ecl_core.llm.base import Provider
from ecl_core.loop import MAX_REVISIONS_CAP, accept
from ecl_core.prompts import load_prompt
from ecl_core.steps.base import CallRecorder, StepResult, check_draft_text
from ecl_core.types import Critique, Draft
from ecl_core.workflow.step import LLM_RETRY_POLICY, LLMStepSettings, NoSettings, Step, StepContext

__all__ = ["FinalDraftStep", "ReviseStep", "RevisionInput", "revise"]


def revise(
    provider: Provider, draft: Draft, critique: Critique, *, max_tokens: int, attempt: int = 1
) -> StepResult[Draft]:
    """Revise ``draft`` on ``critique``; the result has ``revision = draft.revision + 1``.

    Raises:
        ValidationError: The revision is empty, over 2,000 characters, cut off at
            max_tokens, or identical to the draft it revises.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(provider, "revise", attempt)
    request = load_prompt("revise").request(
        max_tokens=max_tokens,
        topic=draft.topic,
        draft=draft.text,
        critique=critique.critique,
        feedback=critique.feedback,
    )
    text = check_draft_text(recorder.complete(request), "revision.text", max_tokens)
    if text == draft.text.strip():
        raise ValidationError(
            "the model's revision is not usable",
            [FieldError("revision.text", f"is identical to revision {draft.revision}")],
        )
    return recorder.result(Draft(topic=draft.topic, text=text, revision=draft.revision + 1))


class RevisionInput(BaseModel):
    """A draft with the critique to act on."""

    model_config = ConfigDict(extra="ignore")
    draft: Draft
    critique: Critique


class ReviseStep(Step[RevisionInput, Draft]):
    """Revise a draft on its critique. The reviser of a revision loop."""

    type_name = "revise"
    name = "Revise a draft"
    input_model = RevisionInput
    output_model = Draft
    retry_policy = LLM_RETRY_POLICY
    config_model = LLMStepSettings
    revision_limit = MAX_REVISIONS_CAP

    def execute(self, context: StepContext, step_input: RevisionInput) -> Draft:
        """Call the provider with the ``revise`` prompt."""
        return context.record(revise(
            context.provider, step_input.draft, step_input.critique,
            max_tokens=context.max_tokens, attempt=context.attempt,
        ))


class FinalDraftStep(Step[RevisionInput, Draft]):
    """The accepted draft of a finished loop; ``MaxRevisionsExceeded`` if it never passed."""

    type_name = "final_draft"
    name = "Final draft"
    input_model = RevisionInput
    output_model = Draft
    uses_llm = False
    config_model = NoSettings

    def execute(self, context: StepContext, step_input: RevisionInput) -> Draft:
        """Accept the draft if its last critique passed."""
        return accept(step_input.draft, step_input.critique)
