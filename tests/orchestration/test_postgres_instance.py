"""critique_revise on the production instance config: Postgres storage and re-execution."""

import sqlalchemy as sa

from jobrun import anthropic_llm, execute_durably, reexecute_from_failure, step_keys
from messages_api import error
from scenarios import critique_json, draft_text, pass_after


def test_runs_events_and_ecl_tables_live_in_postgres(messages_api, api_key, postgres_instance):
    instance, url = postgres_instance
    messages_api.script(pass_after(1))
    result = execute_durably(instance, anthropic_llm(messages_api))
    assert result.success

    with sa.create_engine(url).connect() as conn:
        status = conn.execute(
            sa.text("SELECT status FROM runs WHERE run_id = :r"), {"r": result.run_id}
        ).scalar_one()
        events = conn.execute(
            sa.text("SELECT count(*) FROM event_logs WHERE run_id = :r"), {"r": result.run_id}
        ).scalar_one()
        journaled = conn.execute(
            sa.text("SELECT count(*) FROM ecl_llm_journal WHERE lineage = :r"),
            {"r": result.run_id},
        ).scalar_one()
    assert status == "SUCCESS"
    assert events > 20
    assert journaled == 4


def test_reexecution_from_failure_on_postgres(messages_api, api_key, postgres_instance):
    instance, _ = postgres_instance
    messages_api.script(
        [draft_text(0), critique_json("revise", "x"), draft_text(1), error(401, "revoked")]
    )
    first = execute_durably(instance, anthropic_llm(messages_api))
    assert step_keys(first, "STEP_FAILURE") == {"critique_draft_1"}

    messages_api.script([critique_json("pass")])
    second = reexecute_from_failure(instance, first.run_id)
    assert second.success
    assert step_keys(second, "STEP_SUCCESS") == {"critique_draft_1", "final_draft"}
    assert len(messages_api.requests) == 5
    assert instance.get_run_by_id(second.run_id).root_run_id == first.run_id
