"""``architecture_approval``: a person approves the architecture before the plan is written.

A gate between ``architecture_design`` and ``migration_plan``, asked only when the request
says ``review_architecture``; otherwise it approves at once. Unanswered, the asset is not
materialized: it records an observation with the design to read and the commands that
answer it, the run ends awaiting review (``ecl_dagster.review.awaiting``) and the assets after it
are skipped. The review sensor, or ``ecl review resume``, continues the run from this asset;
a rejection fails it with ``ReviewRejected``, and nothing after it is written. The plan
checks the approval itself (``require_approval``), so a run that selects the plan alone
cannot pass the gate by leaving it out.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from ecl_core.errors import ReviewPending, ReviewRejected
from ecl_core.migration.documents import ArchitectureDesign
from ecl_core.migration.intake import MigrationIntake
from ecl_core.types import Critique
from ecl_dagster.analyzer.settings import MIGRATION_GROUP, MIGRATION_REQUESTS
from ecl_dagster.review.awaiting import awaiting_metadata, review_desk
from ecl_dagster.workflows.step_execution import failure

__all__ = ["architecture_approval", "require_approval"]


@dg.asset(
    group_name=MIGRATION_GROUP,
    partitions_def=MIGRATION_REQUESTS,
    kinds={"python"},
    output_required=False,
    description="A person's approval of the architecture, when the request asks for one "
    "(review_architecture); the plan waits for it without holding a process.",
)
def architecture_approval(
    context: dg.AssetExecutionContext,
    migration_intake: MigrationIntake,
    architecture_design: ArchitectureDesign,
) -> Iterator[Any]:
    """Approve at once, or ask a person (module docstring)."""
    if not migration_intake.request.review_architecture:
        yield dg.Output(
            Critique(decision="pass", critique="No review requested: approved as written."),
            metadata={"review": "not requested"},
        )
        return
    op_context = context.op_execution_context
    review = review_desk(op_context, "gate").ask(
        op_context.get_step_execution_context().step.key,
        f"**Architecture for {migration_intake.request.name}** (target: "
        f"{migration_intake.request.target})\n\n{architecture_design.markdown()}",
    )
    try:
        verdict = review.verdict()
    except ReviewPending:
        yield dg.AssetObservation(
            asset_key=context.asset_key, partition=context.partition_key,
            metadata=awaiting_metadata(op_context, review),
        )
        return
    except ReviewRejected as err:
        raise failure(err, {"review_id": review.id}) from err
    yield dg.Output(verdict, metadata={"review": review.answered(), "review_id": review.id})


def _latest_storage_id(context: dg.AssetExecutionContext, asset: str) -> int | None:
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset),
                              asset_partitions=[context.partition_key]),
        limit=1,
    ).records
    return records[0].storage_id if records else None


def require_approval(context: dg.AssetExecutionContext) -> None:
    """Check that this partition's architecture was approved after it was last written.

    Raises:
        dg.Failure: No approval of the latest ``architecture_design`` (final: no retry).
    """
    design = _latest_storage_id(context, "architecture_design")
    approval = _latest_storage_id(context, "architecture_approval")
    if design is None or approval is None or approval < design:
        raise dg.Failure(
            description=f"the architecture of {context.partition_key!r} is not approved: the "
            "request asks for review_architecture, so materialize architecture_approval (a "
            "person approves it) before migration_plan",
            metadata={"partition": context.partition_key},
            allow_retries=False,
        )
