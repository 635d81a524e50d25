"""What a person or a program reads of a workflow definition: ``ecl workflows`` and the API.

``ecl workflows list|show --format json`` prints these models and ``GET /definitions``
returns them.
"""

from typing import Any

from pydantic import BaseModel, Field

from ecl_core.workflow.definition import (
    RevisionLoop,
    WorkflowDefinition,
    input_model,
    topological_order,
)

__all__ = ["Loop", "StepInfo", "WorkflowDetail", "WorkflowInfo", "workflow_detail",
           "workflow_info"]


class Loop(BaseModel):
    """A bounded revision loop."""

    reviser: str
    validator: str
    max_iterations: int
    max_iterations_from: str | None = Field(description="The input field that may lower it.")


class StepInfo(BaseModel):
    """A step of a workflow."""

    id: str
    type: str
    depends_on: list[str]
    for_each: str | None = Field(description="Run once per item of this field.")
    revision_source: str | None


class WorkflowInfo(BaseModel):
    """A workflow: what ``POST /workflows`` takes as ``workflow`` and ``input``."""

    id: str
    name: str
    description: str
    input_schema: dict[str, Any] = Field(description="JSON Schema of the workflow's input.")
    loops: list[Loop]


class WorkflowDetail(WorkflowInfo):
    """A workflow with its steps, edges and an execution order."""

    steps: list[StepInfo]
    edges: list[tuple[str, str]]
    order: list[str]


def _info(workflow: WorkflowDefinition) -> dict[str, Any]:
    return {
        "id": workflow.id, "name": workflow.name, "description": workflow.description or "",
        "input_schema": input_model(workflow).model_json_schema(),
        "loops": [Loop(reviser=t.reviser, validator=t.validator,
                       max_iterations=t.max_iterations,
                       max_iterations_from=t.max_iterations_from)
                  for t in workflow.transitions if isinstance(t, RevisionLoop)],
    }


def workflow_info(workflow: WorkflowDefinition) -> WorkflowInfo:
    """The summary of a workflow."""
    return WorkflowInfo.model_validate(_info(workflow))


def workflow_detail(workflow: WorkflowDefinition) -> WorkflowDetail:
    """A workflow in full."""
    return WorkflowDetail.model_validate({
        **_info(workflow),
        "steps": [StepInfo(id=s.id, type=s.type, depends_on=list(s.depends_on),
                           for_each=s.for_each, revision_source=s.revision_source)
                  for s in workflow.steps],
        "edges": workflow.edges(),
        "order": topological_order(workflow),
    })
