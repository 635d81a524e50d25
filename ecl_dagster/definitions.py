"""The single ``Definitions`` object of the ECL code location."""

import dagster as dg

from ecl_dagster.io_managers import JsonIOManager
from ecl_dagster.jobs import critique_revise
from ecl_dagster.resources import LLMResource

defs = dg.Definitions(
    jobs=[critique_revise],
    resources={"llm": LLMResource(), "io_manager": JsonIOManager()},
)
