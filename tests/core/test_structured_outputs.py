"""Structured outputs: the critique's JSON schema on the wire, and the fallback when refused."""

import pytest
from structlog.testing import capture_logs

from ecl_core.errors import PermanentLLMError
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.providers import anthropic_provider
from ecl_core.llm.resilience import RetrySettings
from ecl_core.prompts import load_prompt
from ecl_core.steps.critique import critique
from ecl_core.types import Critique, Draft

from messages_api import STRUCTURED_OUTPUTS_REJECTED, error
from scenarios import API_KEY, critique_json

NO_WAIT = RetrySettings(initial_delay_s=0, max_delay_s=0)
DRAFT = Draft(topic="Tea", text="Tea is good.", revision=0)


@pytest.fixture(autouse=True)
def _no_refusals_remembered(monkeypatch):
    """Forget refusals seen by earlier tests of this process (they are kept per process)."""
    monkeypatch.setattr(anthropic_provider, "_no_structured_outputs", set())


def _provider(**settings):
    return build_provider(ProviderSettings(provider="anthropic", retry=NO_WAIT, **settings),
                          API_KEY)


def _judge(provider) -> Critique:
    return critique(provider, DRAFT, max_tokens=200).output


def _without_output_config(body):
    return {key: value for key, value in body.items() if key != "output_config"}


def test_the_critique_asks_for_its_schema_and_reads_the_json_answer(messages_api):
    messages_api.script([critique_json("revise", "Say why tea is good.")])
    verdict = _judge(_provider())
    assert verdict == Critique(decision="revise", critique="critique says revise",
                               feedback="Say why tea is good.")
    [sent] = messages_api.requests
    output_format = sent.body["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    schema = output_format["schema"]
    assert set(schema["properties"]) == {"decision", "critique", "feedback"}
    assert schema["properties"]["decision"]["enum"] == ["pass", "revise"]
    assert schema["additionalProperties"] is False


def test_a_refused_schema_is_sent_again_without_it_and_never_again(messages_api):
    messages_api.reject_structured_outputs = True
    messages_api.script([critique_json("pass"), critique_json("revise", "more"),
                         critique_json("pass")])
    provider = _provider()
    with capture_logs() as logs:
        first = _judge(provider)
        assert [("output_config" in r.body) for r in messages_api.requests] == [True, False]
        second = _judge(provider)
        third = _judge(_provider())  # a provider built later in the same process
    assert (first.decision, second.decision, third.decision) == ("pass", "revise", "pass")
    assert first == Critique(decision="pass", critique="critique says pass")
    refused, retried, *later = messages_api.requests
    assert retried.body == _without_output_config(refused.body), "the same request, no schema"
    assert len(later) == 2 and not any("output_config" in r.body for r in later)
    warnings = [event for event in logs if event["event"] == "llm.structured_outputs_refused"]
    assert len(warnings) == 1
    assert (warnings[0]["log_level"], warnings[0]["status_code"]) == ("warning", 400)


def test_a_refusal_is_remembered_for_that_model_only(messages_api):
    messages_api.reject_structured_outputs = True
    messages_api.script([critique_json("pass")])
    _judge(_provider())
    messages_api.reject_structured_outputs = False
    messages_api.script([critique_json("pass")])
    assert _judge(_provider(model="claude-haiku-4-5")).decision == "pass"
    assert "output_config" in messages_api.requests[-1].body


def test_another_bad_request_is_not_taken_for_a_refused_schema(messages_api):
    messages_api.script([error(400, "messages: too long"), critique_json("pass")])
    provider = _provider()
    with pytest.raises(PermanentLLMError, match="messages: too long") as caught:
        _judge(provider)
    assert caught.value.status_code == 400
    assert len(messages_api.requests) == 1, "neither retried nor sent again without the schema"
    assert _judge(provider).decision == "pass"
    assert "output_config" in messages_api.requests[1].body, "the schema is still sent"


def test_a_schema_refusal_of_a_request_without_schema_is_not_retried(messages_api):
    messages_api.script([error(400, STRUCTURED_OUTPUTS_REJECTED)])
    plain = load_prompt("generate").request(max_tokens=100, topic="Tea")
    assert plain.output_schema is None
    with pytest.raises(PermanentLLMError, match="output_config"):
        _provider().complete(plain)
    assert len(messages_api.requests) == 1
