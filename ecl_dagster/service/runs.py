"""``/workflows``: submit, list, read, cancel and re-execute runs, read their artifacts.

Each run is a Dagster run: submitted through the instance's run coordinator
(``ecl_dagster.runs.launching``), read through ``ecl_dagster.runs.views`` (the shapes
``ecl ... --format json`` prints too). A run is named by its id or a unique prefix of it.
Runs made here are tagged with the key's name (``ecl/api_key``) and the request id
(``ecl/request_id``); every change is one ``api.audit`` log line.
"""

from decimal import Decimal
from typing import Annotated, Any

import dagster as dg
import pydantic
from dagster._core.errors import DagsterUserCodeUnreachableError
from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from ecl_core.bounds import LLM_SETTING_RANGES
from ecl_core.errors import ReviewAnswerRefused, UnknownReview, ValidationError
from ecl_core.llm.factory import ProviderName
from ecl_core.logging import get_logger, redact
from ecl_core.review.model import Answer
from ecl_core.workflow.definition import WorkflowValidationError
from ecl_dagster.review.awaiting import REVIEW_ID_TAG, REVIEW_STATE_TAG, review_book
from ecl_dagster.review.resume import record_answer
from ecl_dagster.runs import launching
from ecl_dagster.runs.llm_choice import MAX_MODEL_CHARS, llm_choice, with_llm_choice
from ecl_dagster.runs.origin_tags import API_KEY_TAG, REQUEST_ID_TAG, caller_tag_problems
from ecl_dagster.runs.orphans import mark_orphan_failed
from ecl_dagster.runs.views import (
    Artifact,
    RunDetail,
    RunPage,
    RunSummary,
    StepView,
    UnknownRun,
    artifact_path,
    artifacts,
    list_runs,
    resolve_run_id,
    run_detail,
    run_steps,
    run_summary,
)
from ecl_dagster.service.context import Service, caller, service
from ecl_dagster.service.errors import ApiError, ErrorBody, FieldProblem, field_problems
from ecl_dagster.service.keys import ApiKey
from ecl_dagster.usage.budgets import budget_tags

__all__ = ["router"]

_log = get_logger("ecl.api")
MAX_PAGE = 100

router = APIRouter(
    prefix="/workflows", tags=["workflows"], dependencies=[Depends(caller)],
    responses={401: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
_404 = {404: {"model": ErrorBody, "description": "No run has this id or prefix."}}
_409 = {409: {"model": ErrorBody, "description": "The run's state does not allow it."}}
_422 = {422: {"model": ErrorBody, "description": "Field errors in `details`."}}
_WINDOW = LLM_SETTING_RANGES["context_window_tokens"]


class Budget(BaseModel):
    """A budget for the run's lineage (``ecl_dagster.usage.budgets``); none when both are unset."""

    budget_tokens: int | None = Field(None, description="Tokens of every kind, in all.")
    budget_usd: Decimal | None = Field(None, description="USD, in all.")

    def run_tags(self) -> dict[str, str]:
        """The run tags of this budget.

        Raises:
            ApiError: 422 naming the field out of its range.
        """
        try:
            return budget_tags(self.budget_tokens, self.budget_usd,
                               names=("budget_tokens", "budget_usd"))
        except ValidationError as err:
            raise _invalid(err) from None


def _invalid(err: ValidationError) -> ApiError:
    return ApiError(422, str(err), [
        FieldProblem(loc=["body", d.field], msg=d.problem, type="value_error")
        for d in err.details
    ])


class SubmitRequest(Budget):
    """A workflow to run, its input, and the LLM it uses when not the default."""

    model_config = ConfigDict(extra="forbid")
    workflow: str = Field(description="A workflow id (GET /definitions).",
                          examples=["critique_revise"])
    input: dict[str, Any] = Field(description="The workflow's input, checked by its input "
                                  "model (GET /definitions/{id}: input_schema).",
                                  examples=[{"topic": "Durable execution", "max_revisions": 2}])
    tags: dict[str, str] = Field(default_factory=dict, description="Your own run tags: plain "
                                 "names (letters, digits, _ . -; no '/'), at most 20, values "
                                 "of at most 256 characters.")
    provider: ProviderName | None = Field(
        None, description="The LLM provider (run config resources.llm.config.provider); by "
        "default auto: anthropic when the deployment has ANTHROPIC_API_KEY, else offline.")
    model: str | None = Field(
        None, description="The model the provider knows (resources.llm.config.model): 1 to "
        f"{MAX_MODEL_CHARS} characters.", examples=["claude-sonnet-4-6"])
    context_window_tokens: int | None = Field(
        None, description="The model's context window when its server does not report it "
        f"(resources.llm.config.context_window_tokens): {_WINDOW.low:,.0f} (ask the server) "
        f"to {_WINDOW.high:,.0f}.")

    def llm_config(self) -> dict[str, Any]:
        """The ``resources.llm.config`` entries this request chose (``llm_choice``).

        Raises:
            ApiError: 422 naming each field that breaks its rule (a blank model, a window
                out of its range).
        """
        try:
            return llm_choice(self.provider, self.model, self.context_window_tokens)
        except ValidationError as err:
            raise _invalid(err) from None


class ReexecuteRequest(Budget):
    """How to re-execute a run."""

    model_config = ConfigDict(extra="forbid")
    all_steps: bool = Field(False, description="Every step; by default from failure (only "
                            "the failed and not-run steps, the others' outputs reused).")


class SignalRequest(BaseModel):
    """A person's answer to the review a run awaits."""

    model_config = ConfigDict(extra="forbid")
    answer: Answer
    feedback: str = Field("", description="What to change (revise, required), or a note.")


_FROM_FAILURE = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
"""What Dagster re-executes from failure (``ReexecutionStrategy.FROM_FAILURE``)."""


def _unreachable() -> ApiError:
    return ApiError(503, "the code location cannot be reached; see GET /health/ready")


def _run_id(svc: Service, given: str) -> str:
    try:
        return resolve_run_id(svc.instance, given)
    except UnknownRun as err:
        raise ApiError(404, str(err)) from None


def _run(svc: Service, given: str) -> dg.DagsterRun:
    run = svc.instance.get_run_by_id(_run_id(svc, given))
    if run is None:
        raise ApiError(404, f"no run {given!r}")
    return run


def _audit(request: Request, key: ApiKey, action: str, run_id: str, **fields: Any) -> None:
    _log.info("api.audit", action=action, key_name=key.name, run_id=run_id,
              request_id=request.state.request_id, **fields)


def _origin_tags(request: Request, key: ApiKey) -> dict[str, str]:
    return {API_KEY_TAG: key.name, REQUEST_ID_TAG: request.state.request_id}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RunSummary,
             responses={**_422, 503: {"model": ErrorBody, "description": "The workflow's file "
                                      "is broken, or the code location lacks its job: the "
                                      "message says why."}},
             summary="Submit a workflow run")
def submit(
    body: SubmitRequest, request: Request, response: Response,
    key: Annotated[ApiKey, Depends(caller)], svc: Annotated[Service, Depends(service)],
) -> RunSummary:
    """Start a run of a workflow: checked by its input model, then queued like any run.

    ``provider``, ``model`` and ``context_window_tokens`` choose the run's LLM (its run
    config's ``resources.llm.config``); those not given keep the LLM resource's defaults.
    """
    try:
        workflow = launching.find_workflow(body.workflow)
    except launching.UnknownWorkflow as err:
        raise ApiError(422, str(err), [FieldProblem(loc=["body", "workflow"], msg=str(err),
                                                    type="unknown_workflow")]) from None
    except WorkflowValidationError as err:
        raise ApiError(503, f"workflow {body.workflow!r} cannot run until its file is fixed: "
                       + "; ".join(str(p) for p in err.problems)) from None
    try:
        run_config = launching.workflow_run_config(workflow, body.input, svc.documents)
    except pydantic.ValidationError as err:
        raise ApiError(422, f"the input does not fit workflow {workflow.id!r}'s input model",
                       field_problems(err.errors(), ["body", "input"])) from None
    except ValidationError as err:  # the input model's own checks (ecl_core.errors)
        raise ApiError(422, f"the input does not fit workflow {workflow.id!r}'s input model",
                       [FieldProblem(loc=["body", "input", *d.field.split(".")],
                                     msg=d.problem, type="value_error")
                        for d in err.details]) from None
    except launching.PathOutsideRoot as err:
        raise ApiError(422, str(err), [FieldProblem(
            loc=["body", "input", err.field], msg=str(err), type="path_outside_root")]) from None
    problems = caller_tag_problems(body.tags)
    if problems:
        raise ApiError(422, "your own run tags are plain names; namespaced tags (dagster/, "
                       "ecl/, dagster-k8s/...) are the deployment's", [
            FieldProblem(loc=["body", "tags", *([key] if key else [])], msg=problem,
                         type="value_error") for key, problem in problems])
    run_config = with_llm_choice(run_config, body.llm_config())
    tags = {**body.tags, **body.run_tags(), **_origin_tags(request, key)}
    try:
        run = launching.submit(svc.instance, svc.workspace, workflow.id, run_config, tags)
    except DagsterUserCodeUnreachableError:
        raise _unreachable() from None
    except launching.JobNotLoaded as err:
        raise ApiError(503, str(err)) from None
    except dg.DagsterInvalidConfigError as err:
        raise ApiError(422, "the run config does not fit the job", [
            FieldProblem(loc=["body", "input"], msg=redact(e.message), type="invalid_config")
            for e in err.errors]) from None
    _audit(request, key, "submit", run.run_id, workflow=workflow.id)
    response.headers["Location"] = f"/workflows/{run.run_id}"
    return run_summary(svc.instance, run.run_id)


@router.get("", response_model=RunPage, responses=_422, summary="List runs, newest first")
def list_(
    svc: Annotated[Service, Depends(service)],
    state: Annotated[list[str] | None, Query(description="Run states (QUEUED, STARTED, "
                                              "SUCCESS, FAILURE, CANCELED...); any of them.")
                     ] = None,
    workflow: Annotated[str | None, Query(description="A workflow id (job name).")] = None,
    tag: Annotated[list[str] | None, Query(description="key=value; every one must match.")
                   ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Runs per page.")] = 20,
    cursor: Annotated[str | None, Query(description="The previous page's cursor.")] = None,
) -> RunPage:
    """A page of runs; follow ``cursor`` for the next one."""
    tags: dict[str, str] = {}
    for given in tag or []:
        name, sep, value = given.partition("=")
        if not sep or not name:
            raise ApiError(422, f"tag {given!r}: write key=value", [FieldProblem(
                loc=["query", "tag"], msg="expected key=value", type="value_error")])
        tags[name] = value
    if cursor is not None and not svc.instance.has_run(cursor):
        raise ApiError(422, f"cursor {cursor!r} is not a run of this instance", [FieldProblem(
            loc=["query", "cursor"], msg="unknown cursor", type="value_error")])
    try:
        return list_runs(svc.instance, states=state or [], workflow=workflow, tags=tags,
                         limit=limit, cursor=cursor)
    except ValueError as err:
        field = "tag" if str(err).startswith("tag:") else "state"
        raise ApiError(422, str(err), [FieldProblem(loc=["query", field], msg=str(err),
                                                    type="value_error")]) from None


@router.get("/{run_id}", response_model=RunDetail, responses=_404, summary="One run in full")
def get(run_id: str, svc: Annotated[Service, Depends(service)]) -> RunDetail:
    """State, steps, revisions, final output, errors and tokens of a run."""
    return run_detail(svc.instance, _run_id(svc, run_id))


@router.get("/{run_id}/steps", response_model=list[StepView], responses=_404,
            summary="A run's steps")
def steps(run_id: str, svc: Annotated[Service, Depends(service)]) -> list[StepView]:
    """Each step's state, times, attempts and error."""
    return run_steps(svc.instance, _run_id(svc, run_id))


@router.get("/{run_id}/artifacts", response_model=list[Artifact], responses=_404,
            summary="A run's stored step outputs")
def list_artifacts(run_id: str, svc: Annotated[Service, Depends(service)]) -> list[Artifact]:
    """The step outputs the run stored as JSON files."""
    return artifacts(svc.instance, _run_id(svc, run_id))


@router.get("/{run_id}/artifacts/{name:path}", responses={
    **_404, 200: {"content": {"application/json": {}}, "description": "The stored output."}},
    response_class=FileResponse, summary="Download one artifact")
def download(run_id: str, name: str, svc: Annotated[Service, Depends(service)]) -> FileResponse:
    """One stored output, by a name ``GET .../artifacts`` lists."""
    full_id = _run_id(svc, run_id)
    try:
        path = artifact_path(svc.instance, full_id, name)
    except KeyError:
        raise ApiError(404, f"run {full_id} stored no artifact {name!r}") from None
    filename = name.replace("/", "__") + ".json"
    return FileResponse(path, media_type="application/json", filename=filename)


@router.delete("/{run_id}", status_code=status.HTTP_202_ACCEPTED, response_model=RunSummary,
               responses={**_404, **_409}, summary="Cancel a run")
def cancel(
    run_id: str, request: Request,
    key: Annotated[ApiKey, Depends(caller)], svc: Annotated[Service, Depends(service)],
) -> RunSummary:
    """Cancel a queued run, or terminate a running one (the UI's Terminate).

    409 when it has ended, or when its worker cannot be reached to terminate it (a run
    executed in a shell's process).
    """
    run = _run(svc, run_id)
    try:
        accepted = launching.cancel(svc.instance, run)
    except launching.NotCancelable as err:
        raise ApiError(409, str(err)) from None
    if not accepted:
        raise ApiError(409, f"run {run.run_id} could not be terminated: it executes outside "
                       "the run queue (in the process of a shell, such as `ecl run --wait` or "
                       "`dg launch`); stop that process")
    _audit(request, key, "cancel", run.run_id)
    return run_summary(svc.instance, run.run_id)


@router.post("/{run_id}/reexecute", status_code=status.HTTP_201_CREATED,
             response_model=RunSummary, responses={**_404, **_409, **_422},
             summary="Re-execute a run")
def reexecute(
    run_id: str, request: Request, response: Response,
    key: Annotated[ApiKey, Depends(caller)], svc: Annotated[Service, Depends(service)],
    body: ReexecuteRequest | None = None,
) -> RunSummary:
    """Re-execute an ended run from failure (by default) or every step, through the run queue.

    From failure takes a FAILURE or CANCELED run, as Dagster does; a run still STARTED whose
    worker is gone from this host is marked failed first. From failure, ECL adds the mapped
    steps Dagster's selection misses (``ecl_dagster.runs.resume``).

    A step that completed is not executed again from failure; an LLM call it made is
    answered by the journal even when all steps are (no call is paid twice).
    """
    options = body or ReexecuteRequest()
    parent = _run(svc, run_id)
    if mark_orphan_failed(svc.instance, parent):  # its worker is gone from this host
        parent = _run(svc, run_id)
    retry = launching.daemon_retry(svc.instance, parent)
    if retry is not None:
        raise ApiError(409, f"the daemon's run retry resumes run {parent.run_id}" + (
            f": it is run {retry}; re-execute that one if it fails" if retry
            else " (GET /workflows lists it once launched)"))
    if not parent.is_finished:
        raise ApiError(409, f"run {parent.run_id} is {parent.status.value}: wait for it to end, "
                       "or cancel it")
    if not options.all_steps and parent.status not in _FROM_FAILURE:
        raise ApiError(409, f"run {parent.run_id} is {parent.status.value}: only a failed or "
                       "canceled run re-executes from failure; send all_steps: true to run it "
                       "again")
    try:
        run = launching.reexecute_queued(svc.instance, svc.workspace, parent,
                                         options.all_steps,
                                         {**options.run_tags(), **_origin_tags(request, key)})
    except DagsterUserCodeUnreachableError:
        raise _unreachable() from None
    except dg.DagsterError as err:
        raise ApiError(409, f"cannot re-execute {parent.run_id}: {err}") from None
    _audit(request, key, "reexecute", run.run_id, parent_run_id=parent.run_id)
    response.headers["Location"] = f"/workflows/{run.run_id}"
    return run_summary(svc.instance, run.run_id)


@router.post("/{run_id}/signal", response_model=RunSummary,
             responses={**_404, **_409, **_422}, summary="Answer the review a run awaits")
def signal(
    run_id: str, body: SignalRequest, request: Request,
    key: Annotated[ApiKey, Depends(caller)], svc: Annotated[Service, Depends(service)],
) -> RunSummary:
    """Approve, revise or reject the draft of a run that ended awaiting a person's review.

    The answer is stored as given by ``api:<key name>``; the review sensor then resumes the
    run (``ecl review``).
    """
    run = _run(svc, run_id)
    review_id = run.tags.get(REVIEW_ID_TAG)
    if review_id is None or run.tags.get(REVIEW_STATE_TAG) != "awaiting":
        raise ApiError(409, f"run {run.run_id} awaits no review")
    try:
        record_answer(svc.instance, review_book(svc.instance), review_id, body.answer,
                      f"api:{key.name}", body.feedback)
    except UnknownReview as err:
        raise ApiError(404, str(err)) from None
    except ValidationError as err:
        raise _invalid(err) from None
    except ReviewAnswerRefused as err:
        raise ApiError(409, str(err)) from None
    _audit(request, key, f"review.{body.answer}", run.run_id, review_id=review_id)
    return run_summary(svc.instance, run.run_id)

