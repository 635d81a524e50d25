"""Re-execution from failure at every level of the loop, on Postgres.

A run that would pass after 3 revisions fails at one step: an LLM step gets a 400 at its
own call, final_draft cannot write its output (disk full). Re-executed from failure,
only that step and what follows run again, no earlier call is repeated, and the final
draft is the one a run without failure gives.
"""

import dagster as dg
import pytest

from jobrun import anthropic_llm, execute_durably, step_keys, stored_outputs
from messages_api import error
from scenarios import draft_text, pass_after

# The steps of a pass after 3 revisions, in order, each with its LLM call (None: no call).
STEPS = [
    ("generate_draft", 0),
    ("critique_draft_0", 1),
    ("revise_draft_1[revision_1]", 2),
    ("critique_draft_1", 3),
    ("revise_draft_2[revision_2]", 4),
    ("critique_draft_2", 5),
    ("revise_draft_3[revision_3]", 6),
    ("critique_draft_3", 7),
    ("final_draft", None),
]


def _job(flag):
    return dg.build_reconstructable_job(
        "jobrun", "job_with_full_disk_at_final", reconstructable_args=(str(flag),)
    )


@pytest.mark.parametrize(("position", "failing_step"), list(enumerate(k for k, _ in STEPS)))
def test_reexecution_from_failure_at_each_level(
    messages_api, api_key, postgres_instance, tmp_path, position, failing_step
):
    instance, _ = postgres_instance
    replies = pass_after(3)
    call = STEPS[position][1]
    flag = tmp_path / "disk-full"
    if call is None:
        flag.touch()
        first_script, rest = replies, []
    else:
        first_script, rest = [*replies[:call], error(400, "injected")], replies[call:]
    messages_api.script(first_script)

    first = execute_durably(instance, anthropic_llm(messages_api), job=_job(flag))
    assert step_keys(first, "STEP_FAILURE") == {failing_step}
    assert step_keys(first, "STEP_SUCCESS") == {k for k, _ in STEPS[:position]}
    sent_before = len(messages_api.requests)

    flag.unlink(missing_ok=True)
    messages_api.script(rest)
    options = dg.ReexecutionOptions.from_failure(first.run_id, instance)
    second = dg.execute_job(
        _job(flag), instance=instance, reexecution_options=options, raise_on_error=False
    )

    assert second.success
    assert step_keys(second, "STEP_SUCCESS") == {k for k, _ in STEPS[position:]}
    assert len(messages_api.requests) - sent_before == len(rest)
    assert len(messages_api.requests) == 8 + (call is not None)
    final = stored_outputs(instance, second.run_id)["final_draft/result"]["value"]
    assert (final["text"], final["revision"]) == (draft_text(3), 3)
