"""Steps 1b to 4: the LLM documents, each through ECL's critique-revise loop.

``codebase_analysis`` (grades with evidence, current and recommended components),
``architecture_design`` (language-agnostic), ``migration_plan`` (phases and stages, a
validated pydantic model) and ``implementation_specs`` (one spec per phase of the plan,
each through its own loop, the phases written at once, each journaled on its own so a
failure in phase k re-asks nothing for the other phases).
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from ecl_core.codebase.facts import CodebaseFacts
from ecl_core.codebase.render import facts_markdown
from ecl_core.codebase.tree import scan_tree
from ecl_core.errors import ValidationError
from ecl_core.fanout import run_concurrently
from ecl_core.migration.documents import (
    ArchitectureDesign,
    CodebaseAnalysis,
    ImplementationSpec,
    ImplementationSpecs,
    MigrationPlan,
)
from ecl_core.migration.intake import MigrationIntake
from ecl_core.migration.prompting import document_variables
from ecl_core.types import StepMetadata
from ecl_core.workflow.step import LLM_RETRY_POLICY
from ecl_dagster.analyzer.approval import require_approval
from ecl_dagster.analyzer.documents import (
    Written,
    check_results,
    document_check_specs,
    document_metadata,
    fitted_excerpts,
    prompts_version,
    write_document,
)
from ecl_dagster.analyzer.settings import MIGRATION_GROUP, MIGRATION_REQUESTS, MigrationSettings
from ecl_dagster.resources import LLMResource
from ecl_dagster.workflows.mapped import items_failure
from ecl_dagster.workflows.step_execution import dagster_retry_policy, failure

__all__ = [
    "LLM_ASSET_OPTIONS",
    "architecture_design",
    "codebase_analysis",
    "implementation_specs",
    "migration_plan",
]

LLM_ASSET_OPTIONS: dict[str, Any] = {
    "group_name": MIGRATION_GROUP,
    "partitions_def": MIGRATION_REQUESTS,
    "kinds": {"anthropic"},
    "retry_policy": dagster_retry_policy(LLM_RETRY_POLICY, "migration document"),
}
"""What every LLM asset shares: group, partitions, kind, retries. No pool: the analysis job
runs one asset at a time in process, where a pool limits nothing
(``ecl_dagster.workflows.ops.LLM_POOL``)."""


def _report(
    asset: str,
    written: list[Written],
    calls: list[StepMetadata],
    paths: list[str],
    value: Any,
    **extra: Any,
) -> Iterator[Any]:
    yield dg.Output(value, metadata={**document_metadata(written, calls), **extra})
    yield from check_results(asset, written, paths)


@dg.asset(
    **LLM_ASSET_OPTIONS,
    check_specs=document_check_specs("codebase_analysis"),
    code_version=prompts_version("codebase_analysis"),
    description="The implementation grade report (a grade per dimension with evidence that "
    "cites files), the current components and the recommended refactor breakdown.",
)
def codebase_analysis(
    context: dg.AssetExecutionContext,
    llm: LLMResource,
    migration: MigrationSettings,
    migration_intake: MigrationIntake,
    codebase_facts: CodebaseFacts,
) -> Iterator[Any]:
    """Grade the codebase from its facts and the most relevant source excerpts."""
    try:
        tree = scan_tree(migration_intake.code.root, migration.limits(), field="code_path")
    except ValidationError as err:
        raise failure(err, {"partition": context.partition_key}) from err
    variables = document_variables(
        migration_intake, {"facts": facts_markdown(codebase_facts)}, {"facts": codebase_facts}
    )
    variables["excerpts"] = fitted_excerpts(
        llm, migration, CodebaseAnalysis, "codebase_analysis", variables, "excerpts", tree,
        codebase_facts,
    )
    calls: list[StepMetadata] = []
    refined = write_document(
        context, llm, migration, CodebaseAnalysis, "codebase_analysis", variables, calls,
        tree_paths=codebase_facts.paths,
    )
    written = [Written("codebase_analysis", refined.document, refined)]
    yield from _report("codebase_analysis", written, calls, codebase_facts.paths, refined.document)


@dg.asset(
    **LLM_ASSET_OPTIONS,
    check_specs=document_check_specs("architecture_design"),
    code_version=prompts_version("architecture_design"),
    description="A language-agnostic ideal architecture, from the analysis.",
)
def architecture_design(
    context: dg.AssetExecutionContext,
    llm: LLMResource,
    migration: MigrationSettings,
    migration_intake: MigrationIntake,
    codebase_facts: CodebaseFacts,
    codebase_analysis: CodebaseAnalysis,
) -> Iterator[Any]:
    """Design the target architecture."""
    variables = document_variables(
        migration_intake,
        {"facts": facts_markdown(codebase_facts), "analysis": codebase_analysis.markdown()},
        {"facts": codebase_facts, "analysis": codebase_analysis},
    )
    calls: list[StepMetadata] = []
    refined = write_document(
        context, llm, migration, ArchitectureDesign, "architecture_design", variables, calls,
        tree_paths=codebase_facts.paths,
    )
    written = [Written("architecture_design", refined.document, refined)]
    yield from _report(
        "architecture_design", written, calls, codebase_facts.paths, refined.document
    )


@dg.asset(
    **LLM_ASSET_OPTIONS,
    deps=["architecture_approval"],
    check_specs=document_check_specs("migration_plan"),
    code_version=prompts_version("migration_plan"),
    description="Phases, then stages, each with goal, tasks, acceptance criteria and "
    "dependencies (a validated pydantic model, rendered as markdown).",
)
def migration_plan(
    context: dg.AssetExecutionContext,
    llm: LLMResource,
    migration: MigrationSettings,
    migration_intake: MigrationIntake,
    codebase_facts: CodebaseFacts,
    codebase_analysis: CodebaseAnalysis,
    architecture_design: ArchitectureDesign,
) -> Iterator[Any]:
    """Plan the migration in phases, once the architecture is approved (``approval``)."""
    if migration_intake.request.review_architecture:
        require_approval(context)
    variables = document_variables(
        migration_intake,
        {"analysis": codebase_analysis.markdown(), "architecture": architecture_design.markdown()},
        {"analysis": codebase_analysis, "architecture": architecture_design},
    )
    calls: list[StepMetadata] = []
    refined = write_document(
        context, llm, migration, MigrationPlan, "migration_plan", variables, calls
    )
    written = [Written("migration_plan", refined.document, refined)]
    yield from _report(
        "migration_plan", written, calls, codebase_facts.paths, refined.document,
        phases=len(refined.document.phases),
    )


def _phase_label(index: int) -> str:
    """``phase_<k>``, k from 1: a spec's name in metadata and its journal key's part."""
    return f"phase_{index + 1}"


@dg.asset(
    **LLM_ASSET_OPTIONS,
    check_specs=document_check_specs("implementation_specs"),
    code_version=prompts_version("implementation_spec"),
    description="One implementation spec per phase of the plan (files to create, "
    "interfaces, tests, risks), each through its own critique-revise loop.",
)
def implementation_specs(
    context: dg.AssetExecutionContext,
    llm: LLMResource,
    migration: MigrationSettings,
    migration_intake: MigrationIntake,
    codebase_facts: CodebaseFacts,
    architecture_design: ArchitectureDesign,
    migration_plan: MigrationPlan,
) -> Iterator[Any]:
    """Specify each phase; the phases are written at once (``max_concurrent_calls``)."""
    plan_markdown = migration_plan.markdown()
    phases = list(enumerate(migration_plan.phases))

    def specify(item: tuple[int, Any]) -> tuple[Any, list[StepMetadata]]:
        index, phase = item
        variables = document_variables(
            migration_intake,
            {
                "architecture": architecture_design.markdown(),
                "plan": plan_markdown,
                "phase": f"Phase {index + 1}: {phase.model_dump_json(indent=1)}",
            },
            {"architecture": architecture_design, "plan": migration_plan, "phase_index": index},
        )
        calls: list[StepMetadata] = []
        refined = write_document(
            context, llm, migration, ImplementationSpec, "implementation_spec", variables, calls,
            part=_phase_label(index), tree_paths=codebase_facts.paths,
        )
        return refined, calls

    llm.llm  # noqa: B018 - built once here, then shared by the phases' threads
    outcomes = run_concurrently(specify, phases, llm.max_concurrent_calls,
                                description="implementation specs")
    failed = [(_phase_label(o.item[0]), o.error) for o in outcomes if o.error is not None]
    if failed:
        raise items_failure(failed, len(phases))
    written = [Written(_phase_label(o.item[0]), o.result[0].document, o.result[0])
               for o in outcomes if o.result]
    calls = [call for o in outcomes if o.result for call in o.result[1]]
    specs = [w.document for w in written]
    yield from _report(
        "implementation_specs", written, calls, codebase_facts.paths,
        ImplementationSpecs(specs=specs), specs=len(specs),
    )
