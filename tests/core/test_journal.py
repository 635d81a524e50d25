"""The LLM-response journal: answers reused within a lineage, never across lineages."""

import os
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from ecl_core.db import engine
from ecl_core.errors import TransientLLMError, ValidationError
from ecl_core.llm.journal import JournaledProvider, journal_scope, request_hash
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.types import CompletionRequest, Message

REQUEST = CompletionRequest(
    system="s", messages=(Message(role="user", content="u"),), max_tokens=8, step="critique"
)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ecl.db'}"


def _journaled(db_url, script, **kwargs):
    inner = ScriptedProvider(script)
    return JournaledProvider(inner, db_url, lease_s=kwargs.pop("lease_s", 60), **kwargs), inner


def test_the_same_step_in_the_same_lineage_gets_the_journaled_answer(db_url):
    provider, inner = _journaled(db_url, ["first", "second"])
    with journal_scope("run-1", "critique_draft_0"):
        first = provider.complete(REQUEST)
    with journal_scope("run-1", "critique_draft_0"):
        again = provider.complete(REQUEST)
    assert (first.text, first.journaled) == ("first", False)
    assert (again.text, again.journaled) == ("first", True)
    assert len(inner.requests) == 1


def test_a_new_process_in_the_same_lineage_reads_it_too(db_url):
    provider, _ = _journaled(db_url, ["first"])
    with journal_scope("run-1", "s"):
        provider.complete(REQUEST)
    other, other_inner = _journaled(db_url, ["never"])
    with journal_scope("run-1", "s"):
        assert other.complete(REQUEST).text == "first"
    assert other_inner.requests == []


@pytest.mark.parametrize(
    ("scope", "request_"),
    [
        (("run-2", "s"), REQUEST),
        (("run-1", "other_step"), REQUEST),
        (("run-1", "s"), REQUEST.model_copy(update={"max_tokens": 9})),
    ],
    ids=["other-lineage", "other-step", "other-request"],
)
def test_anything_else_is_a_new_call(db_url, scope, request_):
    provider, inner = _journaled(db_url, ["first", "second"])
    with journal_scope("run-1", "s"):
        provider.complete(REQUEST)
    with journal_scope(*scope):
        assert provider.complete(request_).text == "second"
    assert len(inner.requests) == 2


def test_calls_outside_a_scope_are_not_journaled(db_url):
    provider, inner = _journaled(db_url, ["first", "second"])
    assert provider.complete(REQUEST).text == "first"
    assert provider.complete(REQUEST).text == "second"


def test_a_failed_call_leaves_no_entry(db_url):
    provider, inner = _journaled(db_url, [{"error": "transient", "message": "x"}, "ok"])
    with journal_scope("run-1", "s"), pytest.raises(TransientLLMError):
        provider.complete(REQUEST)
    with journal_scope("run-1", "s"):
        assert provider.complete(REQUEST).text == "ok"


def test_a_scope_ending_invalid_forgets_its_answers(db_url):
    provider, inner = _journaled(db_url, ["unusable", "better"])
    with pytest.raises(ValidationError), journal_scope("run-1", "s"):
        provider.complete(REQUEST)
        raise ValidationError("bad answer", [])
    with journal_scope("run-1", "s"):
        assert provider.complete(REQUEST).text == "better"


def test_a_live_claim_is_waited_for_not_called_again(db_url):
    release = threading.Event()

    class Slow(ScriptedProvider):
        def complete(self, request):
            release.wait(10)
            return super().complete(request)

    holder = JournaledProvider(Slow(["from the holder"]), db_url, lease_s=60, poll_s=0.01)
    waiter, waiter_inner = _journaled(db_url, ["never"], poll_s=0.01)
    answers = {}

    def call(name, provider):
        with journal_scope("run-1", "s"):
            answers[name] = provider.complete(REQUEST)

    first = threading.Thread(target=call, args=("holder", holder))
    first.start()
    time.sleep(0.2)
    second = threading.Thread(target=call, args=("waiter", waiter))
    second.start()
    time.sleep(0.2)
    assert "waiter" not in answers
    release.set()
    first.join(10)
    second.join(10)
    assert answers["waiter"].text == "from the holder" and answers["waiter"].journaled
    assert waiter_inner.requests == []


def _claim_as(db_url, owner, claimed_at):
    key = request_hash("scripted", "scripted", REQUEST)
    with engine(db_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ecl_llm_journal (lineage, step_key, request_hash, owner, claimed_at)"
                " VALUES ('run-1', 's', :h, :o, :t)"
            ),
            {"h": key, "o": owner, "t": claimed_at},
        )


def test_a_claim_whose_owner_died_on_this_host_is_taken_over(db_url):
    dead_pid = 2**22 + 12345
    with pytest.raises(ProcessLookupError):
        os.kill(dead_pid, 0)
    _claim_as(db_url, f"{socket.gethostname()}:{dead_pid}:abcd", time.time())
    provider, inner = _journaled(db_url, ["fresh"], poll_s=0.01)
    with journal_scope("run-1", "s"):
        assert provider.complete(REQUEST).text == "fresh"


def test_a_claim_past_its_lease_is_taken_over(db_url):
    _claim_as(db_url, "another-host:1:abcd", time.time() - 120)
    provider, _ = _journaled(db_url, ["fresh"], lease_s=60, poll_s=0.01)
    with journal_scope("run-1", "s"):
        assert provider.complete(REQUEST).text == "fresh"
