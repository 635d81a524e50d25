"""The LLM-response journal: a completed call is never paid for twice.

Each call made inside a ``journal_scope`` is keyed by the run's lineage (Dagster's root
run id), the step and the SHA-256 of the request (provider, model, system prompt, context,
messages, max_tokens, stop_sequences, output schema). Before calling, a process claims the key in
the ``ecl_llm_journal`` table:

* if the key already holds a response, that response is returned without a call
  (a step retry, or a re-execution of the same step in the same lineage);
* if another live process holds the claim (an orphaned step process still in its
  call), this one waits for that response instead of calling too;
* a claim whose owner died on this host, or whose lease expired, is taken over.

Different lineages never share entries. Calls made outside a scope are not journaled.
A scope that ends in ``ValidationError`` forgets the answers it used: replaying an
answer known to be unusable would fail every re-execution the same way.
"""

import hashlib
import json
import time
from collections.abc import Callable

import sqlalchemy as sa

from ecl_core.db import METADATA, engine
from ecl_core.llm.base import Provider
from ecl_core.llm.journal_scope import JournalScope, current_scope, journal_scope
from ecl_core.logging import get_logger
from ecl_core.process_owner import new_owner, owner_gone
from ecl_core.types import CompletionRequest, CompletionResponse

__all__ = ["JournalScope", "JournaledProvider", "journal_scope", "request_hash"]


_log = get_logger("ecl.llm")
_journal = sa.Table(
    "ecl_llm_journal",
    METADATA,
    sa.Column("lineage", sa.String(64), primary_key=True),
    sa.Column("step_key", sa.String(512), primary_key=True),
    sa.Column("request_hash", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(300), nullable=False),
    sa.Column("claimed_at", sa.Float, nullable=False),
    sa.Column("response", sa.Text, nullable=True),
    sa.Column("completed_at", sa.Float, nullable=True),
)


def request_hash(provider: str, model: str, request: CompletionRequest) -> str:
    """SHA-256 (hex) of what determines a model's answer to ``request``.

    Prompt caching does not change an answer, so ``cache`` is not part of it; a context
    or an output schema is, when the request has one.
    """
    payload: dict[str, object] = {
        "provider": provider,
        "model": model,
        "system": request.system,
        "messages": [m.model_dump() for m in request.messages],
        "max_tokens": request.max_tokens,
        "stop_sequences": list(request.stop_sequences),
    }
    if request.context:
        payload["context"] = request.context
    if request.output_schema is not None:
        payload["output_schema"] = request.output_schema
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class JournaledProvider:
    """Wraps a provider with the journal.

    Args:
        inner: The provider that makes real calls (usually the resilient one).
        url: SQLAlchemy URL of ECL's database.
        lease_s: Seconds after which another process's unfinished claim is taken over.
        poll_s: Seconds between looks at a claim held by another live process.
        sleep: How to wait between looks (tests pass their own).
    """

    def __init__(
        self,
        inner: Provider,
        url: str,
        *,
        lease_s: float,
        poll_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self._engine = engine(url)
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._sleep = sleep
        self._owner = new_owner()

    def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Answer from the journal if this lineage and step already got an answer, else call.

        Raises:
            Whatever the inner provider raises; a failed call leaves no journal entry.
        """
        scope = current_scope()
        if scope is None:
            return self.inner.complete(request)
        key = self._key(scope, request)
        scope.used.append(lambda: self._forget(key))
        while True:
            outcome = self._claim(key)
            if isinstance(outcome, CompletionResponse):
                _log.info(
                    "llm.call",
                    from_journal=True,
                    provider=self.name,
                    model=self.model,
                    step=request.step,
                    request_id=outcome.request_id,
                    input_tokens=outcome.usage.input_tokens,
                    output_tokens=outcome.usage.output_tokens,
                    stop_reason=outcome.stop_reason,
                )
                return outcome
            if outcome == "claimed":
                break
            self._sleep(self._poll_s)
        try:
            response = self.inner.complete(request)
        except BaseException:
            self._release(key)
            raise
        self._record(key, response)
        return response

    def answered(self, request: CompletionRequest) -> bool:
        """Whether the journal holds an answer to ``request`` in the current scope."""
        scope = current_scope()
        if scope is None:
            return False
        key = self._key(scope, request)
        with self._engine.connect() as conn:
            found = conn.execute(
                sa.select(_journal.c.response).where(self._where(key))
            ).scalar_one_or_none()
        return found is not None

    def _key(self, scope: JournalScope, request: CompletionRequest) -> dict[str, str]:
        return {"lineage": scope.lineage, "step_key": scope.step_key,
                "request_hash": request_hash(self.name, self.model, request)}

    def _where(self, key: dict[str, str]) -> sa.ColumnElement[bool]:
        return sa.and_(*(_journal.c[name] == value for name, value in key.items()))

    def _claim(self, key: dict[str, str]) -> CompletionResponse | str:
        now = time.time()
        with self._engine.begin() as conn:
            try:
                with conn.begin_nested():
                    claim = sa.insert(_journal).values(**key, owner=self._owner, claimed_at=now)
                    conn.execute(claim)
                return "claimed"
            except sa.exc.IntegrityError:
                pass
            row = conn.execute(sa.select(_journal).where(self._where(key))).first()
            if row is None:
                return "wait"
            if row.response is not None:
                response = CompletionResponse.model_validate_json(row.response)
                return response.model_copy(update={"journaled": True})
            if not owner_gone(row.owner, row.claimed_at, now, self._lease_s):
                return "wait"
            taken = conn.execute(
                sa.update(_journal)
                .where(self._where(key), _journal.c.owner == row.owner)
                .values(owner=self._owner, claimed_at=now)
            )
            return "claimed" if taken.rowcount == 1 else "wait"

    def _release(self, key: dict[str, str]) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.delete(_journal).where(
                    self._where(key),
                    _journal.c.owner == self._owner,
                    _journal.c.response.is_(None),
                )
            )

    def _forget(self, key: dict[str, str]) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.delete(_journal).where(self._where(key)))

    def _record(self, key: dict[str, str], response: CompletionResponse) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(_journal)
                .where(self._where(key), _journal.c.response.is_(None))
                .values(response=response.model_dump_json(), completed_at=time.time())
            )
