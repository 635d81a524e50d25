"""What a person or a program reads of ECL's runs: one set of shapes for the CLI and the API.

``ecl list|status --format json`` prints these models and the HTTP API returns them, so
the two cannot drift apart. Everything is read from the instance (runs, step stats, event
log) and from the usage ledger in ECL's database; nothing is cached.

A run is named by its id or by a unique prefix of it of at least 4 characters (the UI
shows the first 8): ``resolve_run_id``.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import dagster as dg
from dagster._core.storage.runs.schema import RunsTable
from pydantic import BaseModel, Field

from ecl_core.bounds import whole_number
from ecl_core.usage.ledger import UsageTotal
from ecl_core.usage.prices import usd_text
from ecl_dagster.analyzer.sensor import MIGRATION_JOB
from ecl_dagster.resources import PROVIDER_TAG
from ecl_dagster.review.awaiting import REVIEW_ID_TAG, REVIEW_STATE_TAG
from ecl_dagster.runs.orphans import run_worker
from ecl_dagster.storage.io_managers import ASSETS_DIR, OUTPUTS_DIR
from ecl_dagster.usage.tags import (
    CALLS_TAG,
    COST_TAG,
    TOKENS_TAG,
    partition_lineage_key,
    usage_ledger,
)

__all__ = [
    "SHORT_ID_CHARS",
    "Artifact",
    "RunDetail",
    "RunPage",
    "RunSummary",
    "StepView",
    "UnknownRun",
    "UsageView",
    "artifact_path",
    "artifacts",
    "list_runs",
    "resolve_run_id",
    "run_detail",
    "run_steps",
    "run_summary",
    "short_id",
]

SHORT_ID_CHARS = 8
"""The characters of a run id the UI and ``ecl list`` show."""
MIN_PREFIX_CHARS = 4
MAX_TAG_FILTERS = 10
"""The most tag filters one listing takes."""
MAX_TAG_FILTER_CHARS = 512
"""The longest tag filter (key and value), in characters."""
MAX_RUN_ID_CHARS = 36
"""A run id is a UUID: 36 characters."""
_PREFIX = re.compile(r"^[0-9a-f-]+$")

RunState = Literal[
    "QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "SUSPENDED", "SUCCESS",
    "FAILURE", "CANCELING", "CANCELED",
]
"""Every ``DagsterRunStatus`` of dagster 1.13 (a test keeps them equal)."""
StepState = Literal["succeeded", "failed", "skipped", "running"]


class UnknownRun(LookupError):
    """No run, or more than one, has this id or prefix; the message says which.

    Attributes:
        reason: ``malformed`` (too short, or not a run id's characters), ``unknown`` or
            ``ambiguous``.
    """

    def __init__(self, message: str, reason: Literal["malformed", "unknown", "ambiguous"]
                 ) -> None:
        super().__init__(message)
        self.reason = reason


class UsageView(BaseModel):
    """LLM calls, tokens by kind and cost, from the usage ledger."""

    calls: int = Field(description="Calls answered, journaled ones included.")
    journaled_calls: int = Field(description="Of those, answered from the journal (unbilled).")
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    total_tokens: int = Field(description="Every kind of token above, summed.")
    cost_usd: str | None = Field(
        description="Exact USD as a decimal string; null when a model had no price."
    )
    unpriced_calls: int = Field(description="Calls of a model without a price.")

    @classmethod
    def of(cls, total: UsageTotal) -> "UsageView":
        """The view of a ledger total."""
        usage = total.usage
        return cls(
            calls=total.calls,
            journaled_calls=total.journaled_calls,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
            total_tokens=usage.total_tokens,
            cost_usd=None if total.cost_usd is None else usd_text(total.cost_usd),
            unpriced_calls=total.unpriced_calls,
        )


class RunSummary(BaseModel):
    """One run in a list: identity, state, times, provider and its usage tags."""

    run_id: str
    short_id: str = Field(description=f"The first {SHORT_ID_CHARS} characters of run_id.")
    workflow: str = Field(description="The job's name: a workflow id, or the migration job.")
    state: RunState
    created_at: str = Field(description="ISO 8601, UTC.")
    started_at: str | None
    ended_at: str | None
    duration_s: float | None = Field(description="Seconds from start to end (or to now).")
    provider: str | None = Field(
        description="The run's LLM provider ('auto' resolved), from a run tag written as the "
        "run sets up its LLM resource.")
    llm_calls: int | None = Field(
        description="From the run tag ecl/llm_calls, written when the run ends.")
    total_tokens: int | None = Field(
        description="From the run tag ecl/total_tokens, written when the run ends.")
    cost_usd: str | None = Field(
        description="From the run tag ecl/cost_usd (or 'unknown'), written when the run ends.")
    parent_run_id: str | None
    root_run_id: str | None
    tags: dict[str, str]


class StepView(BaseModel):
    """One step of a run."""

    key: str
    state: StepState
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    attempts: int
    error: str | None = Field(description="Why it failed; after retries, the last error too.")


class RunDetail(RunSummary):
    """One run in full: its steps, revisions, result or errors, and usage from the ledger."""

    steps: list[StepView]
    revisions: int = Field(description="The highest draft revision the run produced.")
    final_output: str | None = Field(description="The final step's text, when it has one.")
    errors: list[str] = Field(description="'<step>: <error>' for each failed step.")
    usage: UsageView
    lineage_usage: UsageView | None = Field(
        description="A re-execution's whole lineage; an analysis run's whole request."
    )
    review_id: str | None
    review_state: str | None = Field(description="awaiting, answered or resumed.")
    worker_gone: str | None = Field(
        description="The dead worker of a run left STARTED; `ecl reexecute` recovers it."
    )


class RunPage(BaseModel):
    """A page of runs, newest first; pass ``cursor`` back for the next page."""

    runs: list[RunSummary]
    cursor: str | None = Field(description="The next page's cursor; null on the last page.")


class Artifact(BaseModel):
    """A step output stored by the JSON IO manager."""

    name: str = Field(description="'<step key>/<output>[/<mapping key>]', or an asset's "
                      "'<asset key path>/<partition>'.")
    step_key: str
    output: str
    bytes: int = Field(description="The file's size in bytes.")


def short_id(run_id: str) -> str:
    """The first ``SHORT_ID_CHARS`` characters of a run id."""
    return run_id[:SHORT_ID_CHARS]


def resolve_run_id(instance: dg.DagsterInstance, given: str) -> str:
    """The full id of the one run whose id is ``given`` or starts with it.

    Raises:
        UnknownRun: No run matches, more than one does, or ``given`` is shorter than
            ``MIN_PREFIX_CHARS`` characters, longer than a run id (``MAX_RUN_ID_CHARS``), or
            not made of a run id's characters (checked before any query).
    """
    prefix = given.strip().lower()
    if not MIN_PREFIX_CHARS <= len(prefix) <= MAX_RUN_ID_CHARS or not _PREFIX.match(prefix):
        shown = given if len(given) <= 40 else f"{given[:40]}... ({len(given):,} characters)"
        raise UnknownRun(
            f"run id {shown!r}: give a run id or a prefix of {MIN_PREFIX_CHARS} to "
            f"{MAX_RUN_ID_CHARS} of its characters (0-9, a-f, -)", "malformed"
        )
    if instance.has_run(prefix):
        return prefix
    # Dagster's RunsFilter matches whole ids only; a prefix is one LIKE on the runs table
    # (SqlRunStorage, both SQLite and Postgres; docs/dagster-notes.md).
    query = RunsTable.select().with_only_columns(RunsTable.c.run_id).where(
        RunsTable.c.run_id.like(f"{prefix}%")
    ).limit(2)
    with instance.run_storage.connect() as conn:  # type: ignore[attr-defined]
        found = [row[0] for row in conn.execute(query)]
    if not found:
        raise UnknownRun(f"no run {given!r} in this instance", "unknown")
    if len(found) > 1:
        raise UnknownRun(f"run id prefix {given!r} is ambiguous ({', '.join(found)}, ...)",
                         "ambiguous")
    return str(found[0])


def _iso(timestamp: float | datetime | None) -> str | None:
    if timestamp is None:
        return None
    moment = (timestamp if isinstance(timestamp, datetime)
              else datetime.fromtimestamp(timestamp, UTC))
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _duration(start: float | None, end: float | None) -> float | None:
    if start is None:
        return None
    ended = end if end is not None else datetime.now(UTC).timestamp()
    return round(ended - start, 3)


def _int_tag(tags: Mapping[str, str], key: str) -> int | None:
    value = tags.get(key)
    return whole_number(value) if value is not None else None


def _summary_fields(record: dg.RunRecord) -> dict[str, object]:
    run = record.dagster_run
    tags = dict(run.tags)
    return {
        "run_id": run.run_id,
        "short_id": short_id(run.run_id),
        "workflow": run.job_name,
        "state": run.status.value,
        "created_at": _iso(record.create_timestamp),
        "started_at": _iso(record.start_time),
        "ended_at": _iso(record.end_time),
        "duration_s": _duration(record.start_time, record.end_time),
        "provider": tags.get(PROVIDER_TAG),
        "llm_calls": _int_tag(tags, CALLS_TAG),
        "total_tokens": _int_tag(tags, TOKENS_TAG),
        "cost_usd": tags.get(COST_TAG),
        "parent_run_id": run.parent_run_id,
        "root_run_id": run.root_run_id,
        "tags": tags,
    }


def _record(instance: dg.DagsterInstance, run_id: str) -> dg.RunRecord:
    records = instance.get_run_records(dg.RunsFilter(run_ids=[run_id]), limit=1)
    if not records:
        raise UnknownRun(f"no run {run_id!r} in this instance", "unknown")
    return records[0]


def run_summary(instance: dg.DagsterInstance, run_id: str) -> RunSummary:
    """The summary of run ``run_id`` (a full id).

    Raises:
        UnknownRun: No such run.
    """
    return RunSummary.model_validate(_summary_fields(_record(instance, run_id)))


def list_runs(
    instance: dg.DagsterInstance,
    *,
    states: Sequence[str] = (),
    workflow: str | None = None,
    tags: Mapping[str, str] | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> RunPage:
    """Runs newest first, filtered by state (DagsterRunStatus values), workflow and tags.

    ``cursor`` is the last run id of the previous page.

    Raises:
        ValueError: An unknown state (the message starts ``state:``), or more than
            ``MAX_TAG_FILTERS`` tag filters or one longer than ``MAX_TAG_FILTER_CHARS``
            (``tag:``); each becomes one SQL condition, and SQLite refuses too many.
    """
    given = dict(tags or {})
    if len(given) > MAX_TAG_FILTERS:
        raise ValueError(f"tag: {len(given)} tag filters; at most {MAX_TAG_FILTERS}")
    if any(len(k) + len(v) > MAX_TAG_FILTER_CHARS for k, v in given.items()):
        raise ValueError(f"tag: a filter has at most {MAX_TAG_FILTER_CHARS} characters")
    try:
        statuses = [dg.DagsterRunStatus(state.upper()) for state in states]
    except ValueError as err:
        known = ", ".join(s.value for s in dg.DagsterRunStatus)
        raise ValueError(f"state: {err}; one of {known}") from None
    filters = dg.RunsFilter(statuses=statuses, job_name=workflow, tags=given)
    records = instance.get_run_records(filters, limit=limit + 1, cursor=cursor)
    page = [RunSummary.model_validate(_summary_fields(r)) for r in records[:limit]]
    more = len(records) > limit
    return RunPage(runs=page, cursor=page[-1].run_id if more and page else None)


def _failure_text(event: dg.DagsterEvent) -> str:
    """A step failure's description; after exhausted retries, also the error that caused it.

    When a step's RetryPolicy runs out, Dagster's failure says only "Exceeded max_retries of
    N"; the error of the last attempt is its cause (docs/dagster-notes.md).
    """
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return data.user_failure_data.description
    error = data.error
    if error is None:
        return "unknown error"
    text = error.message.strip()
    cause = error.cause
    while cause is not None and cause.cause is not None:
        cause = cause.cause
    if cause is not None:
        text += f"; last error: {cause.message.strip()}"
    return text


_STEP_STATE: dict[str, StepState] = {
    "SUCCESS": "succeeded", "FAILURE": "failed", "SKIPPED": "skipped", "IN_PROGRESS": "running",
}


def _failures(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Each failed step's error (``_failure_text``), by step key, from its failure events."""
    failures = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        if event is not None and event.step_key:
            failures[event.step_key] = _failure_text(event)
    return failures


def run_steps(
    instance: dg.DagsterInstance, run_id: str, failures: dict[str, str] | None = None
) -> list[StepView]:
    """Each step of a run (a full id): state, times, attempts, error (``GET .../steps``).

    ``failures`` are the run's step errors when the caller has read them already.
    """
    errors = _failures(instance, run_id) if failures is None else failures
    return [
        StepView(
            key=stats.step_key,
            state=_STEP_STATE[stats.status.value] if stats.status else "running",
            started_at=_iso(stats.start_time),
            ended_at=_iso(stats.end_time),
            duration_s=_duration(stats.start_time, stats.end_time),
            attempts=stats.attempts or 1,
            error=errors.get(stats.step_key),
        )
        for stats in instance.get_run_step_stats(run_id)
    ]


def run_detail(instance: dg.DagsterInstance, run_id: str) -> RunDetail:
    """Everything ``ecl status`` and ``GET /workflows/{run_id}`` show of a run (a full id).

    It reads the run's failure and output events only, not its whole event log.

    Raises:
        UnknownRun: No such run.
    """
    record = _record(instance, run_id)
    run = record.dagster_run
    errors = _failures(instance, run_id)
    revisions = 0
    final_output = None
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_OUTPUT):
        event = entry.dagster_event
        if event is None or not event.is_successful_output:
            continue
        metadata = event.step_output_data.metadata
        if "revision" in metadata:
            revisions = max(revisions, int(metadata["revision"].value))  # type: ignore[arg-type]
        if "text" in metadata:  # the final step's draft (ecl_dagster.workflows.metadata)
            final_output = str(metadata["text"].value)
    steps = run_steps(instance, run_id, errors)
    ledger = usage_ledger(instance)
    lineage = None
    partition = run.tags.get("dagster/partition")
    if run.job_name == MIGRATION_JOB and partition:
        lineage = ledger.total(lineage=partition_lineage_key(partition))
    elif run.parent_run_id:
        lineage = ledger.total(lineage=run.root_run_id)
    worker = run_worker(instance, run)
    return RunDetail.model_validate({
        **_summary_fields(record),
        "steps": steps,
        "revisions": revisions,
        "final_output": final_output,
        "errors": [f"{key}: {text}" for key, text in errors.items()],
        "usage": UsageView.of(ledger.total(run_id=run_id)),
        "lineage_usage": None if lineage is None else UsageView.of(lineage),
        "review_id": run.tags.get(REVIEW_ID_TAG),
        "review_state": run.tags.get(REVIEW_STATE_TAG),
        "worker_gone": worker.describe() if worker is not None and worker.gone else None,
    })


def _output_paths(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[Artifact, Path]]:
    """The files of the run's handled outputs that lie inside the instance's storage folder.

    An artifact's name is its file's path below the run's outputs folder (or below the
    assets folder, for an asset), without ``.json``: ``ecl_dagster.storage.io_managers``.
    """
    storage = Path(instance.storage_directory()).resolve()
    areas = [storage / OUTPUTS_DIR / run_id, storage / ASSETS_DIR]
    found: dict[str, tuple[Artifact, Path]] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.HANDLED_OUTPUT):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        data = event.event_specific_data
        path_value = data.metadata.get("path")  # type: ignore[union-attr]
        if path_value is None:
            continue
        path = Path(str(path_value.value)).resolve()
        area = next((a for a in areas if path.is_relative_to(a)), None)
        if area is None or not path.is_file():
            continue  # only what the JSON IO manager stored in this instance's folder
        name = path.relative_to(area).with_suffix("").as_posix()
        found[name] = (
            Artifact(name=name, step_key=event.step_key,
                     output=data.output_name, bytes=path.stat().st_size),  # type: ignore[union-attr]
            path,
        )
    return found


def artifacts(instance: dg.DagsterInstance, run_id: str) -> list[Artifact]:
    """The step outputs a run stored as JSON files, in the order they were stored."""
    return [artifact for artifact, _ in _output_paths(instance, run_id).values()]


def artifact_path(instance: dg.DagsterInstance, run_id: str, name: str) -> Path:
    """The file of a run's artifact ``name``, one of ``artifacts``'s names.

    Only a name the run's own output events list is served, and only from inside the
    instance's storage directory: a name is never joined onto a path.

    Raises:
        KeyError: The run stored no artifact of that name.
    """
    found = _output_paths(instance, run_id)
    if name not in found:
        raise KeyError(name)
    return found[name][1]
