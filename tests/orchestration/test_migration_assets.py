"""The migration asset graph over the local Messages API: loops, checks, failures, re-execution."""

from pathlib import Path

import dagster as dg
import pytest

from analysis import (
    ASSETS,
    add,
    analysis,
    architecture,
    checks,
    latest_metadata,
    make_codebase,
    materialize,
    materialized,
    reexecute_from_failure,
    script_passing,
    spec,
    verdict,
)
from jobrun import anthropic_llm
from messages_api import Reply


@pytest.fixture
def codebase(tmp_path):
    return make_codebase(tmp_path / "lookup")


@pytest.mark.parametrize("revisions", [0, 2])
def test_every_document_passes_after_k_revisions(
    instance, documents, codebase, api_key, revisions
):
    script_passing(documents, revisions)
    key = add(instance, codebase)
    result = materialize(instance, key, anthropic_llm(documents.server))
    assert result.success
    assert materialized(instance, result.run_id) == ASSETS
    evaluations = checks(instance, result.run_id)
    assert len(evaluations) == 6 * 4  # four checks a document
    assert {k: e.description for k, e in evaluations.items() if not e.passed} == {}
    analysis_meta = latest_metadata(instance, "codebase_analysis")
    assert analysis_meta["revisions"] == revisions and analysis_meta["decision"] == "pass"
    assert f"version {revisions}" in analysis_meta["document"]
    for k in range(revisions + 1):  # every draft and critique is readable in the UI
        assert f"version {k}" in analysis_meta[f"draft_{k}"]
        assert analysis_meta[f"critique_{k}"]["decision"] == ("pass" if k == revisions
                                                              else "revise")
    specs_meta = latest_metadata(instance, "implementation_specs")
    assert specs_meta["specs"] == 2 and "Spec of CLI" in specs_meta["phase_2/document"]
    quality = latest_metadata(instance, "quality_assessment")
    assert "nothing to assess" in quality["document"] and quality["assessed"] is False
    calls_per_document = 2 * revisions + 2
    assert len(documents.asked) == 6 * calls_per_document  # analysis ... delivery, 2 specs
    streamed = [r.body.get("stream") for r in documents.server.requests]
    assert streamed == [True] * len(streamed)  # max_tokens 16,000: streamed responses


def test_a_document_that_never_passes_is_materialized_with_a_warning(
    instance, documents, codebase, api_key
):
    script_passing(documents, 0)
    documents.queues["architecture_design"] = [Reply(text=architecture(0))]
    documents.queues["architecture_design_critique"] = []
    for k in range(1, 4):
        documents.script("architecture_design_critique", verdict("revise", f"fix {k}"))
        documents.script("revise_document", architecture(k))
    documents.script("architecture_design_critique", verdict("revise", "still no data flow"))
    result = materialize(instance, add(instance, codebase), anthropic_llm(documents.server))
    assert result.success
    assert materialized(instance, result.run_id) == ASSETS
    warning = checks(instance, result.run_id)[("architecture_design", "critique_passed")]
    assert not warning.passed
    assert warning.severity == dg.AssetCheckSeverity.WARN
    assert "no critique passed within 3 revisions" in warning.description
    assert "still no data flow" in warning.description
    assert latest_metadata(instance, "architecture_design")["revisions"] == 3


def test_a_400_fails_one_asset_and_reexecution_makes_only_the_missing_calls(
    instance, documents, codebase, api_key
):
    script_passing(documents, 0)
    documents.queues["architecture_design_critique"] = [
        Reply(status=400, message="prompt is too long"), Reply(text=verdict("pass")),
    ]
    key = add(instance, codebase)
    failed = materialize(instance, key, anthropic_llm(documents.server))
    assert not failed.success
    assert materialized(instance, failed.run_id) == ASSETS[:3]
    assert documents.asked == [
        "codebase_analysis", "codebase_analysis_critique",
        "architecture_design", "architecture_design_critique",
    ]
    documents.asked.clear()
    again = reexecute_from_failure(instance, failed.run_id)
    assert instance.get_run_by_id(again).status == dg.DagsterRunStatus.SUCCESS
    assert instance.get_run_by_id(again).tags["dagster/partition"] == key
    assert materialized(instance, again) == ASSETS[3:]
    # The design's first answer is journaled: only its critique is asked again. The two
    # phases' specs are written at once, so their requests interleave.
    asked = documents.asked
    assert asked[:3] == [
        "architecture_design_critique", "migration_plan", "migration_plan_critique",
    ]
    assert sorted(asked[3:7]) == ["implementation_spec"] * 2 + ["implementation_spec_critique"] * 2
    assert asked[7:] == ["migration_delivery", "migration_delivery_critique"]


def test_a_document_citing_a_missing_file_fails_its_check(
    instance, documents, codebase, api_key
):
    script_passing(documents, 0)
    documents.queues["codebase_analysis"] = [Reply(text=analysis(0, cite="src/server.py"))]
    result = materialize(instance, add(instance, codebase), anthropic_llm(documents.server))
    assert not result.success
    evaluation = checks(instance, result.run_id)[("codebase_analysis", "cited_paths_exist")]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert "src/server.py:4-9" in evaluation.description
    # Blocking: nothing is built on an ungrounded analysis.
    assert materialized(instance, result.run_id) == ASSETS[:3]


def test_rematerializing_pays_no_completed_call_twice(instance, documents, codebase, api_key):
    script_passing(documents, 0)
    key = add(instance, codebase)
    assert materialize(instance, key, anthropic_llm(documents.server)).success
    asked = len(documents.asked)
    again = materialize(instance, key, anthropic_llm(documents.server))
    assert again.success and len(documents.asked) == asked
    assert latest_metadata(instance, "codebase_analysis")["journaled_calls"] == 2


def test_the_delivery_folder_holds_every_document(
    instance, documents, codebase, api_key
):
    script_passing(documents, 0)
    result = materialize(instance, add(instance, codebase), anthropic_llm(documents.server))
    assert result.success
    folder = latest_metadata(instance, "migration_delivery")["delivery_folder"]
    files = sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*.md"))
    assert files == [
        "01_codebase_facts.md", "02_codebase_analysis.md", "03_architecture_design.md",
        "04_migration_plan.md", "05_implementation_specs/phase_01_lookup.md",
        "05_implementation_specs/phase_02_cli.md", "06_quality_assessment.md",
        "07_llm_cost.md", "README.md",
    ]
    cost = (Path(folder) / "07_llm_cost.md").read_text()
    assert "| implementation_specs/phase_1 | claude-sonnet-4-6 | 2 (0) |" in cost
    assert "| migration_delivery | claude-sonnet-4-6 | 2 (0) |" in cost
    assert "Two phases (version 0)." in (Path(folder) / "04_migration_plan.md").read_text()
    assert "Migrate to Rust" in (Path(folder) / "README.md").read_text()
    assert Path(folder + ".zip").is_file()


def test_the_phases_specs_are_written_at_once_and_a_failed_phase_alone_is_asked_again(
    instance, documents, codebase, api_key
):
    script_passing(documents, 0)
    documents.queues["implementation_spec/Lookup"] = [
        Reply(text=spec("Lookup"), delay_s=0.5)
    ]
    documents.queues["implementation_spec/CLI"] = [
        Reply(status=400, message="prompt is too long", delay_s=0.5), Reply(text=spec("CLI")),
    ]
    key = add(instance, codebase)
    failed = materialize(instance, key, anthropic_llm(documents.server))
    assert not failed.success
    assert documents.server.max_in_flight == 2, "the two phases were not asked at once"
    assert materialized(instance, failed.run_id) == ASSETS[:6]
    documents.asked.clear()
    again = reexecute_from_failure(instance, failed.run_id)
    assert instance.get_run_by_id(again).status == dg.DagsterRunStatus.SUCCESS
    # Lookup's spec and critique are journaled: only CLI's are asked again.
    assert documents.asked[:2] == ["implementation_spec", "implementation_spec_critique"]
    assert documents.asked.count("implementation_spec") == 1
    assert "Spec of CLI" in latest_metadata(instance, "implementation_specs")["phase_2/document"]
