"""The API key reaches the API and nowhere else: not logs, event log, outputs or storage."""

from pathlib import Path

from ecl_core.logging import configure_logging

from jobrun import anthropic_llm, run_job
from messages_api import Reply, error, ok
from scenarios import pass_after


def test_the_api_key_is_nowhere_but_on_the_wire(messages_api, api_key, instance, capfd):
    configure_logging("DEBUG", force=True)  # prompts and responses too
    messages_api.script([*pass_after(1), error(401, "invalid x-api-key")])
    succeeded = run_job(instance, llm=anthropic_llm(messages_api))
    failed = run_job(instance, llm=anthropic_llm(messages_api))
    assert succeeded.success and not failed.success

    sent = messages_api.requests[0].headers
    assert api_key in sent.get("x-api-key", "") + sent.get("authorization", "")

    captured = capfd.readouterr()
    assert '"event": "llm.request"' in captured.err, "debug logging must have been on"
    assert api_key not in captured.out + captured.err

    for run in (succeeded, failed):
        for record in instance.all_logs(run.run_id):
            assert api_key not in str(record)
        assert api_key not in str(instance.get_run_by_id(run.run_id))

    root = Path(instance.root_directory)
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and any(p.suffix == ".json" for p in files)
    for path in files:
        assert api_key.encode() not in path.read_bytes(), path


def _runs_that_fail_in_every_way(messages_api, instance):
    """Runs meeting each failure the server can give; return their results."""
    llm = anthropic_llm(messages_api, retry_max_attempts=10, timeout_s=0.5)
    streamed = {**llm, "max_tokens": 5000}
    transient = [
        error(429, "slow down"), error(500, "internal"), error(529, "overloaded"),
        ok("late", delay_s=1.0), ok("cut", drop=True), Reply(raw_body=b"{not json"),
    ]
    runs = []
    for status in (400, 401, 403, 404):
        messages_api.script([error(status, "refused")])
        runs.append(run_job(instance, llm=llm))
    messages_api.script([*transient, *pass_after(0)])
    runs.append(run_job(instance, llm=llm))
    messages_api.script([
        ok("x", stream_error="overloaded_error"), ok("x", drop_mid_stream=True),
        ok("x", stream_error="invalid_request_error"),
    ])
    runs.append(run_job(instance, llm=streamed))
    # Three 529s exhaust the call's retries: the error goes to Dagster's RetryPolicy.
    messages_api.script([error(529, "overloaded")] * 3 + pass_after(0))
    runs.append(run_job(instance, llm={**llm, "retry_max_attempts": 3}))
    return runs


def test_a_key_echoed_by_every_failure_lands_nowhere(messages_api, api_key, instance, capfd):
    configure_logging("DEBUG", force=True)
    messages_api.echo_key_in_errors = True
    runs = _runs_that_fail_in_every_way(messages_api, instance)

    assert [r.success for r in runs] == [False] * 4 + [True, False, True]
    bearer = f"Bearer {api_key}"
    assert all(r.headers["authorization"] == bearer for r in messages_api.requests)
    events = [str(record) for r in runs for record in instance.all_logs(r.run_id)]
    assert any("credential: Bearer [REDACTED]" in e for e in events), "no echo reached ECL"
    assert any("STEP_UP_FOR_RETRY" in e for e in events)

    captured = capfd.readouterr()
    assert "credential: Bearer [REDACTED]" in captured.err
    assert api_key not in captured.out + captured.err
    for run in runs:
        assert api_key not in str(instance.get_run_by_id(run.run_id))
    for text in events:
        assert api_key not in text
    # Dagster's run and event databases, compute logs, step outputs, ECL's tables.
    root = Path(instance.root_directory)
    files = [p for p in root.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"ecl.db", "runs.db"}
    compute_logs = [p for p in files if p.suffix == ".err"]
    assert any(b"credential: Bearer [REDACTED]" in p.read_bytes() for p in compute_logs)
    for path in files:
        assert api_key.encode() not in path.read_bytes(), path


def test_a_run_cannot_read_the_deployments_environment_into_its_settings(
        messages_api, api_key, instance, capfd):
    """``{env: NAME}`` in run config is refused for ECL's settings, naming each one."""
    llm = {**anthropic_llm(messages_api), "model": {"env": "ANTHROPIC_API_KEY"},
           "prompt_cache_ttl": {"env": "HOME"}}
    result = run_job(instance, llm=llm)
    assert not result.success
    assert messages_api.requests == []
    events = [r.dagster_event for r in instance.all_logs(result.run_id) if r.dagster_event]
    text = "\n".join(str(e.event_specific_data) + (e.message or "") for e in events)
    assert "resources.llm.config.model: is read from an environment variable" in text
    assert "resources.llm.config.prompt_cache_ttl: is read from an environment variable" in text
    out, err = capfd.readouterr()
    assert api_key not in text + out + err
