"""Workflow files: YAML read strictly, every problem placed at its line, one bad file contained.

``scan_workflows`` reads a folder file by file: a file that is not YAML, not shaped like a
workflow, or breaks a rule of ``validate`` is reported with its problems (each with the
line it is about) and the other files still load. That is what a running deployment needs:
an edit that breaks one workflow leaves the others running (``ecl_dagster.workflows.jobs``
shows the broken one in the UI with its error). ``load_workflows`` is the strict form, for
checks that must fail on any problem.
"""

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import yaml

from ecl_core.workflow.definition import (
    Problem,
    WorkflowDefinition,
    WorkflowValidationError,
    validate,
)
from ecl_core.workflow.step import StepRegistry

__all__ = ["WorkflowFolder", "load_workflow", "load_workflows", "scan_workflows"]


class _UniqueKeys(yaml.constructor.SafeConstructor):
    """YAML's safe constructor, refusing a mapping that repeats a key.

    The YAML spec requires keys to be unique; PyYAML silently keeps the last value.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:  # an unhashable key: PyYAML refuses
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            if isinstance(key, Hashable):
                seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep)
        return mapping


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    """The safe loader in pure Python, refusing repeated keys."""


_C_SAFE_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
_FAST_LOADER: type[yaml.SafeLoader] | None = (
    type("_FastUniqueKeyLoader", (_UniqueKeys, _C_SAFE_LOADER), {})
    if _C_SAFE_LOADER is not None else None
)
"""The same on libyaml's parser, where PyYAML was built with it (its wheels are): parsing
the workflows in pure Python was about 20 ms of loading the definitions."""


def _load_yaml(text: str) -> Any:
    """``text`` parsed by ``_UniqueKeyLoader``, fast where libyaml is there.

    A document libyaml refuses is parsed again in pure Python, whose message quotes the line
    and marks the column, and names what libyaml's leaves out (an undefined alias's name).
    """
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=_UniqueKeyLoader)


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value under ``key`` of a mapping node, or item ``key`` of a sequence node."""
    found: yaml.Node | None = None
    if isinstance(node, yaml.MappingNode):
        found = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
        found = node.value[int(key)]
    return found


def _step_node(root: yaml.Node | None, step_id: str) -> yaml.Node | None:
    steps = _child(root, "steps")
    items = steps.value if isinstance(steps, yaml.SequenceNode) else []
    return next((item for item in items
                 if getattr(_child(item, "id"), "value", None) == step_id), None)


def _line(root: yaml.Node | None, problem: Problem) -> int | None:
    """The 1-based line of the part of the file ``problem`` is about, if found."""
    where, node = problem.step, None
    if where.startswith("field "):
        node = root
        for part in where.removeprefix("field ").split("."):
            node = _child(node, part) or node
    elif where.startswith(("step '", "steps '")):
        node = _step_node(root, where.split("'")[1])
    elif where.startswith("transition "):
        number = where.split()[1]
        node = _child(_child(root, "transitions"), str(int(number) - 1)) if number.isdigit() \
            else None
    elif where.startswith("workflow '"):
        node = _child(root, "input" if "input model" in problem.rule else "id")
    return node.start_mark.line + 1 if node is not None else None


def _placed(problems: list[Problem], text: str) -> list[Problem]:
    """``problems`` with the line each is about, found in the file's ``text``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return problems
    return [p if p.line else p.model_copy(update={"line": _line(root, p)})
            for p in problems]


def load_workflow(path: Path) -> WorkflowDefinition:
    """Read one workflow file (YAML), without checking its wiring (see ``validate``).

    Raises:
        WorkflowValidationError: The file is not YAML, repeats a key in a mapping (the
            problem names the key, line and column), or is not shaped like a workflow; each
            problem carries its line.
    """
    source = str(path)
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        data = _load_yaml(text)
        return WorkflowDefinition.model_validate({**data, "source": source})
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise WorkflowValidationError([Problem(
            file=source, step="file", rule=str(err), line=mark.line + 1 if mark else None,
        )]) from None
    except pydantic.ValidationError as err:
        raise WorkflowValidationError(_placed([
            Problem(file=source, step="field " + ".".join(str(p) for p in e["loc"]),
                    rule=e["msg"])
            for e in err.errors()
        ], text)) from None
    except (OSError, TypeError, ValueError, RecursionError) as err:
        # ValueError: a YAML timestamp no calendar has (2020-13-45); UnicodeDecodeError too.
        raise WorkflowValidationError([Problem(file=source, step="file", rule=str(err))]) \
            from None


def _checked(path: Path, registry: StepRegistry) -> WorkflowDefinition:
    """``load_workflow`` then ``validate``, every problem at its line.

    Raises:
        WorkflowValidationError: The file's problems.
    """
    workflow = load_workflow(path)
    try:
        validate(workflow, registry)
    except WorkflowValidationError as err:
        raise WorkflowValidationError(
            _placed(err.problems, path.read_text(encoding="utf-8"))
        ) from None
    return workflow


@dataclass(frozen=True)
class WorkflowFolder:
    """What a folder of workflow files holds: the valid workflows and each broken file's problems.

    Attributes:
        folder: The folder read.
        workflows: The valid workflows, by file name.
        broken: The problems of each broken file, by path (as ``Problem.file`` writes it).
        broken_ids: The workflow id each broken file declares (its ``id``, if it can be
            read), else its file name without the extension; by path.
    """

    folder: Path
    workflows: list[WorkflowDefinition] = field(default_factory=list)
    broken: dict[str, list[Problem]] = field(default_factory=dict)
    broken_ids: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[Problem]:
        """Every problem of every broken file, by file name."""
        return [p for file in sorted(self.broken) for p in self.broken[file]]


def _conflicts(workflow: WorkflowDefinition, kept: list[WorkflowDefinition]) -> list[Problem]:
    """Why ``workflow`` cannot join the workflows already ``kept`` (read before it)."""
    found = []
    for other in kept:
        if other.id == workflow.id:
            found.append(Problem(file=workflow.source, step=f"workflow '{workflow.id}'",
                                 rule=f"{other.source} defines this workflow id too"))
        for step in workflow.steps:
            if any(s.id == step.id for s in other.steps):
                found.append(Problem(
                    file=workflow.source, step=f"step '{step.id}'",
                    rule=f"workflow '{other.id}' has a step with this id too; ops are named by "
                    "step id and Dagster wants op names unique in a code location: rename it"))
    return found


def scan_workflows(folder: Path, registry: StepRegistry) -> WorkflowFolder:
    """Read every ``*.yaml`` / ``*.yml`` file of ``folder`` by name; one bad file is contained.

    A file is broken when ``load_workflow`` or ``validate`` refuses it, or when a file read
    before it already defines its workflow id or one of its step ids (ops are named by step
    id, and Dagster wants op names unique in a code location). Each problem has its line.
    ``folder`` may also be one file: that file alone is read.
    """
    scan = WorkflowFolder(folder=folder)
    paths = [folder] if folder.is_file() else [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    for path in sorted(paths):
        try:
            workflow = _checked(path, registry)
        except WorkflowValidationError as err:
            scan.broken[str(path)] = err.problems
            scan.broken_ids[str(path)] = _declared_id(path)
            continue
        conflicts = _conflicts(workflow, scan.workflows)
        if conflicts:
            scan.broken[str(path)] = _placed(conflicts, path.read_text(encoding="utf-8"))
            scan.broken_ids[str(path)] = workflow.id
        else:
            scan.workflows.append(workflow)
    return scan


def _declared_id(path: Path) -> str:
    """The ``id`` a broken file declares, if it is a string of a YAML mapping; else its stem."""
    try:
        data = _load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError, yaml.YAMLError):
        data = None
    declared = data.get("id") if isinstance(data, dict) else None
    return declared if isinstance(declared, str) and declared else path.stem


def load_workflows(folder: Path, registry: StepRegistry) -> list[WorkflowDefinition]:
    """Every workflow of ``folder`` (``scan_workflows``), refusing a folder with a broken file.

    Raises:
        WorkflowValidationError: Any file is broken; the problems of every file are listed.
    """
    scan = scan_workflows(folder, registry)
    if scan.broken:
        raise WorkflowValidationError(scan.problems)
    return scan.workflows
