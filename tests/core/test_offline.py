"""The offline provider: deterministic drafts, measured critiques, revisions that act on them."""

import json

from ecl_core.llm.providers.offline import OFFLINE_MARK, OfflineProvider
from ecl_core.loop import LoopState, next_action
from ecl_core.prompts import load_prompt
from ecl_core.steps.critique import critique
from ecl_core.steps.generate import generate
from ecl_core.steps.revise import revise

from scenarios import TOPIC


def _loop(topic: str) -> tuple[list[str], list[str]]:
    """Run the loop to its cap on the offline provider; return drafts and decisions."""
    provider = OfflineProvider()
    state = LoopState(max_revisions=3, draft=generate(provider, topic, max_tokens=1024).output)
    drafts, decisions = [state.draft.text], []
    while True:
        verdict = critique(provider, state.draft, max_tokens=1024).output
        decisions.append(verdict.decision)
        state = state.model_copy(update={"critique": verdict})
        if next_action(state) != "revise":
            return drafts, decisions
        new = revise(provider, state.draft, verdict, max_tokens=1024).output
        state = LoopState(max_revisions=3, draft=new)
        drafts.append(new.text)


def test_the_example_topic_needs_at_least_one_revision_then_passes():
    drafts, decisions = _loop(TOPIC)
    assert decisions[0] == "revise"
    assert decisions[-1] == "pass"
    assert len(drafts) >= 2


def test_it_is_deterministic():
    assert _loop(TOPIC) == _loop(TOPIC)


def test_its_outputs_say_they_are_offline():
    drafts, _ = _loop(TOPIC)
    assert all(OFFLINE_MARK in d for d in drafts)
    first = generate(OfflineProvider(), TOPIC, max_tokens=9).output
    verdict = critique(OfflineProvider(), first, max_tokens=9).output
    assert verdict.critique.startswith("Offline critique")


def test_the_critique_reports_measured_problems_as_json():
    provider = OfflineProvider()
    draft = generate(provider, TOPIC, max_tokens=100).output
    request = load_prompt("critique").request(max_tokens=100, topic=TOPIC, draft=draft.text)
    reply = provider.complete(request)
    verdict = json.loads(reply.text)
    assert verdict["decision"] == "revise"
    assert "- length:" in verdict["feedback"] and "- sentence length:" in verdict["feedback"]


def test_unusual_topics_still_pass_within_the_cap():
    for topic in ["AI", "x" * 2000, "Émigré cafés in 1920s Paris", "a b c " * 50]:
        drafts, decisions = _loop(topic)
        assert decisions[-1] == "pass", topic
        assert all(len(d) <= 2000 for d in drafts)
