r"""Compile a workflow definition (``ecl_core.workflow``) into a Dagster job.

One op per step occurrence, named by the step id:

* a step with no dependency takes the workflow input as its run config
  (``ops: {<step>: {config: ...}}``), a form built from the workflow's input model;
* a step's dependencies become its inputs (``depends_on``, sequential and conditional
  transitions); a conditional transition is an optional output ``when_<to>`` of its
  source, emitted when the JMESPath condition holds, so ``to`` is skipped otherwise;
* a ``for_each`` step is one op over its dependency's output that runs every item at
  once, up to the LLM resource's ``max_concurrent_calls`` (``ecl_dagster.workflows.mapped``), each
  item a dynamic output (mapping keys ``<field>_<k>``); a step depending on it fans in
  the collected outputs;
* a revision loop is unrolled to its bound the way the critique-revise design does it
  (docs/dagster-notes.md): validator ops ``<validator>_0`` .. ``<validator>_<n>`` and reviser
  ops ``<reviser>_1`` .. ``<reviser>_<n>``; each validator emits the critiqued draft on
  ``revise`` (a dynamic output with zero or one item) or on ``done``; the steps after the
  loop fan in the one ``done`` output produced::

    entry -> validator_0 -(revise)-> reviser_1 -> validator_1 -> ... -> validator_n
                  \-(done)-----------------------------\-(done)-------------\-> after

* a final step (one no other step takes from) records its output as the workflow's result
  asset ``<workflow id>/<step id>``, partitioned by request (``ecl_dagster.workflows.assets``).

Shapes it cannot build (depending on a reviser, for_each or a conditional over a mapped
step or a loop validator, a conditional into a for_each step, a loop whose steps do not
write drafts and critiques) are refused by ``validate`` first, with file, step and rule.
"""

from typing import Any

import dagster as dg

from ecl_core.workflow.definition import (
    RevisionLoop,
    StepDefinition,
    WorkflowDefinition,
    entry_step,
    input_model,
    topological_order,
    validate,
)
from ecl_core.workflow.step import Step, StepRegistry
from ecl_dagster.workflows.assets import WorkflowResult
from ecl_dagster.workflows.mapped import mapped_op
from ecl_dagster.workflows.ops import LLM_POOL, Branch, plain_op, reviser_op, validator_op
from ecl_dagster.workflows.step_execution import StepInput

__all__ = ["LOOP_RUN_RETRY_TAGS", "RUN_RETRY_TAGS", "build_job"]

RUN_RETRY_TAGS = {
    "dagster/max_retries": "3",
    "dagster/retry_strategy": "FROM_FAILURE",
    # Step failures (a 401, MaxRevisionsExceeded) are final or retried by the op's
    # RetryPolicy; run retries are for runs whose worker died.
    "dagster/retry_on_asset_or_op_failure": "false",
}
"""Resume a run whose worker died from the failed step (needs run_retries in dagster.yaml)."""

LOOP_RUN_RETRY_TAGS = {**RUN_RETRY_TAGS, "dagster/retry_strategy": "ALL_STEPS"}
"""For a workflow with a revision loop: a run retry re-executes every step. The daemon
computes a run retry's steps with Dagster's own from-failure selection, which misses a loop's
mapped reviser that never started (``ecl_dagster.runs.resume``); every step again is always
right, and the LLM-response journal answers each call already paid with the same request (a
``for_each`` fan-out is one op, with no mapped step after it, so it does not need this)."""


class _Compiler:
    """Builds the ops of a validated workflow and invokes them inside a job body."""

    def __init__(
        self, workflow: WorkflowDefinition, registry: StepRegistry, pool: str | None
    ) -> None:
        self.workflow = workflow
        self.pool = pool
        self.steps: dict[str, Step[Any, Any]] = {
            s.id: registry.get(s.type)() for s in workflow.steps
        }
        self.loops = {loop.validator: loop for loop in workflow.loops()}
        self.revisers = {loop.reviser for loop in workflow.loops()}
        self.entries = {
            workflow.dependencies(v)[0]: loop for v, loop in self.loops.items()
        }
        self.mapped = {s.id for s in workflow.steps if s.for_each}
        self.conditions = workflow.conditions()
        self.sources = {source for source, _ in workflow.edges()}
        self.input_model = input_model(workflow)
        self.root = entry_step(workflow)

    def branches(self, step: StepDefinition) -> list[Branch]:
        return [
            Branch(name=f"when_{to}", condition=condition)
            for (source, to), condition in self.conditions.items() if source == step.id
        ]

    def op(self, step: StepDefinition) -> dg.OpDefinition:
        if step.for_each:
            (source,) = self.workflow.dependencies(step.id)
            return mapped_op(
                step.id, step, self.steps[step.id], source=source, for_each=step.for_each,
                pool=self.pool,
            )
        dependencies = self.workflow.dependencies(step.id)
        fields = {dep: name for name, dep in step.inputs.items()}
        inputs = [
            StepInput(
                name=dep,
                field=fields.get(dep, dep if dep in self.mapped else None),
                outcome=dep in self.loops,
            )
            for dep in dependencies
        ]
        final = step.id not in self.sources
        return plain_op(
            step.id,
            step,
            self.steps[step.id],
            inputs=inputs,
            workflow_input=None if dependencies else self.input_model,
            branches=self.branches(step),
            loop=self.entries.get(step.id),
            final=final,
            result_asset=(
                WorkflowResult(self.workflow.id, step.id, self.root, self.input_model)
                if final else None
            ),
            pool=self.pool,
        )

    def compose(self) -> None:
        """Invoke every op in dependency order; call inside a job body."""
        outputs: dict[str, dict[str, Any]] = {}
        mapped: dict[str, Any] = {}
        outcomes: dict[str, list[Any]] = {}

        def source(dep: str, consumer: str) -> Any:
            if dep in outcomes:
                return outcomes[dep]
            if dep in mapped:
                return mapped[dep].collect()
            name = f"when_{consumer}" if (dep, consumer) in self.conditions else "result"
            return outputs[dep][name]

        for step_id in topological_order(self.workflow):
            step = self.workflow.step(step_id)
            if step_id in self.revisers:
                continue
            if step_id in self.loops:
                outcomes[step_id] = self.unroll(self.loops[step_id], outputs)
                continue
            op = self.op(step)
            dependencies = self.workflow.dependencies(step_id)
            if step.for_each:
                (parent,) = dependencies
                mapped[step_id] = op(**{parent: outputs[parent]["result"]})
                continue
            invoked = op(**{dep: source(dep, step_id) for dep in dependencies})
            names = list(op.outs)
            outputs[step_id] = (
                {names[0]: invoked} if len(names) == 1 else dict(zip(names, invoked, strict=True))
            )

    def unroll(self, loop: RevisionLoop, outputs: dict[str, dict[str, Any]]) -> list[Any]:
        validator, reviser = self.workflow.step(loop.validator), self.workflow.step(loop.reviser)
        validate_op = validator_op(validator.id, validator, self.steps[validator.id],
                                   pool=self.pool)
        revise_op = reviser_op(reviser.id, reviser, self.steps[reviser.id], pool=self.pool)
        (entry_step,) = self.workflow.dependencies(validator.id)
        entry = outputs[entry_step]["result"]
        level_outputs = validate_op.alias(f"{validator.id}_0")([entry])
        done_outputs = [level_outputs.done]
        for level in range(1, (loop.max_iterations or 0) + 1):
            revised = level_outputs.revise.map(revise_op.alias(f"{reviser.id}_{level}"))
            level_outputs = validate_op.alias(f"{validator.id}_{level}")(revised.collect())
            done_outputs.append(level_outputs.done)
        return done_outputs


def build_job(
    workflow: WorkflowDefinition,
    registry: StepRegistry,
    *,
    executor_def: dg.ExecutorDefinition = dg.in_process_executor,
) -> dg.JobDefinition:
    """Compile ``workflow`` into a job named by its id (see the module docstring).

    The in-process executor is the default: a step in its own process costs about 1.4 s
    (docs/dagster-notes.md); a deployment may pass ``dg.multiprocess_executor``, and the
    LLM-response journal keeps calls exactly-once either way. LLM ops claim the
    ``LLM_POOL`` pool only under an executor that runs several steps at once. The job
    carries ``RUN_RETRY_TAGS`` (``LOOP_RUN_RETRY_TAGS`` when it has a revision loop) and the
    tag ``ecl/workflow``.

    Raises:
        WorkflowValidationError: The definition breaks a rule of ``validate``.
    """
    validate(workflow, registry)
    pool = None if executor_def.name == dg.in_process_executor.name else LLM_POOL
    compiler = _Compiler(workflow, registry, pool)

    @dg.job(
        name=workflow.id,
        description=workflow.description or workflow.name,
        executor_def=executor_def,
        tags={**(LOOP_RUN_RETRY_TAGS if workflow.loops() else RUN_RETRY_TAGS),
              "ecl/workflow": workflow.id},
    )
    def _job() -> None:
        compiler.compose()

    return _job
