"""``ecl reexecute RUN [--all]``: re-execute a run, from failure by default.

Dagster has no CLI command that re-executes a run (docs/dagster-notes.md), so ECL has one. A run
launched through a code location (the queue, the UI, ``ecl run``) is re-executed through
the run queue when a daemon runs (``launching.reexecute_queued``, the UI's way) and followed
to its end. Any other run (``dagster job execute``, ``ecl run --wait`` without a daemon), or
any run when no daemon runs, is re-executed in this process (``reexecute``), a STARTED run
whose worker is gone first marked failed.
"""

import click
import dagster as dg

from ecl_core.errors import ValidationError
from ecl_core.logging import get_logger
from ecl_dagster.cli.common import RUN, Refused, format_option, instance, stdout_to_stderr
from ecl_dagster.cli.run import follow_to_end
from ecl_dagster.cli.status import exit_code, show_detail
from ecl_dagster.review.continuation import inherited_tags
from ecl_dagster.runs import launching
from ecl_dagster.runs.orphans import mark_orphan_failed, run_worker
from ecl_dagster.runs.resume import ADDED_STEPS_TAG, resume_selection
from ecl_dagster.runs.views import run_detail
from ecl_dagster.usage.budgets import budget_tags
from ecl_dagster.workflows.jobs import reconstructable_job

__all__ = ["reexecute", "reexecute_command"]

_log = get_logger("ecl.cli")


def reexecute(
    instance: dg.DagsterInstance, run_id: str, every_step: bool,
    tags: dict[str, str] | None = None,
) -> str:
    """Re-execute ``run_id`` in this process, from failure or every step; return the new run.

    ``tags`` are added over the kept ones (a new budget: ``ecl_dagster.usage.budgets.budget_tags``).

    From failure, the steps are Dagster's selection plus the mapped steps it misses
    (``ecl_dagster.runs.resume``; a warning names them). The new run keeps the parent's run
    config and tags (the partition of an asset run among them), as the UI's re-execution
    does; Python's ``execute_job`` would drop them. What is not kept is
    ``continuation.inherited_tags``'s rule (the worker host, review, API request and usage
    tags, and those Dagster leaves out of a retry). A run still STARTED whose worker is gone
    from this host (``ecl_dagster.runs.orphans``) is first marked failed, with the reason in
    its event log.

    Raises:
        KeyError: No run with that id.
        DagsterInvariantViolationError: The run cannot be re-executed from failure: it is
            still running (its worker is alive, or on another host), or it succeeded.
    """
    parent = instance.get_run_by_id(run_id)
    if parent is None:
        raise KeyError(run_id)
    worker = run_worker(instance, parent)
    if worker is not None:
        if not mark_orphan_failed(instance, parent):
            raise dg.DagsterInvariantViolationError(
                f"it is {parent.status.value} and its worker ({worker.describe()}) is not known "
                "to be gone from this host; wait for it to end, or terminate it in the UI"
            )
        parent = instance.get_run_by_id(run_id)
        assert parent is not None
    options = dg.ReexecutionOptions(parent_run_id=run_id)
    if not every_step:
        selection = resume_selection(instance, parent)
        options = (
            dg.ReexecutionOptions(parent_run_id=run_id, step_selection=selection.step_keys)
            if selection.added else dg.ReexecutionOptions.from_failure(run_id, instance)
        )
        if selection.added:
            tags = {**(tags or {}), ADDED_STEPS_TAG: ",".join(selection.added)[:1000]}
            _log.warning("reexecute.steps_added", run_id=run_id, added=selection.added,
                         reason="Dagster's from-failure selection leaves out mapped steps that "
                         "never started; ECL runs them")
    job = reconstructable_job(parent.job_name)
    result = dg.execute_job(
        job, instance, run_config=parent.run_config,
        tags={**inherited_tags(parent), **(tags or {})},
        reexecution_options=options, raise_on_error=False,
    )
    return result.run_id


def _through_the_queue(found: dg.DagsterInstance, parent: dg.DagsterRun, every_step: bool,
                       tags: dict[str, str], fmt: str) -> str:
    with stdout_to_stderr(), launching.open_workspace(found) as workspace:
        run = launching.reexecute_queued(found, workspace, parent, every_step, tags)
    if fmt != "quiet":
        click.echo(f"ecl: re-executing {parent.run_id[:8]} as run {run.run_id} through the "
                   "run queue", err=True)
    follow_to_end(found, run.run_id, fmt)
    return run.run_id


@click.command("reexecute")
@click.argument("run_id", metavar="RUN", type=RUN)
@click.option("--all", "every_step", is_flag=True, help="Re-execute every step.")
@click.option("--budget-tokens", metavar="N", help="Tokens the lineage may bill in all (run "
              "tag ecl/budget_tokens; replaces the parent's budget).")
@click.option("--budget-usd", metavar="USD", help="USD the lineage may bill in all (run tag "
              "ecl/budget_usd; replaces the parent's budget).")
@format_option
@click.pass_context
def reexecute_command(ctx: click.Context, run_id: str, every_step: bool,
                      budget_tokens: str | None, budget_usd: str | None, fmt: str) -> None:
    """Re-execute a run, from failure by default, and print the new run's status.

    Through the run queue when the run came from a code location and a daemon runs; else
    in this process. A run whose worker is gone from this host is first marked failed.
    JSON: the new run's RunDetail. Exits 0 when the new run succeeded.
    """
    try:
        tags = budget_tags(budget_tokens, budget_usd, names=("--budget-tokens", "--budget-usd"))
    except ValidationError as err:
        raise Refused(str(err)) from None
    found = instance(ctx)
    parent = found.get_run_by_id(run_id)
    assert parent is not None  # resolved by RUN
    if mark_orphan_failed(found, parent):  # killed: no need to wait for run monitoring
        parent = found.get_run_by_id(run_id)
        assert parent is not None
    retry = launching.daemon_retry(found, parent)
    if retry is not None:
        raise Refused(f"the daemon's run retry resumes run {run_id}"
                      + (f": it is run {retry}; re-execute that one if it fails" if retry
                         else " (`ecl list` shows it once launched)"))
    try:
        if parent.remote_job_origin is not None and launching.daemon_running(found):
            new_run_id = _through_the_queue(found, parent, every_step, tags, fmt)
        else:
            with stdout_to_stderr():  # the run's and ECL's log lines: stdout is the result's
                new_run_id = reexecute(found, run_id, every_step, tags)
    except dg.DagsterError as err:  # it is running, it succeeded, its code is unreachable
        raise Refused(f"cannot re-execute {run_id}: {err}") from None
    detail = run_detail(found, new_run_id)
    show_detail(detail, fmt)
    ctx.exit(exit_code(detail))
