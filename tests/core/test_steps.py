"""Generate, critique and revise over a scripted provider: outputs, validation, repair."""

import json

import pytest

from ecl_core.errors import ValidationError
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.steps.critique import critique, parse_critique
from ecl_core.steps.generate import generate
from ecl_core.steps.revise import revise
from ecl_core.types import Critique, Draft

from scenarios import critique_json

DRAFT = Draft(topic="Tea", text="Tea is a drink.", revision=0)
FEEDBACK = Critique(decision="revise", critique="thin", feedback="say more")


def test_generate_returns_revision_zero_with_its_cost():
    provider = ScriptedProvider([{"text": "  Tea is a drink.  ", "input_tokens": 9}])
    result = generate(provider, "Tea", max_tokens=100)
    assert result.output == Draft(topic="Tea", text="Tea is a drink.", revision=0)
    assert result.metadata.llm_calls == 1 and result.metadata.usage.input_tokens == 9
    request = provider.requests[0]
    assert request.step == "generate" and "Tea" in request.messages[0].content


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("   ", "is empty"),
        ("x" * 2001, "has 2,001 characters; limit 2,000"),
        ({"text": "Tea is", "stop_reason": "max_tokens"}, "cut off at max_tokens=100"),
    ],
)
def test_generate_rejects_unusable_drafts(reply, problem):
    with pytest.raises(ValidationError) as caught:
        generate(ScriptedProvider([reply]), "Tea", max_tokens=100)
    assert caught.value.details[0].field == "draft.text"
    assert problem in str(caught.value)


def test_a_draft_of_exactly_2000_characters_is_accepted():
    assert len(generate(ScriptedProvider(["x" * 2000]), "Tea", max_tokens=100).output.text) == 2000


def test_revise_increments_the_revision_and_sends_the_feedback():
    provider = ScriptedProvider(["Tea is a drink brewed from leaves."])
    result = revise(provider, DRAFT, FEEDBACK, max_tokens=100)
    assert result.output.revision == 1
    assert "say more" in provider.requests[0].messages[0].content


def test_revise_rejects_a_revision_identical_to_its_input():
    with pytest.raises(ValidationError, match="revision.text: is identical to revision 0"):
        revise(ScriptedProvider(["Tea is a drink. "]), DRAFT, FEEDBACK, max_tokens=100)


@pytest.mark.parametrize(
    "reply",
    [
        critique_json("pass"),
        "My verdict follows.\n" + critique_json("pass") + "\nThat is all.",
        "```json\n" + critique_json("pass") + "\n```",
        '{"decision": " PASS ", "critique": "fine"}',
    ],
    ids=["bare", "prose", "fence", "loose-case"],
)
def test_critique_json_is_read_from_prose_fences_and_bare_replies(reply):
    assert parse_critique(reply).decision == "pass"


def test_a_critique_without_decision_gets_one_repair_request():
    provider = ScriptedProvider(['{"critique": "fine"}', critique_json("revise", "shorter")])
    result = critique(provider, DRAFT, max_tokens=100)
    assert result.output.decision == "revise" and result.output.feedback == "shorter"
    assert result.metadata.llm_calls == 2
    repair = provider.requests[1].messages
    assert [m.role for m in repair] == ["user", "assistant", "user"]
    assert "critique.decision: missing" in repair[2].content


def test_a_critique_unreadable_twice_fails_with_the_field_that_was_wrong():
    provider = ScriptedProvider(["I like it.", json.dumps({"decision": "maybe"})])
    with pytest.raises(ValidationError) as caught:
        critique(provider, DRAFT, max_tokens=100)
    assert "after one repair request" in str(caught.value)
    assert [d.field for d in caught.value.details] == ["critique.decision"]
    assert "'pass' or 'revise'" in caught.value.details[0].problem
