"""Start, re-execute and cancel runs the way Dagster's own UI and CLI do, for ``ecl`` and the API.

Every run goes through the instance: a submitted run enters the run coordinator's queue
(the daemon launches it, so pools, run retries and run monitoring apply), a re-execution is
Dagster's ``create_reexecuted_run`` (the UI's "re-execute from failure"), a cancellation is
the run coordinator's ``cancel_run`` (the UI's "terminate"). Only ``execute_here`` runs a
job in the caller's process: ``ecl run --wait`` on an embedded instance with no daemon.

A submission needs the code location's remote job, from a workspace
(``open_workspace``): the deployment's ``workspace.yaml`` (the local stack writes one into
DAGSTER_HOME), else the project's. Two Dagster internals are used, pinned with dagster
1.13.27 (docs/dagster-notes.md): the body of ``dagster job launch`` (``_create_run``) and
``WorkspaceProcessContext``.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._cli.job import _create_run
from dagster._core.execution.plan.resume_retry import ReexecutionStrategy
from dagster._core.remote_origin import RemoteJobOrigin
from dagster._core.storage.tags import (
    AUTO_RETRY_RUN_ID_TAG,
    PARENT_RUN_ID_TAG,
    RESUME_RETRY_TAG,
    ROOT_RUN_ID_TAG,
    WILL_RETRY_TAG,
)
from dagster._core.workspace.context import WorkspaceProcessContext, WorkspaceRequestContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.controller import get_daemon_statuses
from pydantic import BaseModel

from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import (
    WorkflowDefinition,
    WorkflowValidationError,
    entry_step,
    input_model,
)
from ecl_core.workflow.files import scan_workflows
from ecl_dagster.review.continuation import inherited_tags
from ecl_dagster.runs.resume import ADDED_STEPS_TAG, ResumeSelection, resume_selection
from ecl_dagster.workflows.broken import BROKEN_TAG
from ecl_dagster.workflows.jobs import reconstructable_job, workflows_dir

__all__ = [
    "INFO_CONSOLE",
    "LOCATION_NAME",
    "JobNotLoaded",
    "NotCancelable",
    "PathOutsideRoot",
    "UnknownWorkflow",
    "cancel",
    "daemon_retry",
    "daemon_running",
    "execute_here",
    "find_workflow",
    "open_workspace",
    "reexecute_queued",
    "submit",
    "workflow_run_config",
]

LOCATION_NAME = "ecl"
PROJECT_WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"


class UnknownWorkflow(LookupError):
    """No workflow has this id; the message lists the defined ones."""


class NotCancelable(RuntimeError):
    """The run has ended already; the message gives its state."""


class JobNotLoaded(LookupError):
    """The code location has no job of this name, even after a reload.

    It failed to load, or its workflows folder differs from this process's: the message
    says which.
    """


def find_workflow(workflow_id: str) -> WorkflowDefinition:
    """The workflow ``workflow_id`` of the workflows folder (``ecl_dagster.workflows.jobs``).

    A broken file elsewhere in the folder does not matter (``scan_workflows``).

    Raises:
        UnknownWorkflow: No such workflow.
        WorkflowValidationError: The file that declares this id (or, when its id cannot be
            read, is named after it) is broken; the problems name file, line, step and rule.
    """
    scan = scan_workflows(workflows_dir(), default_registry())
    found = {w.id: w for w in scan.workflows}
    if workflow_id in found:
        return found[workflow_id]
    broken = [scan.broken[file] for file, name in scan.broken_ids.items() if name == workflow_id]
    if broken:
        raise WorkflowValidationError(broken[0])
    raise UnknownWorkflow(
        f"no workflow {workflow_id!r} (defined: {', '.join(sorted(found)) or 'none'})"
    )


class PathOutsideRoot(ValueError):
    """An input path names a file outside the folder it must be in.

    Attributes:
        field: The input field.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def workflow_run_config(
    workflow: WorkflowDefinition, given: Mapping[str, Any], paths_inside: Path | None = None,
) -> dict[str, Any]:
    """The run config that gives ``given`` to the workflow as its input.

    The input goes to the workflow's entry step as op config (``ecl_dagster.workflows.compiler``),
    after the workflow's input model checked it. With ``paths_inside``, every field the
    model marks as a path (JSON schema ``"format": "path"``) is resolved in that folder
    and must stay in it (symbolic links followed); the run gets the absolute path.

    Raises:
        pydantic.ValidationError: The input does not fit the input model; its ``errors()``
            name each field and rule.
        ValidationError: The input model's own checks refused it (``ecl_core.errors``).
        PathOutsideRoot: A path field leads outside ``paths_inside``.
    """
    model: type[BaseModel] = input_model(workflow)
    checked = model.model_validate(dict(given)).model_dump(mode="json")
    if paths_inside is not None:
        root = paths_inside.resolve()
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            value = checked.get(name)
            if isinstance(extra, dict) and extra.get("format") == "path" and isinstance(
                    value, str):
                resolved = (root / value).resolve()
                if not resolved.is_relative_to(root):
                    raise PathOutsideRoot(name, f"{name}: {value!r} is outside the documents "
                                          f"folder {root}; name a file in it")
                checked[name] = str(resolved)
    return {"ops": {entry_step(workflow): {"config": checked}}}


def workspace_file(home: Path) -> Path:
    """``$DAGSTER_HOME/workspace.yaml`` when the deployment has one, else the project's."""
    deployed = home / "workspace.yaml"
    return deployed if deployed.is_file() else PROJECT_WORKSPACE


@contextmanager
def open_workspace(
    instance: dg.DagsterInstance, path: Path | None = None
) -> Iterator[WorkspaceProcessContext]:
    """The code locations of ``path`` (default ``workspace_file``), loaded once."""
    target = WorkspaceFileTarget(
        paths=[str(path or workspace_file(Path(instance.root_directory)))]
    )
    # A python_module workspace starts a code server whose INFO lines would mix with a
    # command's output (``ecl run --format json``).
    with WorkspaceProcessContext(instance, target, code_server_log_level="WARNING") as workspace:
        yield workspace


def _location_name(request: WorkspaceRequestContext) -> str:
    entries = request.get_code_location_entries()
    return LOCATION_NAME if LOCATION_NAME in entries else next(iter(entries), LOCATION_NAME)


def _loaded(request: WorkspaceRequestContext, job_name: str) -> Any:
    """The code location, if it loaded and has job ``job_name`` (not a broken file's); else None."""
    entry = request.get_code_location_entries().get(_location_name(request))
    location = entry.code_location if entry is not None else None
    if location is None:
        return None
    (repo,) = location.get_repositories().values()
    if not repo.has_job(job_name) or BROKEN_TAG in repo.get_full_job(job_name).tags:
        return None
    return location


def submit(
    instance: dg.DagsterInstance,
    workspace: WorkspaceProcessContext,
    job_name: str,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> dg.DagsterRun:
    """Create a run of ``job_name`` and hand it to the run coordinator (``dagster job launch``).

    A job the loaded code location lacks (a workflow file added since it loaded) makes
    the code location reload once, as the UI's "Reload" does.

    Raises:
        DagsterUserCodeUnreachableError: The code location cannot be reached.
        DagsterInvalidConfigError: The run config does not fit the job's config schema.
        JobNotLoaded: The code location failed to load, or has no such job after a reload.
    """
    request = workspace.create_request_context()
    location = _loaded(request, job_name)
    if location is None:
        workspace.reload_code_location(_location_name(request))
        request = workspace.create_request_context()
        location = _loaded(request, job_name)
    if location is None:
        entry = request.get_code_location_entries().get(_location_name(request))
        error = entry.load_error if entry is not None else None
        last = (error.message.strip().splitlines() or ["(no message)"])[-1] if error else ""
        raise JobNotLoaded(
            f"the code location failed to load: {last}" if error is not None else
            f"the code location has no runnable job {job_name!r}: its workflows folder is not "
            "this process's, or its file is broken there; fix it and reload (the UI's Reload)"
        )
    (repo,) = location.get_repositories().values()
    remote_job = repo.get_full_job(job_name)
    run = _create_run(
        instance=instance, code_location=location, remote_repo=repo, remote_job=remote_job,
        run_config=run_config, tags=dict(tags), op_selection=None, run_id=None,
    )
    return instance.submit_run(run.run_id, request)


def reexecute_queued(
    instance: dg.DagsterInstance,
    workspace: WorkspaceProcessContext,
    parent: dg.DagsterRun,
    every_step: bool,
    tags: Mapping[str, str],
) -> dg.DagsterRun:
    """Re-execute ``parent`` through the run queue, from failure or every step (the UI's way).

    From failure, the steps are Dagster's selection plus the mapped steps it misses
    (``ecl_dagster.runs.resume``); the new run's tag ``ecl/resume_added_steps`` names them.

    The new run keeps the parent's run config and ``inherited_tags``, plus ``tags``.

    Raises:
        DagsterInvariantViolationError: The parent cannot be re-executed from failure (it
            has not failed), or it was executed outside a code location.
    """
    origin: RemoteJobOrigin | None = parent.remote_job_origin
    if origin is None:
        raise dg.DagsterInvariantViolationError(
            "it was executed in a process of its own (not through a code location); "
            "re-execute it with `ecl reexecute` on the same instance"
        )
    request = workspace.create_request_context()
    repository = origin.repository_origin
    location = request.get_code_location(repository.code_location_origin.location_name)
    repo = location.get_repository(repository.repository_name)
    remote_job = repo.get_full_job(parent.job_name)
    selection = None if every_step else resume_selection(instance, parent)
    if selection is not None and selection.added:
        run = _reexecuted_with(instance, request, location, remote_job, parent, selection,
                               {**inherited_tags(parent), **tags})
        return instance.submit_run(run.run_id, request)
    run = instance.create_reexecuted_run(
        request_context=request, parent_run=parent, code_location=location,
        remote_job=remote_job,
        strategy=ReexecutionStrategy.ALL_STEPS if every_step else ReexecutionStrategy.FROM_FAILURE,
        extra_tags={**inherited_tags(parent), **tags}, use_parent_run_tags=False,
    )
    return instance.submit_run(run.run_id, request)


def _reexecuted_with(
    instance: dg.DagsterInstance, request: WorkspaceRequestContext, location: Any,
    remote_job: Any, parent: dg.DagsterRun, selection: ResumeSelection, tags: dict[str, str],
) -> dg.DagsterRun:
    """A re-execution of ``parent`` that runs ``selection``'s steps.

    What ``DagsterInstance.create_reexecuted_run`` does from failure (dagster 1.13.27), with
    ECL's selection in place of Dagster's (``ecl_dagster.runs.resume``).
    """
    root = parent.root_run_id or parent.run_id
    plan = location.get_execution_plan(
        remote_job, parent.run_config, step_keys_to_execute=selection.step_keys,
        known_state=selection.known_state, instance=instance,
    )
    return instance.create_run(
        job_name=parent.job_name, run_id=None, run_config=parent.run_config,
        resolved_op_selection=parent.resolved_op_selection,
        step_keys_to_execute=selection.step_keys, status=dg.DagsterRunStatus.NOT_STARTED,
        tags={**remote_job.tags, **tags, PARENT_RUN_ID_TAG: parent.run_id,
              ROOT_RUN_ID_TAG: root, RESUME_RETRY_TAG: "true",
              ADDED_STEPS_TAG: ",".join(selection.added)[:1000]},
        root_run_id=root, parent_run_id=parent.run_id, job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan.execution_plan_snapshot,
        parent_job_snapshot=remote_job.parent_job_snapshot, op_selection=parent.op_selection,
        asset_selection=remote_job.asset_selection,
        asset_check_selection=remote_job.asset_check_selection,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(), asset_graph=request.asset_graph,
    )


INFO_CONSOLE: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
"""Run config for Dagster's console logger at INFO: a run executed in a person's terminal
shows its steps' events, not the DEBUG lines of every engine event."""


def execute_here(
    instance: dg.DagsterInstance,
    job_name: str,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
) -> str:
    """Execute a run of ``job_name`` in this process; return its id once it ended.

    Dagster's console logger prints the run's events at INFO (``INFO_CONSOLE``), not DEBUG.
    """
    job = reconstructable_job(job_name)
    result = dg.execute_job(job, instance, run_config={**run_config, **INFO_CONSOLE},
                            tags=dict(tags), raise_on_error=False)
    return result.run_id


def daemon_retry(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """The daemon's run retry of ``run``: its run id, ``""`` while it is pending, else None.

    A run that failed without a step failure (its worker died) is tagged
    ``dagster/will_retry`` when its job allows a run retry, and the daemon then launches one
    (``dagster/auto_retry_run_id``); a re-execution beside it would run the same steps twice.
    """
    if run.tags.get(WILL_RETRY_TAG) != "true":
        return None
    retry = run.tags.get(AUTO_RETRY_RUN_ID_TAG)
    if retry:
        return retry
    # The daemon retries only a run it can launch again: one from a code location.
    return "" if run.remote_job_origin is not None and daemon_running(instance) else None


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """Whether a daemon dequeues this instance's runs (its heartbeat is recent)."""
    statuses = get_daemon_statuses(instance, ["QUEUED_RUN_COORDINATOR"], ignore_errors=True)
    status = statuses.get("QUEUED_RUN_COORDINATOR")
    return bool(status and status.healthy)


def cancel(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Cancel a queued run or terminate a running one (the UI's "terminate").

    Returns whether the run coordinator accepted it.

    Raises:
        NotCancelable: The run has ended.
    """
    if run.is_finished:
        raise NotCancelable(f"run {run.run_id} has ended: {run.status.value}")
    return bool(instance.run_coordinator.cancel_run(run.run_id))
