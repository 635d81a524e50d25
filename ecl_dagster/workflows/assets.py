"""The results of compiled workflows as assets of the Catalog: one per final step.

The final step of a workflow compiled by ``ecl_dagster.workflows.compiler`` (a step no other step
takes from) records its output as a materialization of the asset
``<workflow id>/<final step id>`` (``critique_revise/final_draft``) in group ``workflows``.
Each request is one partition of the dynamic partitions ``<workflow id>_requests``: the
slug of the request's first string field (``topic``, ``path``) and the first 8 hex digits
of the SHA-256 of the whole validated input as canonical JSON, e.g.
``the-history-of-tea-1f2e3d4c``. The same request run twice is two materializations of one
partition; a run that fails before its final step succeeds records nothing.

``workflow_asset_specs(jobs)`` declares these assets for ``dg.Definitions`` so they are in
the Catalog before any run; it finds the final ops by their ``RESULT_ASSET_TAG``.
"""

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ecl_dagster.workflows.metadata import result_metadata
from ecl_dagster.workflows.step_execution import checked_input

__all__ = [
    "MAX_REQUEST_SLUG_CHARS",
    "RESULT_ASSET_TAG",
    "USES_LLM_TAG",
    "WORKFLOWS_GROUP",
    "WorkflowResult",
    "request_partition_key",
    "workflow_asset_specs",
]

WORKFLOWS_GROUP = "workflows"
"""The asset group of every workflow result."""

RESULT_ASSET_TAG = "ecl/result_asset"
"""Op tag of a final op: the asset key it materializes, as ``<workflow id>/<step id>``."""
USES_LLM_TAG = "ecl/uses_llm"
"""Op tag of every op whose step calls the LLM: its workflow's result asset has kind
``anthropic``."""

MAX_REQUEST_SLUG_CHARS = 40
"""The longest slug part of a request's partition key, in characters."""

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_DIGEST_HEX = 8


def _slug(value: str) -> str:
    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_value.lower()).strip("-")
    return slug[:MAX_REQUEST_SLUG_CHARS].strip("-")


def request_partition_key(request: Mapping[str, Any]) -> str:
    """The partition key of one workflow request.

    Args:
        request: The validated workflow input, fields in the model's order.

    Returns:
        ``<slug>-<hash>``: the slug (lowercase ``a-z``, ``0-9`` and ``-``, at most 40
        characters) of the first string field, then the first 8 hex digits of the SHA-256
        of the request as canonical JSON (sorted keys, no spaces, UTF-8). Only the hash
        when no string field leaves a slug (no string field, or only symbols).
    """
    canonical = json.dumps(
        to_jsonable_python(request), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:_DIGEST_HEX]
    first_text = next((v for v in request.values() if isinstance(v, str)), "")
    slug = _slug(first_text)
    return f"{slug}-{digest}" if slug else digest


@dataclass(frozen=True)
class WorkflowResult:
    """Where one workflow's final step records its result.

    Attributes:
        workflow_id: The workflow's id, also its job's name.
        step_id: The final step's id.
        root_step: A step with no dependency: its op config is the workflow input.
        input_model: The workflow's input model, which validates that config.
    """

    workflow_id: str
    step_id: str
    root_step: str
    input_model: type[BaseModel]

    @property
    def asset_key(self) -> dg.AssetKey:
        """``<workflow id>/<final step id>``."""
        return dg.AssetKey([self.workflow_id, self.step_id])

    def record(self, context: dg.OpExecutionContext, output: BaseModel) -> dg.AssetMaterialization:
        """The materialization of ``output`` for this run's request, its partition added.

        The request is the root step's op config in the run config, validated again by
        the input model (so defaults count); the partition is added if missing.

        Raises:
            dg.Failure: The run config breaks the input model's rules.
        """
        request = checked_input(self.input_model, _op_config(context.run_config, self.root_step))
        key = request_partition_key(request)
        context.instance.add_dynamic_partitions(_partitions_name(self.workflow_id), [key])
        return dg.AssetMaterialization(
            asset_key=self.asset_key,
            partition=key,
            description=f"The result of {self.workflow_id} for request {key}.",
            metadata=result_metadata(output, request),
        )


def _op_config(run_config: Mapping[str, Any], op_name: str) -> Mapping[str, Any]:
    """The ``config`` of ``op_name`` in a run config; empty when every field is defaulted."""
    config: Mapping[str, Any] = run_config.get("ops", {}).get(op_name, {}).get("config", {})
    return config


def _partitions_name(workflow_id: str) -> str:
    return f"{workflow_id}_requests"


def workflow_asset_specs(jobs: Sequence[dg.JobDefinition]) -> list[dg.AssetSpec]:
    """The result assets of compiled workflow jobs, for ``dg.Definitions(assets=...)``.

    Args:
        jobs: Jobs built by ``build_job``; other jobs, with no op tagged
            ``RESULT_ASSET_TAG``, add nothing.

    Returns:
        One spec per final op: group ``workflows``, kind ``anthropic`` when the job calls
        the LLM, partitioned by ``<workflow id>_requests``.
    """
    specs = []
    for job in jobs:
        op_defs = list(job.graph.iterate_op_defs())
        uses_llm = any(op_def.tags.get(USES_LLM_TAG) == "true" for op_def in op_defs)
        for op_def in op_defs:
            tagged = op_def.tags.get(RESULT_ASSET_TAG)
            if tagged is None:
                continue
            key = dg.AssetKey.from_user_string(tagged)
            workflow_id, step_id = key.path
            specs.append(
                dg.AssetSpec(
                    key,
                    description=(
                        f"The result of the {workflow_id} workflow: the output of its final "
                        f"step {step_id}, one materialization per run that gets there. One "
                        "partition per request (the slug of its first text field and a hash "
                        f"of the whole input). {job.description or ''}"
                    ).strip(),
                    group_name=WORKFLOWS_GROUP,
                    kinds={"anthropic"} if uses_llm else None,
                    tags={"ecl/workflow": workflow_id},
                    partitions_def=dg.DynamicPartitionsDefinition(
                        name=_partitions_name(workflow_id)
                    ),
                )
            )
    return specs
