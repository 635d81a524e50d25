"""The continuation of a run whose review is answered: a re-execution from the review step.

It is what Dagster's "re-execute from selected step" makes, with the step selection
``<review step>*``: the review step and every step after it, in the same lineage, the steps
before loading their outputs from the parent run (no LLM call is made again). Dagster
offers this to Python only as ``execute_job(..., ReexecutionOptions(step_selection=...))``,
which executes in the caller's process; a sensor must not, so the run is created here the
way ``execute_job`` plans it and then submitted to the instance's run queue, where the
daemon launches it like any other run (pools, run retries and monitoring apply). This uses
two Dagster internals, pinned with dagster 1.13.27 (docs/dagster-notes.md): the re-execution
planner and ``execute_run``.

A queued continuation needs the parent's code-location origin, which every run launched
through the queue has (the UI, sensors, ``dagster job launch``, continuations); a run
executed by a CLI in its own process has none and is continued by ``ecl review resume`` in
the CLI's process instead.
"""

import dagster as dg
from dagster._core.execution.api import _resolve_reexecute_step_selection, execute_run
from dagster._core.storage.tags import (
    PARENT_RUN_ID_TAG,
    ROOT_RUN_ID_TAG,
    TAGS_TO_MAYBE_OMIT_ON_RETRY,
)

from ecl_dagster.resources import PROVIDER_TAG
from ecl_dagster.review.awaiting import REVIEW_TAGS
from ecl_dagster.runs.origin_tags import API_KEY_TAG, REQUEST_ID_TAG
from ecl_dagster.runs.orphans import WORKER_HOST_TAG
from ecl_dagster.runs.resume import ADDED_STEPS_TAG
from ecl_dagster.usage.tags import CALLS_TAG, COST_TAG, TOKENS_TAG
from ecl_dagster.workflows.jobs import reconstructable_job

__all__ = ["can_queue", "create_continuation", "execute_here", "inherited_tags", "submit"]

_NOT_INHERITED = {
    *TAGS_TO_MAYBE_OMIT_ON_RETRY, *REVIEW_TAGS, WORKER_HOST_TAG,
    API_KEY_TAG, REQUEST_ID_TAG,  # who asked for the parent, not for this run
    CALLS_TAG, TOKENS_TAG, COST_TAG, PROVIDER_TAG,  # the parent's usage, not this run's
    ADDED_STEPS_TAG,  # what the parent's own re-execution added
}


def inherited_tags(parent: dg.DagsterRun) -> dict[str, str]:
    """The tags a re-execution of ``parent`` keeps.

    All but the review's, the worker host's, the API request's (key name, request id), the
    parent's usage (calls, tokens, cost, provider: the new run tags its own), and those
    Dagster leaves out of a retry (failure reason, retry number...).
    """
    return {k: v for k, v in parent.tags.items() if k not in _NOT_INHERITED}


def can_queue(parent: dg.DagsterRun) -> bool:
    """Whether a continuation of ``parent`` can go through the run queue (module docstring)."""
    return parent.remote_job_origin is not None and parent.job_code_origin is not None


def create_continuation(
    instance: dg.DagsterInstance,
    job: dg.JobDefinition,
    parent: dg.DagsterRun,
    step_key: str,
    run_id: str,
) -> dg.DagsterRun:
    """Create (not start) run ``run_id``: ``parent`` re-executed from ``step_key`` on.

    It keeps the parent's run config, its op or asset selection, its tags
    (``inherited_tags``), and its code-location origin when it has one. If the
    run exists already (a claim whose submission was cut short), it is returned as it is.
    """
    existing = instance.get_run_by_id(run_id)
    if existing is not None:
        return existing
    plan = _resolve_reexecute_step_selection(
        instance, job, parent.run_config, parent, [f"{step_key}*"]
    )
    root = parent.root_run_id or parent.run_id
    tags = inherited_tags(parent)
    tags.update({PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: root})
    if parent.asset_selection:  # as execute_job does: a Materialize of some assets stays so
        job = job.get_subset(op_selection=None, asset_selection=parent.asset_selection)
    return instance.create_run_for_job(
        job,
        execution_plan=plan,
        run_id=run_id,
        run_config=parent.run_config,
        tags=tags,
        root_run_id=root,
        parent_run_id=parent.run_id,
        op_selection=list(parent.op_selection) if parent.op_selection else None,
        asset_selection=set(parent.asset_selection) if parent.asset_selection else None,
        resolved_op_selection=(set(parent.resolved_op_selection)
                               if parent.resolved_op_selection else None),
        remote_job_origin=parent.remote_job_origin,
        job_code_origin=parent.job_code_origin,
    )


def submit(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Hand a created continuation to the run queue (a no-op once it left NOT_STARTED).

    The queued run coordinator (Dagster's default, and ECL's in every dagster.yaml) needs no
    workspace to enqueue: the daemon's queue launches the run from its own.
    """
    if run.status == dg.DagsterRunStatus.NOT_STARTED:
        instance.submit_run(run.run_id, workspace=None)  # type: ignore[arg-type]


def execute_here(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun:
    """Execute a created continuation in this process; return it as it ended."""
    job = reconstructable_job(run.job_name)
    execute_run(job, run, instance)
    ended = instance.get_run_by_id(run.run_id)
    assert ended is not None
    return ended
