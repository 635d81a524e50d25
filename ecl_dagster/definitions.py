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

from ecl_dagster.resources import LLMResource
from ecl_dagster.storage.io_managers import JsonIOManager
from ecl_dagster.triggers.sensors import trigger_defs
from ecl_dagster.workflows.broken import BROKEN_TAG
from ecl_dagster.workflows.jobs import workflow_defs
from ecl_dagster.workflows.reserved import other_domains, taken_names


def _merged() -> dg.Definitions:
    """Each domain's ``Definitions`` and the shared ones, as one (Dagster loads only one)."""
    others = other_domains()
    workflows = workflow_defs(reserved=taken_names(*others))
    valid = {job.name for job in workflows.jobs or []
             if isinstance(job, dg.JobDefinition) and BROKEN_TAG not in job.tags}
    return dg.Definitions.merge(
        workflows,
        *others,
        trigger_defs(valid),
        dg.Definitions(
            resources={"llm": LLMResource(), "io_manager": JsonIOManager()},
            executor=dg.in_process_executor,
        ),
    )


defs = _merged()


def job_by_name(name: str) -> dg.JobDefinition:
    """A job of this code location with its resources bound; a reconstructable target."""
    return defs.resolve_job_def(name)
