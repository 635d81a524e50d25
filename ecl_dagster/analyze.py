"""``ecl analyze``: add an analysis request and materialize the migration graph for it.

The run executes in this process on the instance at DAGSTER_HOME (the embedded SQLite
default needs no daemon), as a run of the ``migration_analysis`` job for the request's
partition, so ``ecl status`` and ``ecl reexecute`` work on it like on any run.
"""

import argparse
import sys
from pathlib import Path
from typing import TextIO

import dagster as dg

from ecl_core.errors import ValidationError
from ecl_core.migration.request import MigrationRequest
from ecl_core.workflow.step import validated
from ecl_dagster.assets.requests import add_request, resolve_paths
from ecl_dagster.assets.sensor import MIGRATION_JOB
from ecl_dagster.awaiting import REVIEW_ID_TAG, REVIEW_STATE_TAG
from ecl_dagster.budgets import budget_tags

__all__ = ["add_analyze_parser", "analyze"]


def add_analyze_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The ``analyze`` command's arguments."""
    parser = commands.add_parser(
        "analyze", help="analyze a codebase for a migration; prints the deliverables folder"
    )
    parser.add_argument("path", help="the codebase: a local folder")
    parser.add_argument("--target", required=True, help="the migration's goal, e.g. Rust")
    parser.add_argument("--name", help="the request's name (default: the folder's name)")
    parser.add_argument("--intended-use", default="", help="what the migrated system is for")
    parser.add_argument("--new-code", help="the migrated code's folder, to assess it")
    parser.add_argument("--vision", help="a text or markdown file: the vision")
    parser.add_argument(
        "--deploy-config", action="append", default=[], help="a deployment file (repeatable)"
    )
    parser.add_argument("--review-architecture", action="store_true",
                        help="a person approves the architecture before the plan is written")
    parser.add_argument("--budget-tokens", help="tokens the request's calls may bill in all, "
                        "every materialization of its partition counted (ecl/budget_tokens)")
    parser.add_argument("--budget-usd", help="USD they may bill in all (ecl/budget_usd)")


def _request(args: argparse.Namespace) -> MigrationRequest:
    data = {
        "name": args.name or Path(args.path).resolve().name,
        "code_path": args.path,
        "target": args.target,
        "intended_use": args.intended_use,
        "new_code_path": args.new_code,
        "vision_doc": args.vision,
        "deploy_configs": args.deploy_config,
        "review_architecture": args.review_architecture,
    }
    request = validated(MigrationRequest, data, "", "invalid analysis request")
    return resolve_paths(request, Path.cwd())


def _delivery_folder(instance: dg.DagsterInstance, key: str) -> str | None:
    event = instance.get_latest_materialization_event(dg.AssetKey("migration_delivery"))
    if event is None or event.asset_materialization is None:
        return None
    if event.asset_materialization.partition != key:
        return None
    folder = event.asset_materialization.metadata.get("delivery_folder")
    return str(folder.value) if folder is not None else None


def analyze(instance: dg.DagsterInstance, args: argparse.Namespace, out: TextIO) -> int:
    """Add the request, materialize its partition, print the deliverables folder.

    Returns:
        0 when every asset materialized or the run awaits a review of the architecture
        (``--review-architecture``), 1 when the run failed, 2 for an invalid request.
    """
    from ecl_dagster.cli import run_status
    from ecl_dagster.definitions import defs

    try:
        request = _request(args)
        budget = budget_tags(args.budget_tokens, args.budget_usd,
                             names=("--budget-tokens", "--budget-usd"))
        key = add_request(instance, defs.resources["migration"], request)
    except ValidationError as err:
        sys.stderr.write(f"ecl: {err}\n")
        for detail in err.details:
            sys.stderr.write(f"  {detail}\n")
        return 2
    job = dg.build_reconstructable_job(
        "ecl_dagster.definitions", "job_by_name", reconstructable_args=(MIGRATION_JOB,)
    )
    result = dg.execute_job(
        job, instance, tags={"dagster/partition": key, **budget}, raise_on_error=False
    )
    if not result.success:
        run_status(instance, result.run_id, sys.stderr)
        return 1
    run = instance.get_run_by_id(result.run_id)
    if run is not None and run.tags.get(REVIEW_STATE_TAG) == "awaiting":
        review_id = run.tags.get(REVIEW_ID_TAG)
        out.write(f"analysis '{key}' awaits review {review_id} of its architecture (run "
                  f"{result.run_id}): `ecl review show {review_id}`, then approve or reject "
                  f"it and `ecl review resume {review_id}`\n")
        return 0
    out.write(f"analysis '{key}' materialized in run {result.run_id}\n")
    folder = _delivery_folder(instance, key)
    out.write(f"{folder}\n")
    return 0
