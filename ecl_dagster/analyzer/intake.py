"""Steps 0 and 1a: the validated request bundle and the codebase's measured facts (no LLM)."""

import dagster as dg

from ecl_core.codebase.facts import CodebaseFacts, compute_facts
from ecl_core.codebase.render import facts_markdown
from ecl_core.codebase.tree import scan_tree
from ecl_core.errors import ConfigError, ValidationError
from ecl_core.migration.intake import MigrationIntake, take_in
from ecl_dagster.analyzer.settings import MIGRATION_GROUP, MIGRATION_REQUESTS, MigrationSettings
from ecl_dagster.workflows.step_execution import failure

__all__ = ["codebase_facts", "migration_intake"]


def _skipped_table(intake: MigrationIntake) -> str:
    rows = "\n".join(f"| `{s.path}` | {s.reason} |" for s in intake.code.skipped[:200])
    return f"| Skipped path | Why |\n| --- | --- |\n{rows}" if rows else "Nothing was skipped."


@dg.asset(
    group_name=MIGRATION_GROUP,
    partitions_def=MIGRATION_REQUESTS,
    kinds={"python"},
    description="The validated input bundle: the request of this partition, its codebase "
    "read under the ignore rules and limits, its vision and deployment files.",
)
def migration_intake(
    context: dg.AssetExecutionContext, migration: MigrationSettings
) -> dg.Output[MigrationIntake]:
    """Read the request stored under the partition key and check it against the disk."""
    try:
        request = migration.requests(context.instance).get(context.partition_key)
        intake = take_in(request, migration.limits())
    except (ConfigError, ValidationError) as err:
        raise failure(err, {"partition": context.partition_key}) from err
    return dg.Output(intake, metadata={
        "code_path": dg.MetadataValue.path(intake.code.root),
        "target": intake.request.target,
        "files": intake.code.files,
        "bytes": intake.code.total_bytes,
        "skipped": len(intake.code.skipped),
        "skipped_paths": dg.MetadataValue.md(_skipped_table(intake)),
        "new_code_path": intake.new_code.root if intake.new_code else "",
        "request": dg.MetadataValue.json(intake.request.model_dump(mode="json")),
    })


@dg.asset(
    group_name=MIGRATION_GROUP,
    partitions_def=MIGRATION_REQUESTS,
    kinds={"python"},
    description="Deterministic facts, no LLM: lines per language, complexity per function "
    "(lizard), dependency manifests, tests and the test-to-code ratio, entry points.",
)
def codebase_facts(
    context: dg.AssetExecutionContext, migration: MigrationSettings,
    migration_intake: MigrationIntake,
) -> dg.Output[CodebaseFacts]:
    """Measure the intake's tree."""
    intake = migration_intake
    try:
        facts = compute_facts(scan_tree(intake.code.root, migration.limits(), field="code_path"))
    except ValidationError as err:
        raise failure(err, {"partition": context.partition_key}) from err
    top = facts.most_complex[0].cyclomatic_complexity if facts.most_complex else 0
    return dg.Output(facts, metadata={
        "facts": dg.MetadataValue.md(facts_markdown(facts)),
        "files": facts.files,
        "code_lines": facts.code_lines,
        "functions": facts.functions,
        "average_complexity": dg.MetadataValue.float(round(facts.average_complexity, 2)),
        "highest_complexity": top,
        "test_ratio": dg.MetadataValue.float(round(facts.test_ratio, 3)),
        "manifests": len(facts.manifests),
        "entry_points": len(facts.entry_points),
    })
