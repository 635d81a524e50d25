"""Every token accounted for, over the local Messages API: the ledger, cost tags, budgets."""

import io
import json
import os
import re
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg

from ecl_core.usage.ledger import UsageLedger
from ecl_dagster.cli import main, run_status
from ecl_dagster.storage.ecl_db import ecl_db_url
from ecl_dagster.usage.tags import usage_ledger

from jobrun import anthropic_llm, failure_text, step_failure
from messages_api import Reply, error, ok, system_text
from scenarios import TOPIC, critique_json, draft_text, pass_after

ROOT = Path(__file__).resolve().parents[2]
PRICES = ROOT / "ecl_core" / "usage" / "prices.toml"
DOCUMENT = ROOT / "examples" / "documents" / "durable_llm_workflows.md"


def _job(name: str) -> Any:
    return dg.build_reconstructable_job("ecl_dagster.definitions", "job_by_name", (name,))


def _critique_revise(instance: dg.DagsterInstance, server: Any, **llm: Any) -> Any:
    return dg.execute_job(
        _job("critique_revise"), instance=instance,
        run_config={"ops": {"generate_draft": {"config": {"topic": TOPIC, "max_revisions": 3}}},
                    "resources": {"llm": {"config": anthropic_llm(server, **llm)}}},
        raise_on_error=False,
    )


def _usage_fields(usage: dict[str, Any]) -> tuple[int, int, int, int, int]:
    split = usage["cache_creation"]
    return (usage["input_tokens"], usage["output_tokens"], split["ephemeral_5m_input_tokens"],
            split["ephemeral_1h_input_tokens"], usage["cache_read_input_tokens"])


def _row_fields(row: Any) -> tuple[int, int, int, int, int]:
    u = row.usage
    return (u.input_tokens, u.output_tokens, u.cache_creation_5m_input_tokens,
            u.cache_creation_1h_input_tokens, u.cache_read_input_tokens)


def _hand_cost(usages: list[dict[str, Any]], model: str) -> Decimal:
    """The cost of ``usages`` computed here from prices.toml, not by ECL's code."""
    table = tomllib.loads(PRICES.read_text(), parse_float=Decimal)
    price, factor = table["models"][model], table["multipliers"]
    total = Decimal(0)
    for usage in usages:
        inp, out, w5, w1, read = _usage_fields(usage)
        total += (inp * price["input"] + out * price["output"]
                  + w5 * price["input"] * factor["cache_write_5m"]
                  + w1 * price["input"] * factor["cache_write_1h"]
                  + read * price["input"] * factor["cache_read"]) / Decimal(1_000_000)
    return total


def _server_usages(server: Any) -> list[dict[str, Any]]:
    return [r.usage for r in server.requests if r.usage is not None]


def test_critique_revise_ledger_equals_the_api_usage_call_by_call_with_cache_reads(
    messages_api, api_key, home
):
    messages_api.script(pass_after(3))
    with dg.DagsterInstance.get() as instance:
        result = _critique_revise(instance, messages_api)
        assert result.success
        rows = usage_ledger(instance).rows(run_id=result.run_id)
        run = instance.get_run_by_id(result.run_id)
        status = io.StringIO()
        run_status(instance, result.run_id, status)
    usages = _server_usages(messages_api)
    assert len(usages) == 8 and len(rows) == 8
    assert [_row_fields(r) for r in rows] == [_usage_fields(u) for u in usages]
    assert [r.request_id for r in rows] == [f"req_test_{n:04d}" for n in range(1, 9)]
    assert not any(r.journaled for r in rows)

    critiques = [r for r in messages_api.requests if "demanding editor" in system_text(r.body)]
    assert len(critiques) == 4
    for request in critiques:
        assert request.body["output_config"]["format"]["type"] == "json_schema"
        assert request.body["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "5m"}
    by_step = {r.step_key: r for r in rows}
    assert by_step["critique_draft_0"].usage.cache_read_input_tokens == 0
    assert by_step["critique_draft_0"].usage.cache_creation_input_tokens > 0
    for later in ("critique_draft_1", "critique_draft_2", "critique_draft_3",
                  "revise_draft_2[revision_2]", "revise_draft_3[revision_3]"):
        assert by_step[later].usage.cache_read_input_tokens > 0, later

    expected = _hand_cost(usages, "claude-sonnet-4-6")
    assert Decimal(run.tags["ecl/cost_usd"]) == expected
    assert run.tags["ecl/llm_calls"] == "8"
    assert int(run.tags["ecl/total_tokens"]) == sum(sum(_usage_fields(u)) for u in usages)
    final = [e for e in result.all_events
             if e.is_successful_output and e.step_key == "final_draft"][0]
    table = final.step_output_data.metadata["cost"].value
    assert "| critique_draft_1 | claude-sonnet-4-6 | 1 (0) |" in table
    assert f"| {expected.normalize():f} |" in table.splitlines()[-1]
    assert "usage: 8 LLM calls (0 from the journal)" in status.getvalue()
    assert f"cost {expected.normalize():f} USD" in status.getvalue()


def test_a_failed_run_is_tagged_with_what_its_calls_billed_before_the_failure(
    messages_api, api_key, home
):
    messages_api.script([ok(draft_text(0)), error(401, "invalid x-api-key")])
    with dg.DagsterInstance.get() as instance:
        result = _critique_revise(instance, messages_api)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
    (usage,) = _server_usages(messages_api)  # the 401 billed nothing
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert run.tags["ecl/llm_calls"] == "1"
    assert Decimal(run.tags["ecl/cost_usd"]) == _hand_cost([usage], "claude-sonnet-4-6")
    assert int(run.tags["ecl/total_tokens"]) == sum(_usage_fields(usage))


def test_a_reexecution_that_copied_its_parents_usage_tags_ends_with_its_own(
    messages_api, api_key, home
):
    """Dagster's run retries and the UI's re-execution copy every parent tag."""
    messages_api.script([ok(draft_text(0)), ok(critique_json("revise", "x")),
                         ok(draft_text(1)), error(401, "invalid x-api-key")])
    with dg.DagsterInstance.get() as instance:
        parent = _critique_revise(instance, messages_api)
        assert not parent.success
        parent_run = instance.get_run_by_id(parent.run_id)
        assert parent_run.tags["ecl/llm_calls"] == "3"
        calls_tag_during_the_run: list[str | None] = []

        def child_answer(body: dict[str, Any]) -> Reply:
            (newest,) = instance.get_runs(limit=1)  # the child, at its one call
            calls_tag_during_the_run.append(newest.tags.get("ecl/llm_calls"))
            return ok(critique_json("pass"))

        messages_api.responder = child_answer
        child = dg.execute_job(
            _job("critique_revise"), instance=instance, run_config=parent_run.run_config,
            tags=parent_run.tags, raise_on_error=False,
            reexecution_options=dg.ReexecutionOptions.from_failure(parent.run_id, instance),
        )
        assert child.success
        tags = instance.get_run_by_id(child.run_id).tags
    (usage,) = _server_usages(messages_api)[3:]  # the child's one call: critique_draft_1
    assert calls_tag_during_the_run == ["0"]  # the parent's 3, set to its own at setup
    assert tags["ecl/llm_calls"] == "1"
    assert Decimal(tags["ecl/cost_usd"]) == _hand_cost([usage], "claude-sonnet-4-6")


def _summarize_answer(body: dict[str, Any]) -> Reply:
    system = system_text(body)
    if "precise technical summarizer" in system:
        return ok("A section in one sentence.", input_tokens=40, output_tokens=9)
    if "demanding editor" in system:
        return ok(critique_json("pass"))
    return ok("The document explains how LLM workflows survive failures.")


def test_summarize_document_ledger_equals_the_api_usage(messages_api, api_key, home):
    messages_api.responder = _summarize_answer
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            _job("summarize_document"), instance=instance,
            run_config={"ops": {"split_sections": {"config": {"path": str(DOCUMENT)}}},
                        "resources": {"llm": {"config": anthropic_llm(messages_api)}}},
            raise_on_error=False,
        )
        assert result.success
        rows = usage_ledger(instance).rows(run_id=result.run_id)
        run = instance.get_run_by_id(result.run_id)
    usages = _server_usages(messages_api)
    assert len(rows) == len(usages) == 6 + 1 + 1
    # The six sections are summarized at once: compare without their order.
    assert sorted(_row_fields(r) for r in rows) == sorted(_usage_fields(u) for u in usages)
    assert sum(r.usage.cache_creation_input_tokens + r.usage.cache_read_input_tokens
               for r in rows if r.step_key.startswith("summarize_section")) > 0
    assert Decimal(run.tags["ecl/cost_usd"]) == _hand_cost(usages, "claude-sonnet-4-6")


def _ecl(*args: str) -> subprocess.CompletedProcess[str]:
    ecl = str(Path(sys.executable).with_name("ecl"))
    return subprocess.run([ecl, *args], env={**os.environ}, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_a_budget_for_three_calls_makes_three_then_a_higher_one_finishes(
    messages_api, api_key, home
):
    big = {"output_tokens": 600}
    messages_api.script([ok(draft_text(0), **big), ok(critique_json("revise", "more"), **big),
                         ok(draft_text(1), **big), ok(critique_json("pass"), **big)])
    with dg.DagsterInstance.get() as instance:
        failed = _critique_revise(instance, messages_api, max_tokens=600, budget_tokens=2500)
        assert not failed.success
        text = failure_text(step_failure(failed, "critique_draft_1"))
    assert len(messages_api.requests) == 3, "the fourth call was made"
    assert len(messages_api.count_requests) == 4, "inputs were not counted by the API"
    spent = sum(sum(_usage_fields(u)) for u in _server_usages(messages_api))
    assert text.startswith("BudgetExceeded: budget exceeded: ")
    assert f"spent {spent:,} tokens of a budget of 2,500" in text
    assert "the call of step 'critique_draft_1'" in text

    again = _ecl("reexecute", failed.run_id, "--budget-tokens", "10000")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(messages_api.requests) == 4, "calls made before were repeated"
    with dg.DagsterInstance.get() as instance:
        ledger = UsageLedger(ecl_db_url(instance))
        lineage = ledger.rows(lineage=failed.run_id)
        (child,) = [r for r in instance.get_runs() if r.parent_run_id == failed.run_id]
    billed = [r for r in lineage if not r.journaled]
    assert [r.step_key for r in billed] == [
        "generate_draft", "critique_draft_0", "revise_draft_1[revision_1]", "critique_draft_1"]
    assert child.tags["ecl/budget_tokens"] == "10000" and child.tags["ecl/llm_calls"] == "1"
    assert re.search(r"lineage usage: 4 LLM calls", again.stdout), again.stdout


def test_a_model_missing_from_the_price_table_runs_and_shows_cost_unknown(
    messages_api, api_key, home
):
    messages_api.script(pass_after(0))
    with dg.DagsterInstance.get() as instance:
        result = _critique_revise(instance, messages_api, model="claude-unpriced-9")
        assert result.success
        rows = usage_ledger(instance).rows(run_id=result.run_id)
        run = instance.get_run_by_id(result.run_id)
        status = io.StringIO()
        run_status(instance, result.run_id, status)
    assert [_row_fields(r) for r in rows] == [
        _usage_fields(u) for u in _server_usages(messages_api)]
    assert all(r.cost_usd is None and r.model == "claude-unpriced-9" for r in rows)
    assert run.tags["ecl/cost_usd"] == "unknown" and run.tags["ecl/llm_calls"] == "2"
    assert "cost unknown (2 calls of a model without a price)" in status.getvalue()


def test_ecl_usage_totals_the_ledger_per_workflow_and_model(messages_api, api_key, home, capsys):
    messages_api.script(pass_after(1))
    with dg.DagsterInstance.get() as instance:
        assert _critique_revise(instance, messages_api).success
    usages = _server_usages(messages_api)

    assert main(["usage", "--since", "1h", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (group,) = document["groups"]
    assert (group["workflow"], group["provider"], group["model"]) == (
        "critique_revise", "anthropic", "claude-sonnet-4-6")
    assert group["calls"] == 4 and group["journaled_calls"] == 0
    assert group["output_tokens"] == sum(u["output_tokens"] for u in usages)
    assert group["cache_read_input_tokens"] == sum(u["cache_read_input_tokens"] for u in usages)
    assert Decimal(group["cost_usd"]) == _hand_cost(usages, "claude-sonnet-4-6")
    assert document["total"] == {k: v for k, v in group.items()
                                 if k not in ("workflow", "provider", "model")}

    assert main(["usage", "--workflow", "summarize_document"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[:2] == ["total", "0"]
    assert main(["usage", "--since", "last tuesday"]) == 2
    assert "--since is 'last tuesday'" in capsys.readouterr().err
