"""``ecl workflows list|show|check|new``: the workflows folder's files (no DAGSTER_HOME needed).

``--format json`` prints what the HTTP API's ``GET /definitions`` and
``GET /definitions/{id}`` return (``ecl_dagster.workflows.views``). A broken file never
hides the others: ``list`` shows the valid ones and each broken file's problems (file:line)
on stderr, and exits 2; ``check`` reports every problem of every file and exits 1.
"""

import sys
from pathlib import Path
from typing import TextIO

import click
from click.shell_completion import CompletionItem

from ecl_core.errors import ConfigError
from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import (
    RevisionLoop,
    WorkflowDefinition,
    WorkflowValidationError,
    topological_order,
)
from ecl_core.workflow.files import WorkflowFolder, scan_workflows
from ecl_core.workflow.scaffold import new_workflow_text
from ecl_dagster.cli.common import Refused, echo_json, echo_listing, echo_model, format_option
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
    """The ids of the valid workflows that start with ``incomplete``."""
    defined = scan_workflows(workflows_dir(), default_registry()).workflows
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


def _compiled(folder: Path | None = None) -> WorkflowFolder:
    """The workflows folder (or ``folder``) as the code location compiles it."""
    from ecl_dagster.workflows.jobs import compiled_workflows
    from ecl_dagster.workflows.reserved import taken_names

    return compiled_workflows(taken_names(), folder)[0]


def _broken(scan: WorkflowFolder, out: TextIO) -> None:
    for file, problems in sorted(scan.broken.items()):
        out.write(f"broken: {file} ({len(problems)} problem(s)):\n")
        for problem in problems:
            out.write(f"  {problem}\n")


@click.group()
def workflows() -> None:
    """List, show, check or create the workflows of workflows/ (or $ECL_WORKFLOWS_DIR)."""


@workflows.command("list")
@format_option
def list_workflows(fmt: str) -> None:
    """One line per workflow: id, steps, loop, name; then each broken file's problems.

    JSON: what the API's GET /definitions returns; quiet: the ids. Exits 2 when a file is
    broken (its problems on stderr, with file and line).
    """
    scan = _compiled()
    from ecl_dagster.workflows.views import workflow_info

    defined = scan.workflows
    echo_listing(fmt, [workflow_info(w) for w in defined], (w.id for w in defined),
                 lambda: _list(defined, sys.stdout))
    if scan.broken:
        _broken(scan, sys.stderr)
        raise Refused(f"{len(scan.broken)} workflow file(s) broken; fix them, then "
                      "`ecl workflows check`")


@workflows.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@format_option
def check_workflows(path: Path | None, fmt: str) -> None:
    """Check every workflow file of PATH (a file or folder; default the workflows folder).

    Every problem of every file, with file, line, step and rule; exits 1 if there is one.
    JSON: {"valid": [ids], "problems": [{file, line, step, rule}]}.
    """
    scan = (scan_workflows(path, default_registry()) if path is not None and path.is_file()
            else _compiled(path))
    if fmt == "json":
        echo_json({"valid": [w.id for w in scan.workflows],
                   "problems": [p.model_dump() for p in scan.problems]})
    elif fmt == "quiet":
        for problem in scan.problems:
            click.echo(str(problem))
    else:
        for workflow in scan.workflows:
            click.echo(f"ok      {workflow.source} ({workflow.id})")
        _broken(scan, sys.stdout)
        click.echo(f"{len(scan.workflows) + len(scan.broken)} file(s), "
                   f"{len(scan.broken)} broken", err=True)
    if scan.broken:
        sys.exit(1)


@workflows.command("new")
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write NAME.yaml [default: the workflows folder].")
def new_workflow(name: str, folder: Path | None) -> None:
    """Write NAME.yaml: a critique-revise workflow that runs as written, to make your own.

    Prints the file's path; refuses (exit 2) a name that cannot name a job, or a file that
    exists.
    """
    try:
        text = new_workflow_text(name)
    except ConfigError as err:
        raise click.BadParameter(str(err), param_hint="NAME") from None
    target = (folder or workflows_dir()) / f"{name}.yaml"
    if target.exists():
        raise Refused(f"{target} exists; choose another NAME or edit it")
    target.parent.mkdir(parents=True, exist_ok=True)
    before = set(_compiled(target.parent).broken)
    target.write_text(text, encoding="utf-8")
    after = _compiled(target.parent).broken
    if set(after) - before:
        target.unlink()
        raise Refused("the new workflow would break what loads here: " + "; ".join(
            str(p) for file in sorted(set(after) - before) for p in after[file]))
    click.echo(str(target))
    click.echo(f"next: ecl run {name} --input '{{\"topic\": \"What a database index does\"}}'"
               " --wait   (offline; add --provider anthropic for Claude)", err=True)


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
