"""Every failure of a call is an ECL error, redacted, and counted by the breaker only when
it says something about the API: the providers as ``build_provider`` assembles them, over a
real socket to the local Messages API server, with the breaker's state in a shared SQLite
store as every run of an instance shares it."""

import pytest

from ecl_core.errors import (
    CircuitOpenError,
    LLMTimeoutError,
    PermanentLLMError,
    TransientLLMError,
    ValidationError,
)
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.resilience import BreakerSettings, RetrySettings
from ecl_core.prompts import load_prompt
from ecl_core.steps.critique import parse_critique
from ecl_core.types import CompletionRequest, Message

from messages_api import Reply, error, ok
from scenarios import API_KEY

REQUEST = CompletionRequest(
    system="s", messages=(Message(role="user", content="u"),), max_tokens=8, step="generate"
)


def _provider(tmp_path, *, timeout_s: float = 60.0, attempts: int = 1):
    settings = ProviderSettings(
        provider="anthropic",
        timeout_s=timeout_s,
        retry=RetrySettings(max_attempts=attempts, initial_delay_s=0, max_delay_s=0),
        breaker=BreakerSettings(failure_threshold=2, reset_timeout_s=60),
        db_url=f"sqlite:///{tmp_path / 'ecl.db'}",
    )
    return build_provider(settings, API_KEY)


def test_a_run_with_its_own_short_timeout_does_not_open_everyones_breaker(
    messages_api, tmp_path
):
    messages_api.script([ok("slow", delay_s=1.0)] * 3 + ["fine"])
    impatient = _provider(tmp_path, timeout_s=0.2)
    for _ in range(3):
        with pytest.raises(LLMTimeoutError):
            impatient.complete(REQUEST)

    assert _provider(tmp_path).complete(REQUEST).text == "fine"
    assert len(messages_api.requests) == 4


def test_timeouts_of_a_patient_call_still_open_the_breaker(messages_api, tmp_path, monkeypatch):
    monkeypatch.setattr("ecl_core.llm.factory.BREAKER_TIMEOUT_FLOOR_S", 0.2)
    messages_api.script([ok("slow", delay_s=1.0)] * 2)
    patient = _provider(tmp_path, timeout_s=0.2)
    for _ in range(2):
        with pytest.raises(LLMTimeoutError):
            patient.complete(REQUEST)
    with pytest.raises(CircuitOpenError):
        _provider(tmp_path).complete(REQUEST)
    assert len(messages_api.requests) == 2


def test_a_malformed_answer_is_transient_and_counted_by_the_breaker(messages_api, tmp_path):
    messages_api.script([Reply(raw_body=b"<html>gateway</html>")] * 2)
    provider = _provider(tmp_path)
    for _ in range(2):
        with pytest.raises(TransientLLMError, match="not a Messages API response"):
            provider.complete(REQUEST)
    with pytest.raises(CircuitOpenError):
        provider.complete(REQUEST)
    assert len(messages_api.requests) == 2


def test_a_lone_surrogate_is_refused_before_the_request_is_built():
    with pytest.raises(ValidationError, match="draft: has a lone surrogate at character 3"):
        load_prompt("critique").request(max_tokens=8, topic="t", draft="ab \ud800 c")


def test_a_request_the_sdk_cannot_encode_is_a_permanent_error(messages_api, tmp_path):
    request = REQUEST.model_copy(update={"system": "bad \udc00 text"})
    with pytest.raises(PermanentLLMError, match="not valid Unicode"):
        _provider(tmp_path).complete(request)
    assert messages_api.requests == []


def test_max_tokens_zero_is_a_validation_error_naming_the_field():
    with pytest.raises(ValidationError, match="max_tokens: Input should be greater than 0"):
        load_prompt("critique").request(max_tokens=0, topic="t", draft="d")


def test_a_key_echoed_in_an_error_body_is_redacted_from_the_error(messages_api, tmp_path):
    messages_api.echo_key_in_errors = True
    messages_api.script([error(401, "invalid x-api-key")])
    with pytest.raises(PermanentLLMError) as failed:
        _provider(tmp_path).complete(REQUEST)
    assert messages_api.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in str(failed.value) and API_KEY not in failed.value.message
    assert "invalid x-api-key (credential: Bearer [REDACTED])" in str(failed.value)


def test_a_credential_variable_is_redacted_from_error_text(monkeypatch):
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "pg-secret-value-123")
    err = TransientLLMError("could not reach postgres://ecl:pg-secret-value-123@db/ecl")
    assert "pg-secret-value-123" not in str(err)
    assert "postgres://ecl:[REDACTED]@db/ecl" in str(err)


@pytest.mark.parametrize(
    "reply",
    [
        'Quoted {"decision": "pass"}; my verdict: '
        '{"decision": "revise", "critique": "x", "feedback": "y"}',
        '{"decision": "revise", "critique": "x", "feedback": "y"} and {"decision": "PASS"}',
        '```json\n{"decision": "revise", "critique": "x", "quoted": {"decision": "pass"}}\n```',
    ],
    ids=["quoted-pass-first", "pass-last", "nested-pass"],
)
def test_verdicts_that_disagree_are_unreadable_never_a_pass(reply):
    with pytest.raises(ValidationError, match="2 different decisions"):
        parse_critique(reply)


def test_the_same_verdict_given_twice_is_read():
    reply = 'Summary {"decision": "revise"}. Final: {"decision": "revise", "critique": "c", ' \
            '"feedback": "f"}'
    verdict = parse_critique(reply)
    assert (verdict.decision, verdict.critique, verdict.feedback) == ("revise", "c", "f")
