"""Workflow definitions: steps, dependencies, transitions; loaded from YAML and validated.

A workflow file (``workflows/<id>.yaml``)::

    id: critique_revise
    name: Critique and revise
    input: ecl_core.steps.builtin:CritiqueReviseInput
    steps:
      - {id: generate_draft, type: generate}
      - {id: critique_draft, type: critique, depends_on: [generate_draft]}
      - {id: revise_draft, type: revise, revision_source: critique_draft}
      - {id: final_draft, type: final_draft, depends_on: [critique_draft]}
    transitions:
      - {kind: revision_loop, reviser: revise_draft, validator: critique_draft, max_iterations: 3}

Edges come from ``depends_on`` and from sequential and conditional transitions; they must
form a DAG. A revision loop is the one bounded way back (at most 10 iterations), and
``revision_source`` names the step whose verdict a reviser acts on.

How a step's input is built (the step's ``input_model`` validates it):

* a step with no dependency gets the workflow input (the run config);
* otherwise it gets the fields of each dependency's output, merged; ``inputs`` instead puts
  a dependency's whole output under one field (``inputs: {summaries: summarize_section}``);
* a ``for_each`` step runs once per item of a list field of its one dependency's output,
  and gets the item's fields with the dependency's other fields; a step that depends on
  it gets the list of its outputs, in item order, under ``inputs`` (default: its step id);
* in a revision loop the validator gets the draft (``draft``) and the reviser the draft
  and its critique (``draft``, ``critique``); a step depending on the validator gets the
  loop's outcome: the last draft and its critique.
"""

import heapq
import keyword
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import jmespath
import jmespath.exceptions
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from ecl_core.errors import ConfigError, ECLError
from ecl_core.references import import_class
from ecl_core.types import Critique, Draft
from ecl_core.workflow.step import StepRegistry

__all__ = [
    "MAX_LOOP_ITERATIONS",
    "NAME_PATTERN",
    "RESERVED_NAMES",
    "Conditional",
    "Problem",
    "RevisionLoop",
    "Sequential",
    "StepDefinition",
    "WorkflowDefinition",
    "WorkflowValidationError",
    "entry_step",
    "input_model",
    "topological_order",
    "validate",
]

MAX_LOOP_ITERATIONS = 10


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Step and workflow ids: letters, digits and underscores, as Dagster op and job names need."""

RESERVED_NAMES = frozenset(
    "context conf config meta arg_dict dict input_arg_dict output_arg_dict int str float bool "
    "input output type".split()
) | frozenset(keyword.kwlist)
"""Names Dagster refuses for a job or op (its ``DISALLOWED_NAMES``, Python's keywords among
them; dagster 1.13.27, docs/dagster-notes.md), which no workflow or step id may take."""


class StepDefinition(_Model):
    """One step of a workflow."""

    id: str = Field(pattern=NAME_PATTERN, description="Letters, digits, underscores.")
    type: str = Field(min_length=1, description="A step type name from the registry.")
    depends_on: tuple[str, ...] = ()
    revision_source: str | None = Field(
        None, description="For a reviser: the validator step whose verdict it acts on."
    )
    for_each: str | None = Field(
        None, description="Run once per item of this list field of the dependency's output."
    )
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="Input field -> dependency whose whole output goes in that field.",
    )
    config: dict[str, Any] = Field(default_factory=dict)


class Sequential(_Model):
    """``to`` runs after ``from``."""

    kind: Literal["sequential"]
    from_: str = Field(alias="from")
    to: str


class Conditional(_Model):
    """``to`` runs after ``from`` when the JMESPath ``condition`` holds on ``from``'s output."""

    kind: Literal["conditional"]
    from_: str = Field(alias="from")
    to: str
    condition: str


class RevisionLoop(_Model):
    """Revise with ``reviser`` until ``validator`` passes, at most ``max_iterations`` times."""

    kind: Literal["revision_loop"]
    reviser: str
    validator: str
    max_iterations: int | None = None
    max_iterations_from: str | None = Field(
        None,
        description="A field of the workflow input that may lower the bound at run time; "
        "the loop's entry step (the validator's dependency) must take the workflow input.",
    )


Transition = Annotated[Sequential | Conditional | RevisionLoop, Field(discriminator="kind")]


class WorkflowDefinition(_Model):
    """A workflow: its identity, input model, steps and transitions."""

    id: str = Field(pattern=NAME_PATTERN, description="The job name: letters, digits, _.")
    name: str = Field(min_length=1)
    description: str = ""
    input: str = Field(description="The input model, as 'module:Class'.")
    steps: tuple[StepDefinition, ...] = Field(min_length=1)
    transitions: tuple[Transition, ...] = ()
    source: str = Field("<memory>", exclude=True, description="The file it was loaded from.")

    def edges(self) -> list[tuple[str, str]]:
        """Forward edges (from, to): dependencies, sequential and conditional transitions."""
        found = [(dep, step.id) for step in self.steps for dep in step.depends_on]
        found += [
            (t.from_, t.to) for t in self.transitions if isinstance(t, Sequential | Conditional)
        ]
        return found

    def dependencies(self, step_id: str) -> list[str]:
        """The steps whose outputs ``step_id`` takes, in declaration order, without repeats."""
        return list(dict.fromkeys(source for source, target in self.edges() if target == step_id))

    def conditions(self) -> dict[tuple[str, str], str]:
        """The JMESPath condition of each conditional transition, by (from, to)."""
        return {(t.from_, t.to): t.condition for t in self.transitions
                if isinstance(t, Conditional)}

    def loops(self) -> list[RevisionLoop]:
        """The revision loops."""
        return [t for t in self.transitions if isinstance(t, RevisionLoop)]

    def step(self, step_id: str) -> StepDefinition:
        """The step with id ``step_id``.

        Raises:
            KeyError: No step has that id.
        """
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


class Problem(_Model):
    """One broken rule: which file (and line, when read from one), which step, which rule."""

    file: str
    step: str
    rule: str
    line: int | None = Field(None, ge=1, description="The line of the file it is about.")

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.step}: {self.rule}"


class WorkflowValidationError(ECLError):
    """A workflow definition broke one or more rules; each problem names file, step and rule."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("invalid workflow:\n" + "\n".join(f"  {p}" for p in self.problems))


def input_model(workflow: WorkflowDefinition) -> type[BaseModel]:
    """The workflow's input model, imported from its ``module:Class`` reference.

    Raises:
        ConfigError: It cannot be imported or is not a pydantic model.
    """
    return import_class(workflow.input, BaseModel, "input model")


def validate(workflow: WorkflowDefinition, registry: StepRegistry) -> None:
    """Check a workflow's wiring.

    Rules: unique step ids; known step types; dependencies, revision sources and
    transition ends that name steps; no dependency cycle; every revision loop bounded by
    1 to 10 iterations and by its reviser's revision limit; JMESPath conditions that
    parse; an importable input model; a step's ``config`` that fits its type's
    ``config_model``; steps that await a person's answer ordered one after another.
    Shapes the Dagster compiler builds: a loop's entry and reviser write a Draft and its
    validator a Critique; ``for_each`` names a field of its dependency's output and
    follows a plain step; nothing depends on a reviser; conditionals run between plain
    steps.

    Raises:
        WorkflowValidationError: Every broken rule, each with file, step and rule.
    """
    problems: list[Problem] = []

    def problem(where: str, rule: str) -> None:
        problems.append(Problem(file=workflow.source, step=where, rule=rule))

    try:
        input_model(workflow)
    except ConfigError as err:
        problem(f"workflow '{workflow.id}'", str(err))
    ids = [s.id for s in workflow.steps]
    known = set(ids)
    if workflow.id in RESERVED_NAMES or workflow.id.startswith("__"):
        problem(f"workflow '{workflow.id}'", "this id is a name Dagster reserves (its own "
                "names, Python's keywords, and names starting with '__'); choose another")
    for step_id in sorted({i for i in ids if ids.count(i) > 1}):
        problem(f"step '{step_id}'", "duplicate step id")
    unrolled = {loop.validator for loop in workflow.loops()} | {
        loop.reviser for loop in workflow.loops()}
    for step_id in ids:
        if step_id in RESERVED_NAMES or step_id.startswith("__"):
            problem(f"step '{step_id}'", "this id is a name Dagster reserves (its own names, "
                    "Python's keywords, and names starting with '__'); choose another")
        stem, _, suffix = step_id.rpartition("_")
        if stem in unrolled and suffix.isdigit():
            problem(f"step '{step_id}'", f"the loop step '{stem}' is unrolled into ops "
                    f"'{stem}_0', '{stem}_1', ...; this id would be one of them: rename it")
    for step in workflow.steps:
        where = f"step '{step.id}'"
        try:
            registry.get(step.type)
        except ConfigError as err:
            problem(where, str(err))
        for dep in step.depends_on:
            if dep not in known:
                problem(where, f"depends_on names no step: '{dep}'")
        if step.revision_source is not None and step.revision_source not in known:
            problem(where, f"revision_source names no step: '{step.revision_source}'")
        for field_name, dep in step.inputs.items():
            if dep not in step.depends_on:
                problem(where, f"inputs.{field_name} names '{dep}', which is not in depends_on")
        if step.for_each is not None and len(workflow.dependencies(step.id)) != 1:
            problem(where, "for_each needs exactly one dependency, not "
                           f"{len(workflow.dependencies(step.id))}")
        for rule in _shape_problems(step, workflow, registry):
            problem(where, rule)
        for rule in _config_problems(step, registry):
            problem(where, rule)
    for number, transition in enumerate(workflow.transitions, start=1):
        where = f"transition {number} ({transition.kind})"
        ends = (
            {"reviser": transition.reviser, "validator": transition.validator}
            if isinstance(transition, RevisionLoop)
            else {"from": transition.from_, "to": transition.to}
        )
        for role, step_id in ends.items():
            if step_id not in known:
                problem(where, f"'{role}' names no step: '{step_id}'")
        if isinstance(transition, Conditional):
            try:
                jmespath.compile(transition.condition)
            except jmespath.exceptions.JMESPathError as err:
                problem(where, f"condition '{transition.condition}' does not parse: {err}")
        if isinstance(transition, RevisionLoop):
            for rule in _loop_problems(transition, workflow, registry):
                problem(where, rule)
    cycle = _find_cycle(ids, [e for e in workflow.edges() if e[0] in known and e[1] in known])
    if cycle:
        problem("steps " + " -> ".join(f"'{s}'" for s in cycle), "dependency cycle")
    else:
        for first, second in _unordered_reviews(workflow, registry):
            problem(f"steps '{first}' and '{second}'",
                    "both await a person's answer and neither comes after the other; a run "
                    "waits for one review at a time: make one depend on the other")
    if problems:
        raise WorkflowValidationError(problems)


def _output_model(registry: StepRegistry, type_name: str) -> type[BaseModel] | None:
    try:
        return registry.get(type_name).output_model
    except ConfigError:
        return None  # reported as an unknown step type


def _shape_problems(
    step: StepDefinition, workflow: WorkflowDefinition, registry: StepRegistry
) -> list[str]:
    """What the compiler cannot build around ``step``: loops, fan-outs, conditionals."""
    loops = workflow.loops()
    revisers = {loop.reviser: loop.validator for loop in loops}
    validators = {loop.validator for loop in loops}
    by_id = {s.id: s for s in workflow.steps}
    mapped = {s.id for s in workflow.steps if s.for_each}
    conditions = workflow.conditions()
    found = []
    for dep in workflow.dependencies(step.id):
        if dep in revisers:
            found.append(f"depends on reviser '{dep}'; depend on the loop's validator "
                         f"'{revisers[dep]}' instead")
        if (dep, step.id) in conditions and (dep in mapped or dep in validators):
            found.append(f"a conditional transition from '{dep}' needs a plain step "
                         "(not for_each, not a loop validator)")
        if (dep, step.id) in conditions and step.for_each:
            found.append("a for_each step cannot be the end of a conditional")
    if step.for_each and _awaits_answer(registry, step.type):
        found.append("a step that awaits a person's answer cannot be a for_each step; "
                     "review the collected outputs in a step after it")
    if step.for_each and len(workflow.dependencies(step.id)) == 1:
        (parent,) = workflow.dependencies(step.id)
        output = _output_model(registry, by_id[parent].type) if parent in by_id else None
        if parent in mapped or parent in validators:
            found.append(f"for_each over '{parent}', a for_each step or loop validator, "
                         "is not supported")
        elif output is not None and step.for_each not in output.model_fields:
            found.append(f"for_each: '{step.for_each}' is not a field of '{parent}''s output "
                         f"({output.__name__}: {', '.join(output.model_fields)})")
    return found


def _awaits_answer(registry: StepRegistry, type_name: str) -> bool:
    try:
        return registry.get(type_name).awaits_answer
    except ConfigError:
        return False  # reported as an unknown step type


def _unordered_reviews(
    workflow: WorkflowDefinition, registry: StepRegistry
) -> list[tuple[str, str]]:
    """Pairs of steps that await answers with no path between them.

    A run could then wait on two reviews, and the continuation from one would not run the
    other's branch.
    """
    waiting = [s.id for s in workflow.steps if _awaits_answer(registry, s.type)]
    after: dict[str, set[str]] = {s.id: set() for s in workflow.steps}
    for source, target in workflow.edges():
        if source in after:
            after[source].add(target)

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in after.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    later = {step: reachable(step) for step in waiting}
    return [(a, b) for i, a in enumerate(waiting) for b in waiting[i + 1:]
            if b not in later[a] and a not in later[b]]


def _config_problems(step: StepDefinition, registry: StepRegistry) -> list[str]:
    """The step's ``config`` checked by its type's ``config_model``, one rule per field."""
    try:
        model = registry.get(step.type).config_model
    except ConfigError:
        return []  # reported as an unknown step type
    if model is None:
        return []
    try:
        model.model_validate(step.config)
    except pydantic.ValidationError as err:
        return [
            f"config.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        ]
    return []


def _writes(registry: StepRegistry, step: StepDefinition, model: type[BaseModel]) -> bool:
    """Whether ``step``'s type writes ``model`` (an unknown type is reported elsewhere)."""
    output = _output_model(registry, step.type)
    return output is None or issubclass(output, model)


def _loop_problems(
    loop: RevisionLoop, workflow: WorkflowDefinition, registry: StepRegistry
) -> list[str]:
    bound = loop.max_iterations
    if bound is None:
        return [f"max_iterations is missing; a revision loop needs a bound of 1 to "
                f"{MAX_LOOP_ITERATIONS}"]
    if not 1 <= bound <= MAX_LOOP_ITERATIONS:
        return [f"max_iterations is {bound}; it must be 1 to {MAX_LOOP_ITERATIONS}"]
    found = []
    by_id = {s.id: s for s in workflow.steps}
    reviser, validator = by_id.get(loop.reviser), by_id.get(loop.validator)
    if validator is not None:
        inputs = workflow.dependencies(validator.id)
        entry = by_id.get(inputs[0]) if len(inputs) == 1 else None
        if len(inputs) != 1:
            found.append(f"validator '{validator.id}' needs exactly one dependency (the step "
                         f"that writes the first draft), not {len(inputs)}")
        elif entry is not None and entry.for_each:
            found.append(f"the entry step '{entry.id}' is a for_each step; a loop starts "
                         "from one draft")
        elif entry is not None and workflow.dependencies(entry.id) and loop.max_iterations_from:
            found.append(f"max_iterations_from needs the entry step '{entry.id}' to take "
                         "the workflow input (no depends_on)")
        if entry is not None and not _writes(registry, entry, Draft):
            found.append(f"the entry step '{entry.id}' must write a Draft")
        if not _writes(registry, validator, Critique):
            found.append(f"validator '{validator.id}' must write a Critique")
    if reviser is not None:
        if not _writes(registry, reviser, Draft):
            found.append(f"reviser '{reviser.id}' must write a Draft")
        if reviser.revision_source != loop.validator:
            found.append(f"reviser '{reviser.id}' needs revision_source: {loop.validator}")
        if workflow.dependencies(reviser.id) or reviser.for_each:
            found.append(f"reviser '{reviser.id}' takes only its validator's verdict; "
                         "remove its depends_on and for_each")
        limit = registry.get(reviser.type).revision_limit if reviser.type in registry else None
        if limit is not None and bound > limit:
            found.append(f"max_iterations is {bound}; step type '{reviser.type}' allows "
                         f"at most {limit} revisions")
    return found


def _find_cycle(nodes: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    """A cycle as a path that returns to its start, or None (iterative depth-first search)."""
    graph: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        graph[a].append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in nodes:
        if state.get(start):
            continue
        path, stack = [start], [iter(graph[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return None


def topological_order(workflow: WorkflowDefinition) -> list[str]:
    """Step ids in an order that respects every edge; ties keep declaration order (Kahn).

    Raises:
        WorkflowValidationError: The edges have a cycle.
    """
    position = {s.id: i for i, s in enumerate(workflow.steps)}
    indegree = dict.fromkeys(position, 0)
    successors: dict[str, list[str]] = {s: [] for s in position}
    for a, b in workflow.edges():
        successors[a].append(b)
        indegree[b] += 1
    ready = [(position[s], s) for s, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, step = heapq.heappop(ready)
        order.append(step)
        for nxt in successors[step]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, (position[nxt], nxt))
    if len(order) != len(position):
        stuck = [s for s in position if s not in order]
        raise WorkflowValidationError(
            [Problem(file=workflow.source, step=f"steps {stuck}", rule="dependency cycle")]
        )
    return order


def entry_step(workflow: WorkflowDefinition) -> str:
    """The step that takes the workflow input as its run config.

    It is the first step in ``topological_order`` with no dependency that is not a loop's
    reviser (``ecl_dagster.workflows.compiler`` gives it the input model as its config schema).

    Raises:
        WorkflowValidationError: The edges have a cycle.
    """
    revisers = {loop.reviser for loop in workflow.loops()}
    return next(
        s for s in topological_order(workflow)
        if s not in revisers and not workflow.dependencies(s)
    )
