"""``ecl workflows list|show``: the workflows of the workflows folder (no DAGSTER_HOME needed).

``--format json`` prints what the HTTP API's ``GET /definitions`` and
``GET /definitions/{id}`` return (``ecl_dagster.workflows.views``).
"""

import sys
from typing import TextIO

import click
from click.shell_completion import CompletionItem

from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import (
    RevisionLoop,
    WorkflowDefinition,
    WorkflowValidationError,
    load_workflows,
    topological_order,
)
from ecl_dagster.cli.common import Refused, echo_listing, echo_model, format_option
from ecl_dagster.runs import launching
from ecl_dagster.workflows.jobs import workflows_dir

__all__ = ["complete_workflow", "find", "workflows"]


def find(workflow_id: str) -> WorkflowDefinition:
    """The workflow ``workflow_id``.

    Raises:
        click.BadParameter: No such workflow (exit 2, the defined ones named).
        Refused: A workflow file is invalid (exit 2, file, step and rule named).
    """
    try:
        return launching.find_workflow(workflow_id)
    except launching.UnknownWorkflow as err:
        raise click.BadParameter(f"{err}; the workflows folder is {workflows_dir()}",
                                 param_hint="WORKFLOW") from None
    except WorkflowValidationError as err:
        raise Refused(str(err)) from None


def complete_workflow(ctx: click.Context, param: click.Parameter,
                      incomplete: str) -> list[CompletionItem]:
    """The ids of the workflows that start with ``incomplete``."""
    try:
        defined = load_workflows(workflows_dir(), default_registry())
    except WorkflowValidationError:
        return []
    return [CompletionItem(w.id, help=w.name) for w in defined if w.id.startswith(incomplete)]


def _list(defined: list[WorkflowDefinition], out: TextIO) -> None:
    for workflow in defined:
        loops = ", ".join(f"{loop.max_iterations}x {loop.reviser}" for loop in workflow.loops())
        out.write(
            f"{workflow.id:<24} {len(workflow.steps)} steps  "
            f"{('loop ' + loops) if loops else 'no loop'}  {workflow.name}\n"
        )


def _show(workflow: WorkflowDefinition, out: TextIO) -> None:
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


@click.group()
def workflows() -> None:
    """List or show the workflows of workflows/ (or $ECL_WORKFLOWS_DIR)."""


@workflows.command("list")
@format_option
def list_workflows(fmt: str) -> None:
    """One line per workflow: id, steps, loop, name.

    JSON: what the API's GET /definitions returns; quiet: the ids.
    """
    try:
        defined = load_workflows(workflows_dir(), default_registry())
    except WorkflowValidationError as err:
        raise Refused(str(err)) from None
    from ecl_dagster.workflows.views import workflow_info

    echo_listing(fmt, [workflow_info(w) for w in defined], (w.id for w in defined),
                 lambda: _list(defined, sys.stdout))


@workflows.command("show")
@click.argument("workflow_id", metavar="WORKFLOW", shell_complete=complete_workflow)
@format_option
def show_workflow(workflow_id: str, fmt: str) -> None:
    """A workflow's steps, edges, loop bounds and order.

    JSON: what the API's GET /definitions/{id} returns.
    """
    workflow = find(workflow_id)
    if fmt == "json":
        from ecl_dagster.workflows.views import workflow_detail

        echo_model(workflow_detail(workflow))
    elif fmt == "quiet":
        click.echo(workflow.id)
    else:
        _show(workflow, sys.stdout)
