"""An analyzer document inside an asset: the loop, its journal scope, its checks, its metadata.

Every LLM document asset runs ``ecl_core.migration.refine`` with its calls journaled under
the partition (``migration:<key>``) and the asset (``<asset>`` or ``<asset>/<part>``), so a
re-materialization or a re-execution from failure never pays a completed call twice. Its
quality gates are asset checks evaluated in the same step (docs/dagster-notes.md):

* ``required_sections`` (blocking): every required section is present and has content;
* ``cited_paths_exist`` (blocking): every path the document cites exists in the tree;
* ``critique_passed`` (WARN, not blocking): a critique passed within the revision cap; at
  the cap the asset is still materialized, and the check names the last critique;
* ``references_resolve`` (WARN, not blocking): every dependency names a component, phase or
  stage the document defines (a model that still names one it does not after its repair
  request keeps its document; the check lists each dangling name).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg

from ecl_core.codebase.excerpts import select_excerpts
from ecl_core.codebase.facts import CodebaseFacts
from ecl_core.codebase.tree import SourceTree
from ecl_core.errors import ConfigError, PermanentLLMError, ValidationError
from ecl_core.migration.documents import Document
from ecl_core.migration.grounding import missing_citations, missing_sections
from ecl_core.migration.refine import Refined, document_prompt, refine, schema_text
from ecl_core.migration.window_budget import document_budget, excerpt_budget
from ecl_core.types import StepMetadata
from ecl_dagster.analyzer.settings import MigrationSettings
from ecl_dagster.resources import LLMResource
from ecl_dagster.usage.tags import partition_lineage_key
from ecl_dagster.workflows.metadata import call_metadata
from ecl_dagster.workflows.step_execution import failure, llm_scope

__all__ = [
    "CITATIONS_CHECK",
    "CRITIQUE_CHECK",
    "REFERENCES_CHECK",
    "SECTIONS_CHECK",
    "Written",
    "check_results",
    "document_check_specs",
    "document_metadata",
    "fitted_excerpts",
    "partition_lineage",
    "prompts_version",
    "write_document",
]

SECTIONS_CHECK = "required_sections"
CITATIONS_CHECK = "cited_paths_exist"
CRITIQUE_CHECK = "critique_passed"
REFERENCES_CHECK = "references_resolve"
D = TypeVar("D", bound=Document)
Context = dg.AssetExecutionContext


@dataclass(frozen=True)
class Written:
    """A document as an asset reports it.

    Attributes:
        label: Its name in metadata and check descriptions (``phase_2``...).
        document: The document.
        refined: Its loop; None when no model wrote it (no new code to assess).
    """

    label: str
    document: Document
    refined: Refined[Any] | None = None


def prompts_version(prompt: str) -> str:
    """The asset's code version: the content versions of the prompts that write it.

    A change to ``<prompt>.md``, its rubric or ``revise_document.md`` changes it, so the UI
    shows which materializations were written with older wording.
    """
    names = (prompt, f"{prompt}_critique", "revise_document")
    return "-".join(document_prompt(name).version[:6] for name in names)


def document_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    """The four checks of a document asset (module docstring)."""
    return [
        dg.AssetCheckSpec(
            SECTIONS_CHECK, asset=asset, blocking=True,
            description="Every required section is present and has content.",
        ),
        dg.AssetCheckSpec(
            CITATIONS_CHECK, asset=asset, blocking=True,
            description="Every path the document cites exists in the analyzed tree.",
        ),
        dg.AssetCheckSpec(
            CRITIQUE_CHECK, asset=asset,
            description="A critique passed within the revision cap (WARN when the cap was "
            "reached: the last critique is in the check's description).",
        ),
        dg.AssetCheckSpec(
            REFERENCES_CHECK, asset=asset,
            description="Every dependency names a component, phase or stage the document "
            "defines (WARN: the dangling names are in the check's description).",
        ),
    ]


def partition_lineage(context: Context) -> str:
    """The lineage of a request's calls in the journal and the usage ledger: its partition."""
    return partition_lineage_key(context.partition_key)


def write_document(
    context: Context,
    llm: LLMResource,
    settings: MigrationSettings,
    model: type[D],
    prompt: str,
    variables: dict[str, str],
    calls: list[StepMetadata],
    *,
    part: str | None = None,
    tree_paths: Sequence[str] | None = None,
) -> Refined[D]:
    """Write, critique and revise one document; append its calls' metadata to ``calls``.

    With ``tree_paths`` (the files the document may cite), the structured output it is asked
    for lists them as the only citations (``ecl_core.migration.grounding.grounded_schema``).

    Raises:
        dg.Failure: (no retry) a permanent LLM error, an unusable reply after its repair
            request, or a configuration error; transient errors reach the RetryPolicy.
    """
    asset = context.asset_key.path[-1]
    step_key = asset if part is None else f"{asset}/{part}"
    with llm_scope(context.op_execution_context, lineage=partition_lineage(context),
                   step_key=step_key):
        try:
            result = refine(
                llm.llm, model, prompt, variables,
                max_revisions=settings.max_revisions,
                max_tokens=document_budget(settings.document_max_tokens, llm.model_limits()),
                attempt=context.retry_number + 1,
                tree_paths=tree_paths,
            )
        except (PermanentLLMError, ValidationError, ConfigError) as err:
            raise failure(err, {"document": step_key}) from err
    calls.append(result.metadata)
    return result.output


def fitted_excerpts(
    llm: LLMResource,
    settings: MigrationSettings,
    model: type[Document],
    prompt: str,
    variables: dict[str, str],
    slot: str,
    tree: SourceTree,
    facts: CodebaseFacts,
) -> str:
    """The most relevant excerpts of ``tree`` that fit the model's window, as markdown.

    The budget is ``excerpt_budget_tokens``, lowered to what the window leaves once the
    document's prompt without them (``slot`` empty) and its output are counted
    (``ecl_core.migration.window_budget``).
    """
    max_tokens = document_budget(settings.document_max_tokens, llm.model_limits())
    bare = document_prompt(prompt).request(
        max_tokens=max_tokens, **{**variables, slot: "", "schema": schema_text(model)}
    )
    budget = excerpt_budget(settings.excerpt_budget_tokens, llm.prompt_room(bare))
    excerpts = select_excerpts(tree, facts, budget_tokens=budget)
    return "\n\n".join(
        f"### {e.path}:{e.start_line}-{e.end_line} ({e.why})\n```\n{e.text}\n```"
        for e in excerpts
    ) or "(none)"


def document_metadata(written: Sequence[Written], calls: Sequence[StepMetadata]) -> dict[str, Any]:
    """What a person reads in the UI: each document, every draft and critique, the cost."""
    metadata: dict[str, Any] = {}
    single = len(written) == 1
    for item in written:
        prefix = "" if single else f"{item.label}/"
        metadata[f"{prefix}document"] = dg.MetadataValue.md(item.document.markdown())
        if item.refined is None:
            continue
        metadata[f"{prefix}revisions"] = item.refined.revisions
        metadata[f"{prefix}decision"] = item.refined.last_critique.decision
        for round_ in item.refined.rounds:
            metadata[f"{prefix}draft_{round_.revision}"] = dg.MetadataValue.md(round_.markdown)
            metadata[f"{prefix}critique_{round_.revision}"] = dg.MetadataValue.json(
                round_.critique.model_dump()
            )
    return {**metadata, **call_metadata(calls)}


def check_results(
    asset: str, written: Sequence[Written], tree_paths: Iterable[str]
) -> list[dg.AssetCheckResult]:
    """The four check results over every document of the asset."""
    paths = list(tree_paths)
    empty = {w.label: missing_sections(w.document) for w in written}
    empty = {label: sections for label, sections in empty.items() if sections}
    cited = {w.label: missing_citations(w.document, paths) for w in written}
    cited = {label: found for label, found in cited.items() if found}
    unpassed = [w for w in written if w.refined is not None and not w.refined.passed]
    dangling = {w.label: w.document.dangling_references() for w in written}
    dangling = {label: found for label, found in dangling.items() if found}
    return [
        dg.AssetCheckResult(
            asset_key=asset, check_name=SECTIONS_CHECK, passed=not empty,
            description="; ".join(f"{k}: empty or missing {', '.join(v)}" for k, v in empty.items())
            or "every required section has content",
            metadata={"missing": dg.MetadataValue.json(empty)},
        ),
        dg.AssetCheckResult(
            asset_key=asset, check_name=CITATIONS_CHECK, passed=not cited,
            description="; ".join(
                f"{k} cites paths that are not in the tree: {', '.join(v)}"
                for k, v in cited.items()
            ) or "every cited path exists in the tree",
            metadata={
                "missing": dg.MetadataValue.json(cited),
                "cited": sum(len(w.document.cited_paths()) for w in written),
            },
        ),
        dg.AssetCheckResult(
            asset_key=asset, check_name=CRITIQUE_CHECK, passed=not unpassed,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(
                f"{w.label}: no critique passed within {w.refined.revisions} revisions; the "
                f"last critique: {w.refined.last_critique.critique} Feedback: "
                f"{w.refined.last_critique.feedback}"
                for w in unpassed if w.refined is not None
            ) or "every critique passed",
        ),
        dg.AssetCheckResult(
            asset_key=asset, check_name=REFERENCES_CHECK, passed=not dangling,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(f"{k}: {', '.join(v)}" for k, v in dangling.items())
            or "every dependency names what the document defines",
            metadata={"dangling": dg.MetadataValue.json(dangling)},
        ),
    ]
