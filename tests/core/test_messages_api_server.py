"""The local Messages API server itself, through the real anthropic SDK: token counting,
simulated prompt caching (plain and streamed), structured outputs refused, recorded usage."""

import anthropic
import pytest

from messages_api import STRUCTURED_OUTPUTS_REJECTED, count_tokens, error

MODEL = "claude-test"
SYSTEM = "You are a careful reviewer of long technical documents. " * 20
USER = [{"role": "user", "content": "Review it."}]


def _client(server) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="k", base_url=server.url, max_retries=0)


def _system(ttl: str | None = None) -> list[dict]:
    cache_control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": SYSTEM, "cache_control": cache_control}]


def _create(server, system, messages=USER) -> anthropic.types.Message:
    return _client(server).messages.create(
        model=MODEL, max_tokens=64, system=system, messages=messages
    )


def _cache(message) -> tuple[int, int, int, int]:
    """(read, created, created 5m, created 1h) as the SDK parsed them."""
    usage = message.usage
    return (usage.cache_read_input_tokens, usage.cache_creation_input_tokens,
            usage.cache_creation.ephemeral_5m_input_tokens,
            usage.cache_creation.ephemeral_1h_input_tokens)


def test_count_tokens_answers_the_servers_count_and_is_not_a_messages_call(messages_api):
    messages_api.script(["unused"])
    counted = _client(messages_api).messages.count_tokens(
        model=MODEL, system=_system(), messages=[
            {"role": "user", "content": "Review it."},
            {"role": "assistant", "content": [{"type": "text", "text": "Done: é"}]},
        ],
    )
    expected = count_tokens(SYSTEM) + count_tokens("Review it.") + count_tokens("Done: é")
    assert counted.input_tokens == expected == count_tokens(SYSTEM) + 3 + 2
    assert messages_api.requests == [] and len(messages_api.count_requests) == 1
    assert _create(messages_api, "s").content[0].text == "unused", "the script is untouched"


def test_count_tokens_can_fail_with_a_scripted_status(messages_api):
    messages_api.count_tokens_status = 529
    with pytest.raises(anthropic.APIStatusError) as caught:
        _client(messages_api).messages.count_tokens(model=MODEL, messages=USER)
    assert caught.value.status_code == 529


def test_a_cached_system_is_created_once_then_read(messages_api):
    messages_api.script(["first", "second", "plain"])
    first, second = _create(messages_api, _system()), _create(messages_api, _system())
    assert _cache(first) == (0, count_tokens(SYSTEM), count_tokens(SYSTEM), 0)
    assert _cache(second) == (count_tokens(SYSTEM), 0, 0, 0)
    assert first.usage.input_tokens == second.usage.input_tokens == 11  # the scripted rest
    assert _cache(_create(messages_api, SYSTEM)) == (0, 0, 0, 0), "no cache_control"


def test_a_one_hour_ttl_is_reported_apart(messages_api):
    messages_api.script(["first"])
    assert _cache(_create(messages_api, _system("1h"))) == (
        0, count_tokens(SYSTEM), 0, count_tokens(SYSTEM)
    )


def test_a_new_context_block_reads_the_system_and_creates_only_itself(messages_api):
    def context(text: str) -> list[dict]:
        block = {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}
        return [{"role": "user", "content": [block, {"type": "text", "text": "Review it."}]}]

    messages_api.script(["first", "second"])
    first = _create(messages_api, _system(), context("Context A, quite long. " * 9))
    second = _create(messages_api, _system(), context("Context B."))
    both = count_tokens(SYSTEM) + count_tokens("Context A, quite long. " * 9)
    assert _cache(first) == (0, both, both, 0)
    assert _cache(second) == (
        count_tokens(SYSTEM), count_tokens("Context B."), count_tokens("Context B."), 0
    )


def test_errors_create_nothing_in_the_cache(messages_api):
    messages_api.script([error(500, "boom"), "after"])
    with pytest.raises(anthropic.InternalServerError):
        _create(messages_api, _system())
    assert _cache(_create(messages_api, _system()))[:2] == (0, count_tokens(SYSTEM))


def test_structured_outputs_can_be_refused_without_touching_the_script(messages_api):
    messages_api.reject_structured_outputs = True
    messages_api.script(["kept"])
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    with pytest.raises(anthropic.BadRequestError, match=STRUCTURED_OUTPUTS_REJECTED):
        _client(messages_api).messages.create(
            model=MODEL, max_tokens=64, messages=USER,
            output_config={"format": {"type": "json_schema", "schema": schema}},
        )
    assert [r.completed for r in messages_api.requests] == [False]
    assert _create(messages_api, "s").content[0].text == "kept"


def test_a_streamed_answer_reports_the_same_cache_usage(messages_api):
    messages_api.script(["first", "streamed " * 10])
    _create(messages_api, _system())
    with _client(messages_api).messages.stream(
        model=MODEL, max_tokens=5000, system=_system(), messages=USER
    ) as stream:
        message = stream.get_final_message()
    assert messages_api.requests[-1].body["stream"] is True
    assert _cache(message) == (count_tokens(SYSTEM), 0, 0, 0)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 7)


def test_recorded_usage_is_what_the_sdk_saw_plain_and_streamed(messages_api):
    messages_api.script(["a", "b"])
    seen = [_create(messages_api, _system()).usage.model_dump()]
    with _client(messages_api).messages.stream(
        model=MODEL, max_tokens=5000, system=_system(), messages=USER
    ) as stream:
        seen.append(stream.get_final_message().usage.model_dump())
    recorded = [r.usage for r in messages_api.requests]
    assert [{k: s[k] for k in r} for r, s in zip(recorded, seen, strict=True)] == recorded
