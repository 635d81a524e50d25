"""A code location whose critique_revise runs each step in its own process."""

import dagster as dg

from ecl_dagster import definitions
from ecl_dagster.workflows.jobs import build_critique_revise

defs = dg.Definitions(
    jobs=[build_critique_revise(dg.multiprocess_executor)],
    resources=definitions.defs.resources,
)
