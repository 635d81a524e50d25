"""The steps a re-execution from failure must run: Dagster's selection, and what it misses.

Dagster's from-failure selection (``KnownExecutionState.build_resume_retry_reexecution``,
dagster 1.13.27) leaves out a mapped step whose dynamic output was produced but which
never started: it takes a mapped step absent from the event log for one whose output had
no items. A run killed between ``critique_draft_0``'s ``revise`` output and the start of
``revise_draft_1[revision_1]`` is then re-executed with ``critique_draft_1`` alone, which
has no draft (docs/dagster-notes.md). ``resume_selection`` adds such steps back: every
resolved mapped step whose upstream produced its mapping key in the parent run and which
did not start there. The steps after them are already in Dagster's selection (they did not
run either).
"""

from collections import defaultdict
from dataclasses import dataclass

import dagster as dg
from dagster._core.execution.plan.state import KnownExecutionState

__all__ = ["ResumeSelection", "resume_selection"]


@dataclass(frozen=True)
class ResumeSelection:
    """What to run again, and what of it Dagster's own selection would have left out.

    Attributes:
        step_keys: Every step key to execute, Dagster's first.
        added: The mapped steps ECL added (empty when Dagster's selection is whole).
        known_state: The parent's dynamic outputs, for the steps not executed again.
    """

    step_keys: list[str]
    added: list[str]
    known_state: KnownExecutionState


def resume_selection(instance: dg.DagsterInstance, parent: dg.DagsterRun) -> ResumeSelection:
    """The from-failure selection of ``parent``, with the mapped steps Dagster misses.

    Raises:
        DagsterInvariantViolationError: ``parent`` did not fail and was not canceled.
    """
    keys, known = KnownExecutionState.build_resume_retry_reexecution(instance, parent_run=parent)
    produced: dict[tuple[str, str], list[str]] = defaultdict(list)
    started: set[str] = set()
    for record in instance.all_logs(parent.run_id, of_type={
            dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_OUTPUT}):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started.add(event.step_key)
        elif (output := event.step_output_data).mapping_key:
            produced[(event.step_key, output.output_name)].append(output.mapping_key)
    snapshot = instance.get_execution_plan_snapshot(parent.execution_plan_snapshot_id or "")
    added: list[str] = []
    for step in snapshot.steps:
        if not step.key.endswith("[?]"):
            continue
        for step_input in step.inputs:
            for upstream in step_input.upstream_output_handles:
                for mapping_key in produced.get((upstream.step_key, upstream.output_name), []):
                    resolved = f"{step.key[:-3]}[{mapping_key}]"
                    if resolved not in started and resolved not in keys and resolved not in added:
                        added.append(resolved)
    selected = [*keys, *added]
    return ResumeSelection(step_keys=selected, added=added,
                           known_state=known.update_for_step_selection(selected))
