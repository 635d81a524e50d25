"""Canned model answers for critique-revise scenarios."""

import json

API_KEY = "sk-ant-test-7f3c9e1d5b2a48c6-DO-NOT-LEAK"
TOPIC = "Why durable execution matters for long-running LLM workflows"
STACK_DRAFT = "A draft written by the local Messages API server."


def critique_json(decision: str, feedback: str = "") -> str:
    return json.dumps(
        {"decision": decision, "critique": f"critique says {decision}", "feedback": feedback}
    )


def draft_text(revision: int) -> str:
    return f"Draft revision {revision}: durable execution keeps long LLM workflows alive."


def pass_after(revisions: int) -> list[str]:
    """Replies for a run whose critique passes after ``revisions`` revisions."""
    replies = [draft_text(0)]
    for k in range(1, revisions + 1):
        replies += [critique_json("revise", f"improve point {k}"), draft_text(k)]
    return replies + [critique_json("pass")]


def never_pass(max_revisions: int = 3) -> list[str]:
    """Replies for a run whose every critique asks for another revision."""
    replies = [draft_text(0)]
    for k in range(1, max_revisions + 1):
        replies += [critique_json("revise", f"improve point {k}"), draft_text(k)]
    return replies + [critique_json("revise", "still not there")]
