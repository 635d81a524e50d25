"""The jobs of the ECL code location: one per workflow file, compiled by ``build_job``.

``critique_revise`` (``workflows/critique_revise.yaml``) is ECL's reference workflow;
``summarize_document`` summarizes a text or markdown file. Every ``*.yaml`` file in the
workflows folder (``$ECL_WORKFLOWS_DIR``, else ``workflows/`` at the project root) becomes
a job. A broken file does not take the code location down: it becomes a job that shows its
problems and fails if launched (``ecl_dagster.workflows.broken``), and the rest load. Under
``dg check defs`` / ``dagster definitions validate`` (which set
``DAGSTER_IS_DEFS_VALIDATION_CLI=1``) a broken file fails the check instead, with every
problem of every file and its line.
"""

import os
from collections.abc import Collection
from pathlib import Path

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob

from ecl_core.errors import ConfigError
from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import Problem, WorkflowValidationError
from ecl_core.workflow.files import WorkflowFolder, load_workflow, scan_workflows
from ecl_dagster.workflows.assets import workflow_asset_specs
from ecl_dagster.workflows.broken import broken_file_job
from ecl_dagster.workflows.compiler import RUN_RETRY_TAGS, build_job

__all__ = [
    "RUN_RETRY_TAGS",
    "build_critique_revise",
    "compiled_workflows",
    "reconstructable_job",
    "workflow_defs",
    "workflow_jobs",
    "workflows_dir",
]

VALIDATION_ENV_VAR = "DAGSTER_IS_DEFS_VALIDATION_CLI"
"""Set to 1 by ``dagster definitions validate`` and ``dg check defs`` (docs/dagster-notes.md)."""


def workflows_dir() -> Path:
    """``$ECL_WORKFLOWS_DIR``, else ``workflows/`` at the project root."""
    configured = os.environ.get("ECL_WORKFLOWS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "workflows"


def compiled_workflows(
    reserved: Collection[str] = (), folder: Path | None = None,
) -> tuple[WorkflowFolder, list[dg.JobDefinition]]:
    """The workflows folder (or ``folder``) read and compiled, one bad file contained.

    A workflow that reads well but that Dagster refuses to build, or whose job or step ids
    take a name in ``reserved`` (the other domains' jobs and ops), is broken too.

    Returns:
        The folder (its valid workflows, and every broken file's problems) and the jobs of
        the valid workflows, in file order.
    """
    registry = default_registry()
    scan = scan_workflows(folder or workflows_dir(), registry)
    kept, jobs = [], []
    for workflow in scan.workflows:
        taken = sorted(({workflow.id} | {s.id for s in workflow.steps}) & set(reserved))
        try:
            if taken:
                raise ConfigError(f"{', '.join(taken)}: already the name of a job or op of "
                                  "this code location (the analyzer's); rename it")
            jobs.append(build_job(workflow, registry))
            kept.append(workflow)
        except Exception as err:  # whatever Dagster refuses is this file's problem alone
            scan.broken[workflow.source] = [Problem(
                file=workflow.source, step=f"workflow '{workflow.id}'",
                rule=f"it cannot be compiled into a Dagster job: {err}")]
            scan.broken_ids[workflow.source] = workflow.id
    scan.workflows[:] = kept
    return scan, jobs


def workflow_jobs() -> list[dg.JobDefinition]:
    """A job for every valid workflow file, sorted by file name."""
    return compiled_workflows()[1]


def workflow_defs(reserved: Collection[str] = ()) -> dg.Definitions:
    """The workflows domain: a job per workflow file and each one's result asset.

    A broken file's job shows its problems instead (``broken_file_job``); it has no asset.

    Args:
        reserved: Names the other domains' jobs and ops take (``compiled_workflows``).

    Raises:
        WorkflowValidationError: A file is broken and this is a definitions check
            (``DAGSTER_IS_DEFS_VALIDATION_CLI`` set): every problem of every file.
    """
    scan, jobs = compiled_workflows(reserved)
    if scan.broken and os.environ.get(VALIDATION_ENV_VAR):
        raise WorkflowValidationError(scan.problems)
    taken = {job.name for job in jobs} | set(reserved)
    broken = []
    for file, problems in scan.broken.items():
        job = broken_file_job(file, scan.broken_ids[file], problems, taken)
        taken.add(job.name)
        broken.append(job)
    return dg.Definitions(jobs=[*jobs, *broken], assets=workflow_asset_specs(jobs))


def build_critique_revise(
    executor_def: dg.ExecutorDefinition = dg.in_process_executor,
) -> dg.JobDefinition:
    """``critique_revise`` compiled with another executor (e.g. ``dg.multiprocess_executor``)."""
    path = workflows_dir() / "critique_revise.yaml"
    return build_job(load_workflow(path), default_registry(), executor_def=executor_def)


def reconstructable_job(name: str) -> ReconstructableJob:
    """Job ``name`` of the code location as a target another process can rebuild.

    What ``execute_job`` and ``execute_run`` need to execute a run of it in this process
    (``ecl_dagster.definitions.job_by_name``).
    """
    return dg.build_reconstructable_job(
        "ecl_dagster.definitions", "job_by_name", reconstructable_args=(name,)
    )
