"""The single ``Definitions`` object of the ECL code location, merged from its domains.

- workflows (``ecl_dagster.workflows``): a job per workflow file, and each workflow's
  accepted result as an asset of the Catalog, recorded by its final step;
- analyzer (``ecl_dagster.analyzer``): the Codebase Migration Analyzer's asset graph, its
  job and its request sensor;
- review (``ecl_dagster.review``): the sensor that resumes runs whose review a person answered;
- triggers (``ecl_dagster.triggers``): the topic inbox and the failed-run sensors;
- and what they share: the LLM resource, step outputs as JSON files, and the in-process
  executor (a step in its own process costs about 1.4 s, docs/dagster-notes.md).
"""

import dagster as dg

from ecl_dagster.analyzer import analyzer_defs
from ecl_dagster.resources import LLMResource
from ecl_dagster.review.sensor import review_defs
from ecl_dagster.storage.io_managers import JsonIOManager
from ecl_dagster.triggers.sensors import trigger_defs
from ecl_dagster.workflows.jobs import workflow_defs


def _merged() -> dg.Definitions:
    """Each domain's ``Definitions`` and the shared ones, as one (Dagster loads only one)."""
    workflows = workflow_defs()
    return dg.Definitions.merge(
        workflows,
        analyzer_defs(),
        review_defs(),
        trigger_defs({job.name for job in workflows.jobs or []}),
        dg.Definitions(
            resources={"llm": LLMResource(), "io_manager": JsonIOManager()},
            executor=dg.in_process_executor,
        ),
    )


defs = _merged()


def job_by_name(name: str) -> dg.JobDefinition:
    """A job of this code location with its resources bound; a reconstructable target."""
    return defs.resolve_job_def(name)
