"""The single ``Definitions`` object of the ECL code location.

Its jobs are the workflow files (``ecl_dagster.jobs``); the topic-request sensor starts
``critique_revise`` runs, so it is defined only when that workflow is; the review sensor
resumes runs whose review a person answered. Its assets are the
Codebase Migration Analyzer (``ecl_dagster.assets``), materialized in process like the
jobs (a step in its own process costs about 1.4 s, docs/design.md), and each workflow's
accepted result (``ecl_dagster.workflow_assets``), recorded by its final step.
"""

import dagster as dg

from ecl_dagster.assets import (
    MIGRATION_ASSETS,
    MigrationSettings,
    migration_job,
    migration_request_sensor,
)
from ecl_dagster.io_managers import JsonIOManager
from ecl_dagster.jobs import workflow_jobs
from ecl_dagster.resources import LLMResource
from ecl_dagster.review_sensor import review_sensor
from ecl_dagster.sensors import failed_run_usage, run_failure_alert, topic_request_sensor
from ecl_dagster.workflow_assets import workflow_asset_specs

_jobs = workflow_jobs()
_sensors: list[dg.SensorDefinition] = [
    migration_request_sensor, review_sensor, run_failure_alert, failed_run_usage,
]
if "critique_revise" in {job.name for job in _jobs}:
    _sensors.insert(0, topic_request_sensor)

defs = dg.Definitions(
    assets=[*MIGRATION_ASSETS, *workflow_asset_specs(_jobs)],
    jobs=[*_jobs, migration_job],
    sensors=_sensors,
    resources={
        "llm": LLMResource(),
        "migration": MigrationSettings(),
        "io_manager": JsonIOManager(),
    },
    executor=dg.in_process_executor,
)


def job_by_name(name: str) -> dg.JobDefinition:
    """A job of this code location with its resources bound; a reconstructable target."""
    return defs.resolve_job_def(name)
