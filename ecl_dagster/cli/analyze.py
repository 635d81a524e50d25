"""``ecl analyze``: add an analysis request and materialize the migration graph for it.

The run executes in this process on the instance at DAGSTER_HOME (the embedded SQLite
default needs no daemon), as a run of the ``migration_analysis`` job for the request's
partition, so ``ecl status`` and ``ecl reexecute`` work on it like on any run.
``--provider``, ``--model`` and ``--context-window-tokens`` are its run config's
``resources.llm.config`` (``ecl_dagster.runs.llm_choice.llm_choice``).
"""

import sys
from pathlib import Path

import click
import dagster as dg

from ecl_core.errors import ValidationError
from ecl_core.migration.request import MigrationRequest
from ecl_core.workflow.step import validated
from ecl_dagster.analyzer.requests import add_request, resolve_paths
from ecl_dagster.analyzer.sensor import MIGRATION_JOB
from ecl_dagster.cli.common import LLM_OPTIONS, echo_json, format_option, instance, llm_options
from ecl_dagster.review.awaiting import REVIEW_ID_TAG, REVIEW_STATE_TAG
from ecl_dagster.runs.launching import INFO_CONSOLE
from ecl_dagster.runs.llm_choice import llm_choice, with_llm_choice
from ecl_dagster.usage.budgets import budget_tags
from ecl_dagster.workflows.jobs import reconstructable_job

__all__ = ["analyze"]


def _request(path: str, name: str | None, fields: dict[str, object]) -> MigrationRequest:
    data = {"name": name or Path(path).resolve().name, "code_path": path, **fields}
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


@click.command()
@click.argument("path")
@click.option("--target", required=True, help="The migration's goal, e.g. Rust.")
@click.option("--name", help="The request's name (default: the folder's name).")
@click.option("--intended-use", default="", help="What the migrated system is for.")
@click.option("--new-code", metavar="PATH", help="The migrated code's folder, to assess it.")
@click.option("--vision", metavar="FILE", help="A text or markdown file: the vision.")
@click.option("--deploy-config", "deploy_configs", multiple=True, metavar="FILE",
              help="A deployment file (repeatable).")
@click.option("--review-architecture", is_flag=True,
              help="A person approves the architecture before the plan is written.")
@click.option("--budget-tokens", metavar="N", help="Tokens the request's calls may bill in "
              "all, every materialization of its partition counted (ecl/budget_tokens).")
@click.option("--budget-usd", metavar="USD", help="USD they may bill in all (ecl/budget_usd).")
@llm_options
@format_option
@click.pass_context
def analyze(ctx: click.Context, path: str, target: str, name: str | None, intended_use: str,
            new_code: str | None, vision: str | None, deploy_configs: tuple[str, ...],
            review_architecture: bool, budget_tokens: str | None, budget_usd: str | None,
            provider: str | None, model: str | None, context_window_tokens: int | None,
            fmt: str) -> None:
    """Analyze the codebase at PATH (a local folder) for a migration.

    Adds the request, materializes its partition of the migration graph in this process
    (Dagster's events at INFO), ends with a summary block on stderr, and prints the
    deliverables folder last on stdout. --provider, --model and
    --context-window-tokens choose the LLM (run config resources.llm.config). JSON:
    {"analysis", "delivery_folder", "run" (RunDetail)}; quiet: the run id. Exits 0 when done
    or awaiting the architecture's review (--review-architecture), 1 when the run failed (its
    status on stderr), 2 for an invalid request (the field and the rule).
    """
    from ecl_dagster.cli.status import render_summary, run_status
    from ecl_dagster.definitions import defs
    from ecl_dagster.runs.views import run_detail

    found = instance(ctx)
    fields: dict[str, object] = {
        "target": target, "intended_use": intended_use,
        "new_code_path": new_code, "vision_doc": vision, "deploy_configs": list(deploy_configs),
        "review_architecture": review_architecture,
    }
    try:
        request = _request(path, name, fields)
        budget = budget_tags(budget_tokens, budget_usd,
                             names=("--budget-tokens", "--budget-usd"))
        run_config = with_llm_choice({}, llm_choice(provider, model, context_window_tokens,
                                                    names=LLM_OPTIONS))
        key = add_request(found, defs.resources["migration"], request)
    except ValidationError as err:
        click.echo(f"ecl: {err}", err=True)
        for detail in err.details:
            click.echo(f"  {detail}", err=True)
        ctx.exit(2)
    job = reconstructable_job(MIGRATION_JOB)
    result = dg.execute_job(job, found, run_config={**run_config, **INFO_CONSOLE},
                            tags={"dagster/partition": key, **budget}, raise_on_error=False)
    run = found.get_run_by_id(result.run_id)
    awaiting = run is not None and run.tags.get(REVIEW_STATE_TAG) == "awaiting"
    folder = _delivery_folder(found, key) if result.success and not awaiting else None
    if fmt == "json":
        echo_json({"analysis": key, "delivery_folder": folder,
                   "run": run_detail(found, result.run_id).model_dump(mode="json")})
    elif fmt == "quiet":
        click.echo(result.run_id)
    if fmt == "table" and not result.success:
        run_status(found, result.run_id, sys.stderr)
    if fmt == "table":
        render_summary(run_detail(found, result.run_id), sys.stderr, deliverables=folder)
    if not result.success:
        ctx.exit(1)
    if fmt != "table":
        return
    if awaiting:
        assert run is not None
        review_id = run.tags.get(REVIEW_ID_TAG)
        click.echo(f"analysis '{key}' awaits review {review_id} of its architecture (run "
                   f"{result.run_id}): `ecl review show {review_id}`, then approve or reject "
                   f"it and `ecl review resume {review_id}`")
        return
    click.echo(f"analysis '{key}' materialized in run {result.run_id}")
    click.echo(f"{folder}")
