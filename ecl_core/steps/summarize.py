"""The summarize steps: one section's summary, and the summaries combined into a draft."""

from collections.abc import Sequence

from ecl_core.llm.base import Provider
from ecl_core.prompts import load_prompt
from ecl_core.steps.base import CallRecorder, StepResult, check_draft_text
from ecl_core.types import Draft

__all__ = ["combine_summaries", "summarize_section"]


def summarize_section(
    provider: Provider,
    document: str,
    heading: str,
    text: str,
    *,
    max_tokens: int,
    attempt: int = 1,
) -> StepResult[str]:
    """Summarize one section with the ``summarize_section`` prompt.

    Args:
        provider: Answers the call.
        document: The document's file name, for the prompt.
        heading: The section's heading.
        text: The section's text (at most ``max_section_chars`` characters, see documents.py).
        max_tokens: Upper bound on generated tokens.
        attempt: The step attempt, for the metadata.

    Raises:
        ValidationError: The summary is empty, over 2,000 characters or cut off at max_tokens.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(provider, "summarize_section", attempt)
    request = load_prompt("summarize_section").request(
        max_tokens=max_tokens, document=document, heading=heading, section=text
    )
    summary = check_draft_text(recorder.complete(request), "summary", max_tokens)
    return recorder.result(summary)


def combine_summaries(
    provider: Provider,
    title: str,
    summaries: Sequence[tuple[str, str]],
    *,
    max_tokens: int,
    attempt: int = 1,
) -> StepResult[Draft]:
    """Join section summaries into revision 0 of a summary draft (``combine_summaries`` prompt).

    Args:
        provider: Answers the call.
        title: The document's title; the draft's topic is ``Summary of <title>``.
        summaries: (heading, summary) pairs in document order.
        max_tokens: Upper bound on generated tokens.
        attempt: The step attempt, for the metadata.

    Raises:
        ValidationError: The summary is empty, over 2,000 characters or cut off at max_tokens.
        LLMError, CircuitOpenError: The call failed.
    """
    recorder = CallRecorder(provider, "combine_summaries", attempt)
    listed = "\n\n".join(f"## {heading}\n{summary}" for heading, summary in summaries)
    request = load_prompt("combine_summaries").request(
        max_tokens=max_tokens, title=title, summaries=listed
    )
    text = check_draft_text(recorder.complete(request), "draft.text", max_tokens)
    return recorder.result(Draft(topic=f"Summary of {title}", text=text, revision=0))
