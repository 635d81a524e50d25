"""The rate limiter as a person meets it in a run: the time a step waited, in its metadata."""

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from jobrun import anthropic_llm, execute_durably, output_metadata
from messages_api import Reply
from scenarios import critique_json, draft_text

ROOT = Path(__file__).resolve().parents[2]


def test_a_step_that_waited_for_the_rate_limit_shows_how_long(messages_api, api_key, instance):
    reset = datetime.fromtimestamp(time.time() + 3, UTC).isoformat()
    messages_api.script([
        Reply(text=draft_text(0), headers={
            "anthropic-ratelimit-output-tokens-remaining": "0",
            "anthropic-ratelimit-output-tokens-reset": reset,
        }),
        critique_json("pass"),
    ])
    llm = anthropic_llm(messages_api, rate_limit_requests_per_minute=50)
    result = execute_durably(instance, llm)
    assert result.success
    generated = output_metadata(result, "generate_draft")
    critiqued = output_metadata(result, "critique_draft_0")
    assert generated["rate_limit_wait_ms"] < 1000
    assert critiqued["rate_limit_wait_ms"] >= 1000
    assert messages_api.requests[1].received_at >= datetime.fromisoformat(reset).timestamp()


def test_the_deployment_sets_the_limits_in_its_environment(messages_api, api_key, tmp_path):
    """``ECL_RATE_LIMIT_*`` bind the limits in the definitions: a run launched with no rate
    limit in its config still keeps under them (here a request too large for the limit is
    refused before it is sent)."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "ops": {"generate_draft": {"config": {"topic": "Tea", "max_revisions": 1}}},
        "resources": {"llm": {"config": {"provider": "anthropic", "max_tokens": 1024}}},
    }))
    env = {**os.environ, "DAGSTER_HOME": str(home),
           "ECL_RATE_LIMIT_OUTPUT_TOKENS_PER_MINUTE": "100"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "job", "execute", "-m", "ecl_dagster",
         "-j", "critique_revise", "-c", str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode != 0
    assert "needs 1,024 output tokens; the limit output_tokens_per_minute is 100" in (
        done.stdout + done.stderr
    )
    assert messages_api.requests == []


def test_a_limit_in_the_environment_that_is_not_a_number_fails_the_run_naming_it(
    messages_api, api_key, instance, monkeypatch
):
    monkeypatch.setenv("ECL_RATE_LIMIT_REQUESTS_PER_MINUTE", "lots")
    result = execute_durably(instance, anthropic_llm(messages_api))
    assert not result.success
    text = "\n".join(str(e.event_specific_data) for e in result.all_events if e.is_failure)
    assert "ECL_RATE_LIMIT_REQUESTS_PER_MINUTE: is 'lots'; it must be a whole number (digits " \
           "0-9) from 0 (no limit) to 1,000,000" in text
    assert messages_api.requests == []
