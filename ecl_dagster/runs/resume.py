"""The steps a re-execution from failure must run: Dagster's selection, and what it misses.

Dagster's from-failure selection (``KnownExecutionState.build_resume_retry_reexecution``,
dagster 1.13.27) leaves out a mapped step whose dynamic output was produced but which
never started: it takes a mapped step absent from the event log for one whose output had
no items. A run killed between ``critique_draft_0``'s ``revise`` output and the start of
``revise_draft_1[revision_1]`` is then re-executed with ``critique_draft_1`` alone, which
has no draft (docs/dagster-notes.md). The same holds for a re-execution of that failed
re-execution. ``resume_selection`` adds such steps back: every mapped step whose upstream
produced its mapping key somewhere in the run's lineage (Dagster's known state merges the
lineage's dynamic outputs), which no run of the lineage completed, and which Dagster does
not select already in any form. The steps after them are in Dagster's selection already
(they did not run either).
"""

import re
from dataclasses import dataclass

import dagster as dg
from dagster._core.execution.plan.state import KnownExecutionState

__all__ = ["ADDED_STEPS_TAG", "ResumeSelection", "resume_selection"]

ADDED_STEPS_TAG = "ecl/resume_added_steps"
"""Run tag of a re-execution: the mapped steps ECL added to Dagster's selection."""
_MAPPED = re.compile(r"^(?P<name>.+)\[(?P<key>[^\]]+)\]$")


@dataclass(frozen=True)
class ResumeSelection:
    """What to run again, and what of it Dagster's own selection would have left out.

    Attributes:
        step_keys: Every step key to execute, Dagster's first.
        added: The mapped steps ECL added (empty when Dagster's selection is whole).
        known_state: The lineage's dynamic outputs, for the steps not executed again.
    """

    step_keys: list[str]
    added: list[str]
    known_state: KnownExecutionState


def _completed(instance: dg.DagsterInstance, run: dg.DagsterRun) -> set[str]:
    """The steps that succeeded in ``run`` or any run before it in its lineage."""
    done: set[str] = set()
    current: dg.DagsterRun | None = run
    while current is not None:
        for record in instance.all_logs(current.run_id,
                                        of_type=dg.DagsterEventType.STEP_SUCCESS):
            if record.dagster_event is not None and record.dagster_event.step_key:
                done.add(record.dagster_event.step_key)
        parent_id = current.parent_run_id
        current = instance.get_run_by_id(parent_id) if parent_id else None
    return done


def resume_selection(instance: dg.DagsterInstance, parent: dg.DagsterRun) -> ResumeSelection:
    """The from-failure selection of ``parent``, with the mapped steps Dagster misses.

    Raises:
        DagsterInvariantViolationError: ``parent`` did not fail and was not canceled.
    """
    keys, known = KnownExecutionState.build_resume_retry_reexecution(instance, parent_run=parent)
    selected = set(keys)
    snapshot = instance.get_execution_plan_snapshot(parent.execution_plan_snapshot_id or "")
    completed: set[str] | None = None
    added: list[str] = []
    for step in snapshot.steps:
        mapped = _MAPPED.match(step.key)
        if mapped is None:
            continue
        unresolved = f"{mapped['name']}[?]"
        for step_input in step.inputs:
            for upstream in step_input.upstream_output_handles:
                outputs = known.dynamic_mappings.get(upstream.step_key, {})
                mapping_keys = ([mapped["key"]] if mapped["key"] != "?"
                                else outputs.get(upstream.output_name) or [])
                for mapping_key in mapping_keys:
                    resolved = f"{mapped['name']}[{mapping_key}]"
                    if {resolved, unresolved, upstream.step_key} & selected or resolved in added:
                        continue
                    if completed is None:
                        completed = _completed(instance, parent)
                    if resolved not in completed:
                        added.append(resolved)
    step_keys = [*keys, *added]
    return ResumeSelection(step_keys=step_keys, added=added,
                           known_state=known.update_for_step_selection(step_keys))
