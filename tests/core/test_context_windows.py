"""Sizing requests to a model's context window, and schemas to max_tokens (no server)."""

import pytest

from ecl_core.errors import ContextWindowExceeded
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.llm.schema_budget import MIN_STRING_CHARS, fit_schema, longest_chars
from ecl_core.llm.windows import ModelLimits, SizedProvider, known_limits
from ecl_core.migration.documents import CodebaseAnalysis, MigrationPlan
from ecl_core.migration.grounding import CITATION_ENUM_MAX_PATHS, grounded_schema
from ecl_core.types import CompletionRequest, Critique, Message


def _request(text: str = "hi", max_tokens: int = 1000, **fields) -> CompletionRequest:
    return CompletionRequest(system="s", messages=(Message(role="user", content=text),),
                             max_tokens=max_tokens, step="generate", **fields)


def test_known_claude_models_have_their_published_limits():
    assert known_limits("claude-sonnet-4-6") == ModelLimits(200_000, 64_000,
                                                            source="known Claude model")
    assert known_limits("claude-sonnet-4-5-20250929").max_output_tokens == 64_000
    assert known_limits("claude-opus-4-1").max_output_tokens == 32_000
    assert known_limits("llama3.1") is None


def test_max_tokens_is_lowered_to_what_the_window_leaves():
    inner = ScriptedProvider(["ok"])
    sized = SizedProvider(inner, ModelLimits(2_000, source="settings"))
    answer = sized.complete(_request("x" * 500, max_tokens=16_000))
    sent = inner.requests[0].max_tokens
    assert sent == answer.max_tokens
    assert sent + 500 <= 2_000 and sent > 1_000


def test_the_output_limit_caps_max_tokens_too():
    inner = ScriptedProvider(["ok"])
    SizedProvider(inner, ModelLimits(200_000, 8_192)).complete(_request(max_tokens=100_000))
    assert inner.requests[0].max_tokens == 8_192


def test_a_request_that_cannot_fit_is_refused_before_sending():
    inner = ScriptedProvider(["never"])
    sized = SizedProvider(inner, ModelLimits(1_000, source="settings"))
    with pytest.raises(ContextWindowExceeded) as refused:
        sized.complete(_request("y" * 2_000, min_tokens=300))
    assert "context window of 1,000 tokens (settings)" in str(refused.value)
    assert "at least 300 output tokens" in str(refused.value)
    assert inner.requests == []


def test_prompt_room_is_what_is_left_for_more_prompt():
    sized = SizedProvider(ScriptedProvider([]), ModelLimits(4_000))
    room = sized.prompt_room(_request("z" * 100, max_tokens=1_000))
    assert room is not None and 2_700 < room < 2_900
    assert SizedProvider(ScriptedProvider([]), None).prompt_room(_request()) is None


def test_a_schema_is_fitted_to_max_tokens_only_when_asked():
    schema = MigrationPlan.model_json_schema()
    request = _request(max_tokens=1_000, output_schema=schema)
    plain, fitted = ScriptedProvider(["{}"]), ScriptedProvider(["{}"])
    SizedProvider(plain).complete(request)
    SizedProvider(fitted, fit_output_schema=True).complete(request)
    assert plain.requests[0].output_schema == schema
    assert longest_chars(fitted.requests[0].output_schema, unbounded=1) <= 3_000


def test_fitting_keeps_minimums_and_leaves_a_fitting_schema_alone():
    small = Critique.model_json_schema()
    fitted = fit_schema(small, 16_000)
    assert longest_chars(fitted, unbounded=1) <= 48_000
    tight = fit_schema(CodebaseAnalysis.model_json_schema(), 300)
    component = tight["$defs"]["Component"]["properties"]
    assert component["paths"]["minItems"] == 1 <= component["paths"]["maxItems"]
    assert component["name"]["maxLength"] >= MIN_STRING_CHARS


def test_citations_are_an_enum_of_the_trees_files_up_to_the_limit():
    files = ["src/app.py", "src/store.py"]
    schema = grounded_schema(CodebaseAnalysis, files)
    defs = schema["$defs"]
    assert defs["Evidence"]["properties"]["path"]["enum"] == files
    assert defs["Component"]["properties"]["paths"]["items"]["enum"] == files
    assert "x-ecl-citation" not in str(schema)
    many = [f"f{i}.py" for i in range(CITATION_ENUM_MAX_PATHS + 1)]
    assert "enum" not in str(grounded_schema(CodebaseAnalysis, many)["$defs"]["Evidence"])
