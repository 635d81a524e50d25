"""``ecl``: re-execute and inspect runs from a shell, against the instance at DAGSTER_HOME.

Dagster has no CLI command that re-executes a run (dagster-notes.md), so ECL adds one::

    ecl status RUN_ID             state, steps, revisions, tokens and cost, final draft or error
    ecl reexecute RUN_ID          re-execute from failure (the default) in this process
    ecl reexecute RUN_ID --all    re-execute every step
    ecl reexecute RUN_ID --budget-usd 2.50   ... with a new budget for the lineage
    ecl usage [--since 7d] [--workflow W] [--format json]   tokens and cost from the ledger
    ecl workflows list            the workflows defined in workflows/ (or $ECL_WORKFLOWS_DIR)
    ecl workflows show ID         one workflow's steps, edges, loop bounds and order
    ecl analyze PATH --target T   analyze a codebase for a migration (the migration assets)
    ecl review list|show|approve|revise|reject|resume   reviews by a person (review_cli)

Exit codes: 0 when the run (or the re-execution) succeeded, 1 when it did not, 2 for a
usage error such as an unknown run id, an invalid workflow file or analysis request.
"""

import argparse
import os
import sys
from collections import Counter
from typing import TextIO

import dagster as dg

from ecl_core.errors import ValidationError
from ecl_core.usage.ledger import UsageTotal
from ecl_core.usage.prices import usd_text
from ecl_core.workflow.builtin import default_registry
from ecl_core.workflow.definition import (
    RevisionLoop,
    WorkflowDefinition,
    WorkflowValidationError,
    load_workflows,
    topological_order,
)
from ecl_dagster.analyze import add_analyze_parser, analyze
from ecl_dagster.assets.sensor import MIGRATION_JOB
from ecl_dagster.awaiting import REVIEW_ID_TAG, REVIEW_STATE_TAG
from ecl_dagster.budgets import budget_tags
from ecl_dagster.continuation import inherited_tags
from ecl_dagster.jobs import workflows_dir
from ecl_dagster.orphans import mark_orphan_failed, run_worker
from ecl_dagster.review_cli import add_review_parser, review
from ecl_dagster.usage import partition_lineage_key, usage_ledger
from ecl_dagster.usage_cli import add_usage_parser, usage

__all__ = ["main", "reexecute", "run_status"]

def _list_workflows(out: TextIO) -> None:
    for workflow in load_workflows(workflows_dir(), default_registry()):
        loops = ", ".join(f"{loop.max_iterations}x {loop.reviser}" for loop in workflow.loops())
        out.write(
            f"{workflow.id:<24} {len(workflow.steps)} steps  "
            f"{('loop ' + loops) if loops else 'no loop'}  {workflow.name}\n"
        )


def _show_workflow(workflow: WorkflowDefinition, out: TextIO) -> None:
    out.write(f"{workflow.id}: {workflow.name}\n")
    if workflow.description:
        out.write(f"  {workflow.description}\n")
    out.write(f"  file:  {workflow.source}\n  input: {workflow.input}\n  steps:\n")
    for step in workflow.steps:
        extra = f" (revises on {step.revision_source})" if step.revision_source else ""
        if step.for_each:
            extra += f" (once per item of {step.depends_on[0]}.{step.for_each})"
        out.write(f"    {step.id:<20} {step.type}{extra}\n")
    out.write("  edges:\n")
    for source, target in workflow.edges():
        out.write(f"    {source} -> {target}\n")
    for transition in workflow.transitions:
        if isinstance(transition, RevisionLoop):
            out.write(
                f"  loop: {transition.reviser} revises until {transition.validator} passes, "
                f"at most {transition.max_iterations} times"
                + (f" (run config {transition.max_iterations_from} may lower it)"
                   if transition.max_iterations_from else "")
                + "\n"
            )
        elif transition.kind == "conditional":
            out.write(f"  when {transition.condition}: {transition.from_} -> {transition.to}\n")
    out.write(f"  order: {' -> '.join(topological_order(workflow))}\n")


def _step_events(instance: dg.DagsterInstance, run_id: str) -> list[dg.DagsterEvent]:
    return [
        record.dagster_event
        for record in instance.all_logs(run_id)
        if record.dagster_event is not None and record.dagster_event.step_key
    ]


def _failure_text(event: dg.DagsterEvent) -> str:
    """A step failure's description; after exhausted retries, also the error that caused it.

    When a step's RetryPolicy runs out, Dagster's failure says only "Exceeded max_retries of
    N"; the error of the last attempt is its cause (dagster-notes.md).
    """
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    if error is None:
        return "unknown error"
    text = error.message.strip()
    cause = error.cause
    while cause is not None and cause.cause is not None:
        cause = cause.cause
    if cause is not None:
        text += f"; last error: {cause.message.strip()}"
    return text


def run_status(instance: dg.DagsterInstance, run_id: str, out: TextIO) -> bool:
    """Write a run's status for a person; return whether it succeeded.

    Raises:
        KeyError: No run with that id.
    """
    run = instance.get_run_by_id(run_id)
    if run is None:
        raise KeyError(run_id)
    events = _step_events(instance, run_id)
    outcome: dict[str, str] = {}
    revisions = 0
    final_text = None
    errors = []
    for event in events:
        key = event.step_key
        assert key is not None
        if event.is_step_success:
            outcome[key] = "succeeded"
        elif event.is_step_skipped:
            outcome[key] = "skipped"
        elif event.is_step_failure:
            outcome[key] = "failed"
            errors.append(f"{key}: {_failure_text(event)}")
        elif event.is_successful_output:
            metadata = event.step_output_data.metadata
            if "revision" in metadata:
                revisions = max(revisions, int(metadata["revision"].value))
            if "text" in metadata:  # the final step's draft (ecl_dagster.metadata)
                final_text = str(metadata["text"].value)
    counts = Counter(outcome.values())
    out.write(f"run {run.run_id} ({run.job_name}): {run.status.value}\n")
    worker = run_worker(instance, run)
    if worker is not None and worker.gone:
        out.write(
            f"worker gone: {worker.describe()} is not running; `ecl reexecute {run.run_id}` "
            "marks the run failed and re-executes it from failure\n"
        )
    if run.parent_run_id:
        out.write(f"re-execution of {run.parent_run_id} (root {run.root_run_id})\n")
    out.write(
        f"steps: {counts['succeeded']} succeeded, {counts['skipped']} skipped, "
        f"{counts['failed']} failed\n"
    )
    for key, state in outcome.items():
        out.write(f"  {state:<10} {key}\n")
    out.write(f"revisions: {revisions}\n")
    _write_usage(instance, run, out)
    if run.tags.get(REVIEW_STATE_TAG) == "awaiting":
        review_id = run.tags.get(REVIEW_ID_TAG, "?")
        out.write(f"awaiting review {review_id}: the run ended here and resumes once a person "
                  f"answers; see `ecl review show {review_id}`\n")
    elif REVIEW_STATE_TAG in run.tags:
        out.write(f"review {run.tags.get(REVIEW_ID_TAG, '?')}: {run.tags[REVIEW_STATE_TAG]}\n")
    for error in errors:
        out.write(f"error: {error}\n")
    if final_text is not None:
        out.write(f"final draft:\n{final_text}\n")
    return run.status == dg.DagsterRunStatus.SUCCESS


def _write_usage(instance: dg.DagsterInstance, run: dg.DagsterRun, out: TextIO) -> None:
    """The run's LLM calls, tokens and cost, from the usage ledger.

    For a re-execution also its lineage's; for an analysis run its request's (every run of
    its partition).
    """
    ledger = usage_ledger(instance)
    out.write(_usage_line("usage", ledger.total(run_id=run.run_id)))
    partition = run.tags.get("dagster/partition")
    if run.job_name == MIGRATION_JOB and partition:
        total = ledger.total(lineage=partition_lineage_key(partition))
        out.write(_usage_line(f"request {partition!r} usage", total))
    elif run.parent_run_id:
        out.write(_usage_line("lineage usage", ledger.total(lineage=run.root_run_id)))


def _usage_line(name: str, total: UsageTotal) -> str:
    tokens = total.usage
    cost = (f"cost {usd_text(total.cost_usd)} USD" if total.cost_usd is not None else
            f"cost unknown ({total.unpriced_calls} calls of a model without a price)")
    return (f"{name}: {total.calls} LLM calls ({total.journaled_calls} from the journal), "
            f"{tokens.total_tokens:,} tokens (input {tokens.input_tokens:,}, cache write "
            f"{tokens.cache_creation_input_tokens:,}, cache read "
            f"{tokens.cache_read_input_tokens:,}, output {tokens.output_tokens:,}), {cost}\n")


def reexecute(
    instance: dg.DagsterInstance, run_id: str, every_step: bool,
    tags: dict[str, str] | None = None,
) -> str:
    """Re-execute ``run_id`` in this process, from failure or every step; return the new run.

    ``tags`` are added over the kept ones (a new budget: ``ecl_dagster.usage.budget_tags``).

    The new run keeps the parent's run config and tags (the partition of an asset run among
    them), as the UI's re-execution does; Python's ``execute_job`` would drop them. Not kept
    (``continuation.inherited_tags``): ``ecl/worker_host`` (the new run executes here, and
    the LLM resource tags it with this host), the parent's review tags, and the tags Dagster
    leaves out of a retry (failure reason, retry number). A run still STARTED whose worker is gone
    from this host (``ecl_dagster.orphans``) is first marked failed, with the reason in its
    event log.

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
    options = (
        dg.ReexecutionOptions(parent_run_id=run_id)
        if every_step
        else dg.ReexecutionOptions.from_failure(run_id, instance)
    )
    job = dg.build_reconstructable_job(
        "ecl_dagster.definitions", "job_by_name", reconstructable_args=(parent.job_name,)
    )
    result = dg.execute_job(
        job, instance, run_config=parent.run_config,
        tags={**inherited_tags(parent), **(tags or {})},
        reexecution_options=options, raise_on_error=False,
    )
    return result.run_id


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ecl`` console script."""
    parser = argparse.ArgumentParser(prog="ecl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="show a run's state, steps and result")
    status.add_argument("run_id")
    again = commands.add_parser("reexecute", help="re-execute a run, from failure by default")
    again.add_argument("run_id")
    again.add_argument("--all", action="store_true", help="re-execute every step")
    again.add_argument("--budget-tokens", help="tokens the lineage may bill in all (run tag "
                       "ecl/budget_tokens; replaces the parent's budget)")
    again.add_argument("--budget-usd", help="USD the lineage may bill in all (run tag "
                       "ecl/budget_usd; replaces the parent's budget)")
    workflows = commands.add_parser("workflows", help="list or show the defined workflows")
    which = workflows.add_subparsers(dest="action", required=True)
    which.add_parser("list", help="one line per workflow")
    show = which.add_parser("show", help="steps, edges, loop bounds and order of one workflow")
    show.add_argument("workflow_id")
    add_analyze_parser(commands)
    add_review_parser(commands)
    add_usage_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "workflows":
        return _workflows(args)
    if not os.environ.get("DAGSTER_HOME"):
        sys.stderr.write("ecl: set DAGSTER_HOME to the instance's directory\n")
        return 2

    with dg.DagsterInstance.get() as instance:
        if args.command == "analyze":
            return analyze(instance, args, sys.stdout)
        if args.command == "review":
            return review(instance, args, sys.stdout, sys.stderr)
        if args.command == "usage":
            return usage(instance, args, sys.stdout, sys.stderr)
        try:
            if args.command == "reexecute":
                tags = budget_tags(args.budget_tokens, args.budget_usd,
                                   names=("--budget-tokens", "--budget-usd"))
                new_run_id = reexecute(instance, args.run_id, args.all, tags)
                return 0 if run_status(instance, new_run_id, sys.stdout) else 1
            return 0 if run_status(instance, args.run_id, sys.stdout) else 1
        except KeyError:
            sys.stderr.write(f"ecl: no run {args.run_id} in the instance at DAGSTER_HOME\n")
            return 2
        except dg.DagsterInvariantViolationError as err:
            sys.stderr.write(f"ecl: cannot re-execute {args.run_id}: {err}\n")
            return 2
        except ValidationError as err:
            sys.stderr.write(f"ecl: {err}\n")
            return 2


def _workflows(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            _list_workflows(sys.stdout)
            return 0
        found = {w.id: w for w in load_workflows(workflows_dir(), default_registry())}
    except WorkflowValidationError as err:
        sys.stderr.write(f"ecl: {err}\n")
        return 2
    if args.workflow_id not in found:
        sys.stderr.write(
            f"ecl: no workflow '{args.workflow_id}' in {workflows_dir()} "
            f"(defined: {', '.join(sorted(found)) or 'none'})\n"
        )
        return 2
    _show_workflow(found[args.workflow_id], sys.stdout)
    return 0
