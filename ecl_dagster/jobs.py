r"""The ``critique_revise`` job: the revision loop unrolled to its cap with dynamic outputs.

::

    generate_draft -> critique_draft_0 -(revise)-> revise_draft_1 -> critique_draft_1 -> ...
                              \-(done)--------------------------------\-(done)--> final_draft

Each critique emits the critiqued draft either on ``revise`` (a dynamic output with
zero or one item) or on ``done``. A level whose ``revise`` output is empty is skipped,
not failed; ``final_draft`` fans in the one ``done`` output that was produced.
"""

import dagster as dg

from ecl_core.loop import MAX_REVISIONS_CAP
from ecl_dagster.ops import critique_draft, final_draft, generate_draft, revise_draft

__all__ = ["RUN_RETRY_TAGS", "build_critique_revise", "critique_revise"]


RUN_RETRY_TAGS = {
    "dagster/max_retries": "3",
    "dagster/retry_strategy": "FROM_FAILURE",
    # Step failures (a 401, MaxRevisionsExceeded) are final or retried by the op's
    # RetryPolicy; run retries are for runs whose worker died.
    "dagster/retry_on_asset_or_op_failure": "false",
}
"""Resume a run whose worker died from the failed step (needs run_retries in dagster.yaml)."""


def build_critique_revise(
    executor_def: dg.ExecutorDefinition = dg.in_process_executor,
) -> dg.JobDefinition:
    """Build ``critique_revise`` with an executor: in-process by default.

    The loop is sequential, so the in-process executor is the right default (a step in
    its own process costs about 1.4 s, dagster-notes.md); a deployment may still choose
    ``dg.multiprocess_executor``, and the LLM-response journal keeps its calls exactly-once.
    """

    @dg.job(
        name="critique_revise",
        executor_def=executor_def,
        description="Generate a draft on a topic, critique it, revise it at most 3 times.",
        tags=RUN_RETRY_TAGS,
    )
    def critique_revise() -> None:
        to_revise, done = critique_draft.alias("critique_draft_0")([generate_draft()])
        outcomes = [done]
        for level in range(1, MAX_REVISIONS_CAP + 1):
            revised = to_revise.map(revise_draft.alias(f"revise_draft_{level}"))
            to_revise, done = critique_draft.alias(f"critique_draft_{level}")(revised.collect())
            outcomes.append(done)
        final_draft(outcomes)

    return critique_revise


critique_revise = build_critique_revise()
"""Critique-revise, ECL's reference workflow."""
