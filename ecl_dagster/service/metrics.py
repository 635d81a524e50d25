"""``/metrics``: Prometheus metrics read from the instance and ECL's database at each scrape.

Nothing is counted in the API's memory but its own requests, so every replica and every
restart reports the same figures:

* ``ecl_runs{state, workflow}``: runs of the instance by state and workflow (job);
* ``ecl_run_retries_total{workflow}``: runs the daemon launched as automatic run retries;
* ``ecl_llm_calls_total{workflow, provider, model}`` and ``ecl_llm_journaled_calls_total``;
* ``ecl_llm_tokens_total{workflow, provider, model, kind}``: kind ``input``, ``output``,
  ``cache_creation``, ``cache_read`` (the Messages API's usage fields);
* ``ecl_llm_cost_usd_total{workflow, provider, model}``: USD of priced calls;
* ``ecl_breaker_state{name, state}``: 1 for each breaker's current state, 0 for the others;
  ``ecl_breaker_opens_total{name}``: times it opened;
* ``ecl_api_requests_total{method, route, status}``: this process's HTTP requests.
"""

from collections.abc import Iterator

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.runs.schema import RunsTable, RunTagsTable
from dagster._core.storage.tags import RETRY_NUMBER_TAG
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ecl_core.llm.breaker_store import breaker_states
from ecl_dagster.storage.ecl_db import ecl_db_url
from ecl_dagster.usage.tags import usage_ledger

__all__ = ["EclCollector", "registry_for"]

BREAKER_STATES = ("closed", "open", "half-open")


class EclCollector(Collector):
    """Collects the instance's and the ledger's figures (module docstring) at each scrape."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance

    def _run_counts(self) -> tuple[list[tuple[str, str, int]], list[tuple[str, int]]]:
        # One GROUP BY on the run storage (SqlRunStorage, SQLite and Postgres alike;
        # docs/dagster-notes.md): RunsFilter can count only one state and job at a time.
        runs = RunsTable.c
        tags = RunTagsTable.c
        by_state = sa.select(runs.pipeline_name, runs.status, sa.func.count()).group_by(
            runs.pipeline_name, runs.status)
        retries = (
            sa.select(runs.pipeline_name, sa.func.count())
            .select_from(RunsTable.join(RunTagsTable, tags.run_id == runs.run_id))
            .where(tags.key == RETRY_NUMBER_TAG).group_by(runs.pipeline_name)
        )
        with self._instance.run_storage.connect() as conn:  # type: ignore[attr-defined]
            states = [(str(j), str(s), int(n)) for j, s, n in conn.execute(by_state)]
            retried = [(str(j), int(n)) for j, n in conn.execute(retries)]
        return states, retried

    def collect(self) -> Iterator[Metric]:
        """The metrics of the module docstring, read now."""
        states, retried = self._run_counts()
        runs = GaugeMetricFamily("ecl_runs", "Runs by state and workflow.",
                                 labels=["state", "workflow"])
        for job, state, count in states:
            runs.add_metric([state, job], count)
        yield runs
        retries = CounterMetricFamily("ecl_run_retries", "Automatic run retries launched.",
                                      labels=["workflow"])
        for job, count in retried:
            retries.add_metric([job], count)
        yield retries
        yield from self._llm()
        yield from self._breakers()

    def _llm(self) -> Iterator[Metric]:
        labels = ["workflow", "provider", "model"]
        calls = CounterMetricFamily("ecl_llm_calls", "LLM calls answered, journaled ones "
                                    "included.", labels=labels)
        journaled = CounterMetricFamily("ecl_llm_journaled_calls", "LLM calls answered from "
                                        "the journal (billed nothing).", labels=labels)
        tokens = CounterMetricFamily("ecl_llm_tokens", "Tokens billed, by kind.",
                                     labels=[*labels, "kind"])
        cost = CounterMetricFamily("ecl_llm_cost_usd", "USD billed by priced calls.",
                                   labels=labels)
        for total in usage_ledger(self._instance).by_model():
            names = [total.workflow, total.provider, total.model]
            calls.add_metric(names, total.calls)
            journaled.add_metric(names, total.journaled_calls)
            usage = total.usage
            for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens),
                                ("cache_creation", usage.cache_creation_input_tokens),
                                ("cache_read", usage.cache_read_input_tokens)):
                tokens.add_metric([*names, kind], count)
            cost.add_metric(names, total.cost_usd)
        yield from (calls, journaled, tokens, cost)

    def _breakers(self) -> Iterator[Metric]:
        state = GaugeMetricFamily("ecl_breaker_state", "1 for each shared circuit breaker's "
                                  "current state.", labels=["name", "state"])
        opens = CounterMetricFamily("ecl_breaker_opens", "Times a breaker opened.",
                                    labels=["name"])
        for breaker in breaker_states(ecl_db_url(self._instance)):
            for name in BREAKER_STATES:
                state.add_metric([breaker.name, name], float(breaker.state == name))
            opens.add_metric([breaker.name], breaker.opens)
        yield from (state, opens)


def registry_for(instance: dg.DagsterInstance) -> tuple[CollectorRegistry, Counter]:
    """A registry with the ECL collector, and the API's request counter registered in it."""
    registry = CollectorRegistry()
    registry.register(EclCollector(instance))
    requests = Counter("ecl_api_requests", "HTTP requests answered by this process.",
                       ["method", "route", "status"], registry=registry)
    return registry, requests
