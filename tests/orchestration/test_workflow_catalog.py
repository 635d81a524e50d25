"""The workflows' results as partitioned assets of the Catalog: what a user finds there."""

import hashlib
import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from ecl_core.llm.providers.offline import OFFLINE_MARK
from ecl_dagster.resources import LLMResource
from ecl_dagster.storage.io_managers import JsonIOManager
from ecl_dagster.workflows.assets import request_partition_key, workflow_asset_specs
from ecl_dagster.workflows.jobs import workflow_jobs

from jobrun import anthropic_llm, step_failure
from scenarios import draft_text, never_pass, pass_after

ROOT = Path(__file__).resolve().parents[2]
FINAL_DRAFT = dg.AssetKey(["critique_revise", "final_draft"])
FINAL_SUMMARY = dg.AssetKey(["summarize_document", "final_summary"])
TEA = "The history of tea, from Yunnan to the world"
RIVERS = "Why rivers meander"


@pytest.fixture(scope="module")
def catalog() -> dg.Definitions:
    jobs = workflow_jobs()
    return dg.Definitions(
        assets=workflow_asset_specs(jobs),
        jobs=jobs,
        resources={"llm": LLMResource(), "io_manager": JsonIOManager()},
    )


def _critique_revise(
    catalog: dg.Definitions, instance: dg.DagsterInstance, topic: str, llm: dict[str, Any]
) -> dg.ExecuteInProcessResult:
    run_config = {
        "ops": {"generate_draft": {"config": {"topic": topic}}},
        "resources": {"llm": {"config": llm}},
    }
    return catalog.get_job_def("critique_revise").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )


def _materializations(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[Any]:
    """Oldest first: (partition, metadata values, run id)."""
    records = instance.fetch_materializations(key, limit=100, ascending=True).records
    return [
        (
            r.partition_key,
            {k: v.value for k, v in r.asset_materialization.metadata.items()},
            r.run_id,
        )
        for r in records
    ]


def _hash8(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def test_the_results_are_partitioned_assets_of_the_catalog_before_any_run(catalog):
    specs = {spec.key: spec for spec in catalog.resolve_all_asset_specs()}
    assert {FINAL_DRAFT, FINAL_SUMMARY} <= set(specs)
    for key, workflow in [(FINAL_DRAFT, "critique_revise"), (FINAL_SUMMARY, "summarize_document")]:
        spec = specs[key]
        assert spec.group_name == "workflows"
        assert spec.kinds == {"anthropic"}
        assert spec.description and workflow in spec.description
        assert isinstance(spec.partitions_def, dg.DynamicPartitionsDefinition)
        assert spec.partitions_def.name == f"{workflow}_requests"
    graph = catalog.resolve_asset_graph()
    assert graph.get(FINAL_DRAFT).is_partitioned


def test_partition_keys_are_a_slug_of_the_first_text_field_and_a_hash_of_the_input():
    request = {"topic": TEA, "max_revisions": 3}
    key = request_partition_key(request)
    assert key == f"the-history-of-tea-from-yunnan-to-the-wo-{_hash8(request)}"
    assert request_partition_key({**request, "max_revisions": 2}) != key
    assert request_partition_key({"topic": "Café ???"}).startswith("cafe-")
    assert len(request_partition_key({"topic": "x" * 500})) == 40 + 1 + 8
    assert request_partition_key({"count": 3}) == _hash8({"count": 3})


def test_each_critique_revise_run_records_its_final_draft_under_its_requests_partition(
    catalog, messages_api, api_key, instance
):
    messages_api.script(pass_after(0) + pass_after(1) + pass_after(0))
    llm = anthropic_llm(messages_api)
    runs = [_critique_revise(catalog, instance, topic, llm) for topic in (TEA, TEA, RIVERS)]
    assert all(run.success for run in runs)

    tea = request_partition_key({"topic": TEA, "max_revisions": 3})
    rivers = request_partition_key({"topic": RIVERS, "max_revisions": 3})
    assert rivers.startswith("why-rivers-meander-")
    assert instance.get_dynamic_partitions("critique_revise_requests") == [tea, rivers]
    assert instance.get_materialized_partitions(FINAL_DRAFT) == {tea, rivers}

    recorded = _materializations(instance, FINAL_DRAFT)
    assert [(partition, run_id) for partition, _, run_id in recorded] == [
        (tea, runs[0].run_id), (tea, runs[1].run_id), (rivers, runs[2].run_id),
    ]
    texts = [metadata["text"] for _, metadata, _ in recorded]
    assert texts == [draft_text(0), draft_text(1), draft_text(0)]
    assert texts == [run.output_for_node("final_draft").text for run in runs]
    first, second, third = (metadata for _, metadata, _ in recorded)
    assert (second["revision"], second["characters"]) == (1, len(draft_text(1)))
    assert (first["topic"], first["max_revisions"], third["topic"]) == (TEA, 3, RIVERS)

    latest = instance.get_latest_materialization_event(FINAL_DRAFT)
    assert latest.run_id == runs[2].run_id


def test_a_run_ending_in_max_revisions_exceeded_records_nothing(
    catalog, messages_api, api_key, instance
):
    messages_api.script(never_pass())
    run = _critique_revise(catalog, instance, TEA, anthropic_llm(messages_api))
    assert not run.success
    assert step_failure(run, "final_draft")
    assert _materializations(instance, FINAL_DRAFT) == []
    assert instance.get_dynamic_partitions("critique_revise_requests") == []


def test_a_summarize_document_run_records_its_final_summary(
    catalog, no_api_key, instance, monkeypatch
):
    monkeypatch.chdir(ROOT)
    run_config = yaml.safe_load((ROOT / "examples" / "summarize_document.yaml").read_text())
    run = catalog.get_job_def("summarize_document").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    assert run.success

    path = run_config["ops"]["split_sections"]["config"]["path"]
    key = request_partition_key({"path": path})
    assert key.startswith("examples-documents-durable-llm-workflows-")
    assert instance.get_materialized_partitions(FINAL_SUMMARY) == {key}
    ((partition, metadata, run_id),) = _materializations(instance, FINAL_SUMMARY)
    assert (partition, run_id) == (key, run.run_id)
    assert metadata["text"] == run.output_for_node("final_summary").text
    assert metadata["text"].endswith(OFFLINE_MARK)
    assert metadata["path"] == path
