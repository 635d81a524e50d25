"""The Codebase Migration Analyzer as a Dagster asset graph (group ``migration``).

``migration_intake`` -> ``codebase_facts`` -> ``codebase_analysis`` -> ``architecture_design``
-> ``architecture_approval`` -> ``migration_plan`` -> ``implementation_specs`` ->
``quality_assessment`` -> ``migration_delivery``, one dynamic partition per analysis request
(``migration_requests``), each LLM document refined by ECL's critique-revise loop and gated by
asset checks; the approval is a person's when the request asks for it (``approval``).
"""

import dagster as dg

from ecl_dagster.analyzer.approval import architecture_approval
from ecl_dagster.analyzer.delivery import migration_delivery, quality_assessment
from ecl_dagster.analyzer.documents_graph import (
    architecture_design,
    codebase_analysis,
    implementation_specs,
    migration_plan,
)
from ecl_dagster.analyzer.intake import codebase_facts, migration_intake
from ecl_dagster.analyzer.sensor import MIGRATION_JOB, migration_request_sensor
from ecl_dagster.analyzer.settings import MIGRATION_GROUP, MIGRATION_REQUESTS, MigrationSettings
from ecl_dagster.workflows.compiler import RUN_RETRY_TAGS

__all__ = [
    "MIGRATION_ASSETS",
    "analyzer_defs",
    "MIGRATION_REQUESTS",
    "MigrationSettings",
    "migration_job",
    "migration_request_sensor",
]

MIGRATION_ASSETS = [
    migration_intake,
    codebase_facts,
    codebase_analysis,
    architecture_design,
    architecture_approval,
    migration_plan,
    implementation_specs,
    quality_assessment,
    migration_delivery,
]

migration_job = dg.define_asset_job(
    MIGRATION_JOB,
    selection=dg.AssetSelection.groups(MIGRATION_GROUP),
    executor_def=dg.in_process_executor,
    tags=RUN_RETRY_TAGS,
    description="Materialize the whole migration graph for one analysis request.",
)

def analyzer_defs() -> dg.Definitions:
    """The analyzer domain: its assets and their checks, its job, its sensor and its settings."""
    return dg.Definitions(
        assets=MIGRATION_ASSETS,
        jobs=[migration_job],
        sensors=[migration_request_sensor],
        resources={"migration": MigrationSettings()},
    )
