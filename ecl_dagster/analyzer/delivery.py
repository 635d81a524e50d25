"""Steps 5 and 6: the quality assessment of the migrated code, and the delivery package."""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from ecl_core.codebase.facts import CodebaseFacts, compute_facts
from ecl_core.codebase.render import facts_markdown
from ecl_core.codebase.tree import scan_tree
from ecl_core.errors import ValidationError
from ecl_core.migration.delivery import assemble, spec_file_name
from ecl_core.migration.documents import (
    ArchitectureDesign,
    CodebaseAnalysis,
    DeliveryReport,
    ImplementationSpecs,
    MigrationPlan,
    QualityAssessment,
)
from ecl_core.migration.intake import MigrationIntake
from ecl_core.migration.prompting import document_variables
from ecl_core.types import StepMetadata
from ecl_dagster.analyzer.documents import (
    Written,
    check_results,
    document_check_specs,
    document_metadata,
    fitted_excerpts,
    partition_lineage,
    prompts_version,
    write_document,
)
from ecl_dagster.analyzer.documents_graph import LLM_ASSET_OPTIONS
from ecl_dagster.analyzer.settings import MigrationSettings
from ecl_dagster.resources import LLMResource
from ecl_dagster.usage.tags import cost_table, usage_ledger
from ecl_dagster.workflows.step_execution import failure

__all__ = ["NOT_REQUESTED", "migration_delivery", "quality_assessment"]

NOT_REQUESTED = (
    "No migrated code was named (`new_code_path`), so there is nothing to assess yet: the "
    "plan and the specs stand on their own. Name the new code's folder in the request "
    "(`ecl analyze ... --new-code PATH`) to assess it against them."
)


@dg.asset(
    **LLM_ASSET_OPTIONS,
    check_specs=document_check_specs("quality_assessment"),
    code_version=prompts_version("quality_assessment"),
    description="The migrated code (the request's new_code_path) measured with the same "
    "scanner and assessed against the plan and specs; without it, says so plainly.",
)
def quality_assessment(
    context: dg.AssetExecutionContext,
    llm: LLMResource,
    migration: MigrationSettings,
    migration_intake: MigrationIntake,
    migration_plan: MigrationPlan,
    implementation_specs: ImplementationSpecs,
) -> Iterator[Any]:
    """Assess the new code, or record that none was named; what follows runs either way."""
    if migration_intake.new_code is None:
        document = QualityAssessment(status="not_requested", summary=NOT_REQUESTED)
        written = [Written("quality_assessment", document)]
        yield dg.Output(document, metadata={**document_metadata(written, []), "assessed": False})
        yield from check_results("quality_assessment", written, [])
        return
    try:
        tree = scan_tree(migration_intake.new_code.root, migration.limits(), field="new_code_path")
    except ValidationError as err:
        raise failure(err, {"partition": context.partition_key}) from err
    new_facts: CodebaseFacts = compute_facts(tree)
    variables = document_variables(
        migration_intake,
        {
            "plan": migration_plan.markdown(),
            "specs": implementation_specs.markdown(),
            "new_facts": facts_markdown(new_facts),
        },
        {"plan": migration_plan, "specs": implementation_specs, "new_facts": new_facts},
    )
    variables["new_excerpts"] = fitted_excerpts(
        llm, migration, QualityAssessment, "quality_assessment", variables, "new_excerpts",
        tree, new_facts,
    )
    calls: list[StepMetadata] = []
    refined = write_document(
        context, llm, migration, QualityAssessment, "quality_assessment", variables, calls,
        tree_paths=new_facts.paths,
    )
    written = [Written("quality_assessment", refined.document, refined)]
    yield dg.Output(refined.document, metadata={
        **document_metadata(written, calls),
        "assessed": True,
        "new_code_facts": dg.MetadataValue.md(facts_markdown(new_facts)),
    })
    yield from check_results("quality_assessment", written, new_facts.paths)


@dg.asset(
    **LLM_ASSET_OPTIONS,
    check_specs=document_check_specs("migration_delivery"),
    code_version=prompts_version("migration_delivery"),
    description="The final write-up (summary, findings, plan, risks), and every document "
    "assembled into one folder and one zip archive, whose paths are in the metadata, with "
    "what the request's LLM calls cost (07_llm_cost.md, per step and model).",
)
def migration_delivery(
    context: dg.AssetExecutionContext,
    llm: LLMResource,
    migration: MigrationSettings,
    migration_intake: MigrationIntake,
    codebase_facts: CodebaseFacts,
    codebase_analysis: CodebaseAnalysis,
    architecture_design: ArchitectureDesign,
    migration_plan: MigrationPlan,
    implementation_specs: ImplementationSpecs,
    quality_assessment: QualityAssessment,
) -> Iterator[Any]:
    """Write the report and package the deliverables."""
    variables = document_variables(
        migration_intake,
        {
            "analysis": codebase_analysis.markdown(),
            "architecture": architecture_design.markdown(),
            "plan": migration_plan.markdown(),
            "specs": implementation_specs.markdown(),
            "quality": quality_assessment.markdown(),
        },
        {
            "facts": codebase_facts, "analysis": codebase_analysis, "plan": migration_plan,
            "quality": quality_assessment,
        },
    )
    calls: list[StepMetadata] = []
    refined = write_document(
        context, llm, migration, DeliveryReport, "migration_delivery", variables, calls
    )
    documents = {
        "01_codebase_facts.md": facts_markdown(codebase_facts),
        "02_codebase_analysis.md": codebase_analysis.markdown(),
        "03_architecture_design.md": architecture_design.markdown(),
        "04_migration_plan.md": migration_plan.markdown(),
        **{
            spec_file_name(number, spec.phase): spec.markdown()
            for number, spec in enumerate(implementation_specs.specs, start=1)
        },
        "06_quality_assessment.md": quality_assessment.markdown(),
    }
    # Every call of the request so far, the report's own included (it was written above).
    cost = cost_table(usage_ledger(context.instance).rows(lineage=partition_lineage(context)))
    documents["07_llm_cost.md"] = f"# What the analysis cost\n\n{cost}\n"
    folder = migration.delivery_dir(context.instance, context.partition_key)
    delivery = assemble(refined.document, folder, documents)
    written = [Written("migration_delivery", refined.document, refined)]
    yield dg.Output(delivery, metadata={
        **document_metadata(written, calls),
        "delivery_folder": dg.MetadataValue.path(delivery.folder),
        "archive": dg.MetadataValue.path(delivery.archive),
        "files": dg.MetadataValue.md("\n".join(f"- `{name}`" for name in delivery.files)),
        "cost": dg.MetadataValue.md(cost),
    })
    yield from check_results("migration_delivery", written, codebase_facts.paths)
