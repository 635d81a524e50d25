"""The generate step: a first draft on a topic (``generate``, and its step type)."""

from pydantic import BaseModel, ConfigDict

from ecl_core.llm.base import Provider
from ecl_core.prompts import load_prompt
from ecl_core.steps.base import CallRecorder, StepResult, check_draft_text
from ecl_core.types import Draft
from ecl_core.workflow.step import LLM_RETRY_POLICY, LLMStepSettings, Step, StepContext

__all__ = ["GenerateStep", "TopicInput", "generate"]


def generate(
    provider: Provider, topic: str, *, max_tokens: int, attempt: int = 1
) -> StepResult[Draft]:
    """Write revision 0 of a draft on ``topic`` with the ``generate`` prompt.

    Args:
        provider: Answers the call.
        topic: What to write about; check it with ``ecl_core.loop.check_brief`` first.
        max_tokens: Upper bound on generated tokens.
        attempt: The step attempt, for the metadata.

    Raises:
        ValidationError: The draft is empty, over 2,000 characters or cut off at max_tokens.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(provider, "generate", attempt)
    request = load_prompt("generate").request(max_tokens=max_tokens, topic=topic)
    text = check_draft_text(recorder.complete(request), "draft.text", max_tokens)
    return recorder.result(Draft(topic=topic, text=text, revision=0))


class TopicInput(BaseModel):
    """A topic to write about."""

    model_config = ConfigDict(extra="ignore")
    topic: str


class GenerateStep(Step[TopicInput, Draft]):
    """Write revision 0 of a draft on the topic."""

    type_name = "generate"
    name = "Generate a draft"
    input_model = TopicInput
    output_model = Draft
    retry_policy = LLM_RETRY_POLICY
    config_model = LLMStepSettings

    def execute(self, context: StepContext, step_input: TopicInput) -> Draft:
        """Call the provider with the ``generate`` prompt."""
        return context.record(generate(
            context.provider, step_input.topic, max_tokens=context.max_tokens,
            attempt=context.attempt,
        ))
