"""The OpenAI-compatible provider against a real model: llama.cpp's server and SmolLM2-135M.

``llama-cpp-python``'s server refuses ``response_format`` ``json_schema`` with a 500, takes
``json_object`` with a ``schema`` (and then decodes under it), and states its context window
only in the text of a 400: each of those is met here as a user's deployment would meet it.
"""

import re

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from ecl_core.errors import ContextWindowExceeded
from ecl_core.llm.factory import ProviderSettings, build_provider
from ecl_core.llm.providers import openai_provider
from ecl_core.steps.critique import critique
from ecl_core.types import CompletionRequest, Draft, Message

from llama_server import CONTEXT_WINDOW, MODEL

DRAFT = Draft(topic="durable execution", revision=0, text=(
    "Durable execution keeps a workflow's progress when a process dies. Each step's result "
    "is stored, so a restart resumes at the first step that did not finish."))


@pytest.fixture
def fresh_ladder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that has not yet learned which response_format the server takes."""
    monkeypatch.setattr(openai_provider, "_rungs", {})


def _provider(tmp_path, **settings):
    return build_provider(ProviderSettings(
        provider="openai_compatible", model=MODEL, timeout_s=120.0, temperature=0.0,
        db_url=f"sqlite:///{tmp_path / 'ecl.db'}", **settings), "no-key")


def test_a_refused_json_schema_is_one_refusal_then_json_object_for_the_process(
    local_model, fresh_ladder, tmp_path
):
    before = len(local_model.log())
    provider = _provider(tmp_path)
    with capture_logs() as logs:
        results = [critique(provider, DRAFT, max_tokens=300) for _ in range(3)]
        later = critique(_provider(tmp_path), DRAFT, max_tokens=300)  # built later, same process
    assert all(r.metadata.llm_calls == 1 for r in [*results, later]), "no repair request"
    assert all(r.output.decision in ("pass", "revise") for r in [*results, later])
    access = re.findall(r'"POST /v1/chat/completions HTTP/1.1" (\d+)', local_model.log()[before:])
    assert access == ["500", "200", "200", "200", "200"], "one refusal, never retried"
    refused = [e for e in logs if e["event"] == "llm.structured_outputs_refused"]
    assert [(e["status_code"], e["refused"], e["now"]) for e in refused] == [
        (500, "json_schema", "json_object")]
    assert not [e for e in logs if e["event"] == "llm.call_failed"]
    with sa.create_engine(f"sqlite:///{tmp_path / 'ecl.db'}").connect() as db:
        assert db.execute(sa.text("select count(*) from ecl_breaker_failures")).scalar() == 0


def test_the_window_a_refusal_states_is_learned_and_nothing_larger_is_sent(
    local_model, tmp_path
):
    provider = _provider(tmp_path)
    huge = CompletionRequest(system="Summarize.", max_tokens=200, step="summarize",
                             messages=(Message(role="user", content="word " * 12_000),))
    with capture_logs() as logs, pytest.raises(ContextWindowExceeded) as refused:
        provider.complete(huge)
    text = str(refused.value)
    assert f"model '{MODEL}'" in text and f"context window of {CONTEXT_WINDOW:,} tokens" in text
    assert "the server's refusal" in text and "counted by the server" in text
    learned = [e for e in logs if e["event"] == "llm.context_window_learned"]
    assert [e["context_window_tokens"] for e in learned] == [CONTEXT_WINDOW]

    small = CompletionRequest(system="Be brief.", max_tokens=100_000, step="answer",
                              messages=(Message(role="user", content="Name one colour."),))
    answer = provider.complete(small)
    sent = answer.max_tokens
    assert sent is not None and sent < CONTEXT_WINDOW
    assert answer.usage.input_tokens + answer.usage.cache_read_input_tokens + sent \
        <= CONTEXT_WINDOW
