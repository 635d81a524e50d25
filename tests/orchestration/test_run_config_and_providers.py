"""Run config validation, and which provider a run uses."""

import os
import time

import pytest
from structlog.testing import capture_logs

from ecl_core.llm.providers.offline import OFFLINE_MARK

from jobrun import anthropic_llm, failure_text, output_metadata, run_job, step_failure
from scenarios import TOPIC, pass_after


@pytest.mark.parametrize(
    ("topic", "max_revisions", "problem"),
    [
        ("   ", 3, "topic: is blank; give 1 to 2,000 characters"),
        ("t" * 2001, 3, "topic: has 2,001 characters; the limit is 2,000"),
        (TOPIC, 4, "max_revisions: is 4; it must be 0 to 3"),
        (TOPIC, -1, "max_revisions: is -1; it must be 0 to 3"),
    ],
)
def test_bad_run_config_fails_before_any_llm_call_and_names_the_field(
    messages_api, api_key, instance, topic, max_revisions, problem
):
    result = run_job(
        instance, topic=topic, max_revisions=max_revisions, llm=anthropic_llm(messages_api)
    )
    assert not result.success
    assert problem in failure_text(step_failure(result, "generate_draft"))
    assert messages_api.requests == []


def test_a_topic_of_2000_characters_is_accepted(messages_api, api_key, instance):
    messages_api.script(pass_after(0))
    result = run_job(instance, topic="t" * 2000, llm=anthropic_llm(messages_api))
    assert result.success


def test_without_an_api_key_auto_runs_offline_says_so_and_revises(no_api_key, instance):
    with capture_logs() as logs:
        result = run_job(instance)
    assert result.success
    final = result.output_for_node("final_draft")
    assert final.revision >= 1
    assert OFFLINE_MARK in final.text
    generated = output_metadata(result, "generate_draft")
    assert (generated["provider"], generated["model"]) == ("offline", "ecl-offline-1")
    assert output_metadata(result, "critique_draft_0")["critique"]["critique"].startswith(
        "Offline critique"
    )
    warnings = [e for e in logs if e["event"] == "llm.provider.offline_fallback"]
    assert warnings and warnings[0]["log_level"] == "warning"
    assert instance.get_run_by_id(result.run_id).tags["ecl/llm_provider"] == "offline"


def test_with_an_api_key_auto_uses_anthropic(messages_api, api_key, instance):
    messages_api.script(pass_after(0))
    config = {**anthropic_llm(messages_api), "provider": "auto"}
    result = run_job(instance, llm=config)
    assert result.success
    assert len(messages_api.requests) == 2
    assert output_metadata(result, "generate_draft")["provider"] == "anthropic"
    assert instance.get_run_by_id(result.run_id).tags["ecl/llm_provider"] == "anthropic"


def test_anthropic_without_a_key_fails_with_a_config_error(messages_api, no_api_key, instance):
    result = run_job(instance, llm=anthropic_llm(messages_api))
    assert not result.success
    text = failure_text(step_failure(result, "generate_draft"))
    assert "ConfigError: provider 'anthropic' needs ANTHROPIC_API_KEY to be set" in text
    assert messages_api.requests == []


@pytest.mark.parametrize(("target", "rule"), [
    ("fifo", "is not a regular file"),
    ("/dev/zero", "is on a pseudo-filesystem (/proc, /sys, /dev"),
])
def test_a_script_that_is_not_a_regular_file_fails_at_once(instance, tmp_path, target, rule):
    path = str(tmp_path / "script.fifo") if target == "fifo" else target
    if target == "fifo":
        os.mkfifo(path)
    started = time.monotonic()
    result = run_job(instance, llm={"provider": "scripted", "scripted_path": path})
    assert not result.success
    assert time.monotonic() - started < 60
    text = failure_text(step_failure(result, "generate_draft"))
    assert f"scripted_path: '{path}' {rule}" in text
