"""``/definitions``: the workflows a run may name, with their input schemas."""

from fastapi import APIRouter, Depends

from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import WorkflowValidationError
from ecl_core.workflow.files import scan_workflows
from ecl_dagster.runs import launching
from ecl_dagster.service.context import caller
from ecl_dagster.service.errors import ApiError, ErrorBody
from ecl_dagster.workflows.jobs import workflows_dir
from ecl_dagster.workflows.views import (
    WorkflowDetail,
    WorkflowInfo,
    workflow_detail,
    workflow_info,
)

__all__ = ["router"]

router = APIRouter(prefix="/definitions", tags=["definitions"], dependencies=[Depends(caller)],
                   responses={401: {"model": ErrorBody}})


@router.get("", response_model=list[WorkflowInfo], summary="The workflows")
def list_definitions() -> list[WorkflowInfo]:
    """Every valid workflow of the workflows folder, by file name.

    A broken file is left out; ``GET /health/ready`` names it (``workflows``).
    """
    scan = scan_workflows(workflows_dir(), default_registry())
    return [workflow_info(w) for w in scan.workflows]


@router.get("/{workflow_id}", response_model=WorkflowDetail,
            responses={404: {"model": ErrorBody},
                       503: {"model": ErrorBody, "description": "Its file is broken."}},
            summary="One workflow")
def show(workflow_id: str) -> WorkflowDetail:
    """A workflow's steps, edges, loops, order and input schema."""
    try:
        return workflow_detail(launching.find_workflow(workflow_id))
    except launching.UnknownWorkflow as err:
        raise ApiError(404, str(err)) from None
    except WorkflowValidationError as err:
        raise ApiError(503, f"workflow {workflow_id!r} cannot run until its file is fixed: "
                       + "; ".join(str(p) for p in err.problems)) from None
