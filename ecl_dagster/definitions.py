"""The single ``Definitions`` object of the ECL code location."""

import dagster as dg

from ecl_dagster.io_managers import JsonIOManager
from ecl_dagster.jobs import workflow_jobs
from ecl_dagster.resources import LLMResource
from ecl_dagster.sensors import run_failure_alert, topic_request_sensor

defs = dg.Definitions(
    jobs=workflow_jobs(),
    sensors=[topic_request_sensor, run_failure_alert],
    resources={"llm": LLMResource(), "io_manager": JsonIOManager()},
)


def job_by_name(name: str) -> dg.JobDefinition:
    """A job of this code location with its resources bound; a reconstructable target."""
    return defs.get_job_def(name)
