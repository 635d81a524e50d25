"""The jobs of the ECL code location: one per workflow file, compiled by ``build_job``.

``critique_revise`` (``workflows/critique_revise.yaml``) is ECL's reference workflow;
``summarize_document`` summarizes a text or markdown file. Every ``*.yaml`` file in the
workflows folder (``$ECL_WORKFLOWS_DIR``, else ``workflows/`` at the project root) becomes
a job, so an invalid file fails the code location's load with ``validate()``'s message.
"""

import os
from pathlib import Path

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob

from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import load_workflow, load_workflows
from ecl_dagster.workflows.assets import workflow_asset_specs
from ecl_dagster.workflows.compiler import RUN_RETRY_TAGS, build_job

__all__ = [
    "RUN_RETRY_TAGS",
    "build_critique_revise",
    "reconstructable_job",
    "workflow_defs",
    "workflow_jobs",
    "workflows_dir",
]


def workflows_dir() -> Path:
    """``$ECL_WORKFLOWS_DIR``, else ``workflows/`` at the project root."""
    configured = os.environ.get("ECL_WORKFLOWS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "workflows"


def workflow_jobs() -> list[dg.JobDefinition]:
    """A job for every workflow file, sorted by file name.

    Raises:
        WorkflowValidationError: A file is invalid; the message names file, step and rule.
    """
    registry = default_registry()
    return [build_job(w, registry) for w in load_workflows(workflows_dir(), registry)]


def workflow_defs() -> dg.Definitions:
    """The workflows domain: a job per workflow file and each one's result asset.

    Raises:
        WorkflowValidationError: A file is invalid (``workflow_jobs``).
    """
    jobs = workflow_jobs()
    return dg.Definitions(jobs=jobs, assets=workflow_asset_specs(jobs))


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
