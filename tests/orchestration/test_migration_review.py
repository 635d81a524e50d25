"""The analyzer stops for a person's approval of the architecture when the request asks."""

import dagster as dg

from ecl_core.review.book import ReviewBook
from ecl_dagster.definitions import job_by_name
from ecl_dagster.review.resume import record_answer, resume
from ecl_dagster.storage.ecl_db import ecl_db_url

from analysis import (
    ASSETS,
    add,
    make_codebase,
    materialize,
    materialized,
    migration_job,
    script_passing,
)
from jobrun import anthropic_llm


def _observation(instance, run_id) -> dict:
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION)
    (record,) = records
    observation = record.dagster_event.event_specific_data.asset_observation
    assert observation.asset_key == dg.AssetKey("architecture_approval")
    return {k: v.value for k, v in observation.metadata.items()}


def _stop_at_the_review(instance, documents, tmp_path, name):
    script_passing(documents, 0)
    key = add(instance, make_codebase(tmp_path / name), name=name, review_architecture=True)
    started = materialize(instance, key, anthropic_llm(documents.server))
    assert started.success
    run = instance.get_run_by_id(started.run_id)
    assert run.tags["ecl/review_state"] == "awaiting"
    return run, ReviewBook(ecl_db_url(instance))


def test_the_plan_waits_for_the_approval_of_the_architecture(
    instance, documents, api_key, tmp_path
):
    run, book = _stop_at_the_review(instance, documents, tmp_path, "lookup")
    assert materialized(instance, run.run_id) == ASSETS[:4]  # up to architecture_design
    shown = _observation(instance, run.run_id)
    assert "**Architecture for lookup** (target: Rust)" in shown["to_review"]
    assert "answers" in shown and shown["answers"] == "approve, reject"
    assert documents.asked.count("migration_plan") == 0

    review = record_answer(instance, book, run.tags["ecl/review_id"], "approve",
                           "cli:alice@host", "Keep the store behind an interface.")
    continued = resume(instance, book, review, job_by_name("migration_analysis"), by="cli")

    assert continued is not None and continued.status == dg.DagsterRunStatus.SUCCESS
    assert continued.tags["dagster/partition"] == "lookup"
    assert materialized(instance, continued.run_id) == ASSETS[4:]
    assert documents.asked.count("architecture_design") == 1  # not asked again
    assert documents.asked.count("migration_plan") == 1


def test_a_rejected_architecture_ends_the_analysis_with_the_reason(
    instance, documents, api_key, tmp_path
):
    run, book = _stop_at_the_review(instance, documents, tmp_path, "rejected")
    review = record_answer(instance, book, run.tags["ecl/review_id"], "reject",
                           "cli:alice@host", "Rust is the wrong target for this team.")
    continued = resume(instance, book, review, job_by_name("migration_analysis"), by="cli")

    assert continued is not None and continued.status == dg.DagsterRunStatus.FAILURE
    assert materialized(instance, continued.run_id) == []
    (failure,) = instance.all_logs(continued.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    text = failure.dagster_event.step_failure_data.user_failure_data.description
    assert text == (f"ReviewRejected: review {review.id} was rejected by cli:alice@host: "
                    "Rust is the wrong target for this team.")


def test_the_plan_alone_is_refused_until_the_architecture_is_approved(
    instance, documents, api_key, tmp_path
):
    run, _ = _stop_at_the_review(instance, documents, tmp_path, "skipping")

    alone = dg.execute_job(
        dg.reconstructable(migration_job), instance, tags={"dagster/partition": "skipping"},
        asset_selection=[dg.AssetKey("migration_plan")],
        run_config={"resources": {"llm": {"config": anthropic_llm(documents.server)}}},
        raise_on_error=False,
    )

    assert not alone.success
    (failure,) = instance.all_logs(alone.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    text = failure.dagster_event.step_failure_data.user_failure_data.description
    assert text.startswith("the architecture of 'skipping' is not approved")
    assert documents.asked.count("migration_plan") == 0
