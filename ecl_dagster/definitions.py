"""The single ``Definitions`` object of the ECL code location.

Its jobs are the workflow files (``ecl_dagster.jobs``); the topic-request sensor starts
``critique_revise`` runs, so it is defined only when that workflow is.
"""

import dagster as dg

from ecl_dagster.io_managers import JsonIOManager
from ecl_dagster.jobs import workflow_jobs
from ecl_dagster.resources import LLMResource
from ecl_dagster.sensors import run_failure_alert, topic_request_sensor

_jobs = workflow_jobs()
_sensors = [run_failure_alert]
if "critique_revise" in {job.name for job in _jobs}:
    _sensors.insert(0, topic_request_sensor)

defs = dg.Definitions(
    jobs=_jobs,
    sensors=_sensors,
    resources={"llm": LLMResource(), "io_manager": JsonIOManager()},
)


def job_by_name(name: str) -> dg.JobDefinition:
    """A job of this code location with its resources bound; a reconstructable target."""
    return defs.get_job_def(name)
