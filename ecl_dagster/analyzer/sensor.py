"""Analyses from an inbox of request files, one materialization of the graph each."""

from pathlib import Path

import dagster as dg

from ecl_core.logging import configure_logging
from ecl_dagster.analyzer.requests import read_request_file
from ecl_dagster.analyzer.settings import MIGRATION_REQUESTS, MigrationSettings
from ecl_dagster.runs.llm_choice import with_llm_choice
from ecl_dagster.triggers.inbox import analysis_inbox_folder, pending_files, reject, retire

__all__ = ["MIGRATION_JOB", "migration_request_sensor"]

MIGRATION_JOB = "migration_analysis"
REQUEST_KEY_TAG = "ecl/analysis_request_key"


@dg.sensor(
    job_name=MIGRATION_JOB,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds one migration_requests partition per request file dropped into the "
    "analysis inbox and materializes the migration graph for it.",
)
def migration_request_sensor(
    context: dg.SensorEvaluationContext, migration: MigrationSettings
) -> dg.SensorResult:
    """Turn each inbox file into a partition and one run, exactly once.

    The inbox is ``$ECL_ANALYSIS_INBOX_DIR``, else ``analysis_inbox/`` in DAGSTER_HOME. A
    file is a JSON object with the fields of ``MigrationRequest`` (``name`` defaults to the
    file name; relative paths start at the inbox), and optionally ``provider``, ``model`` and
    ``context_window_tokens``, which go to the run's ``resources.llm.config``. Its run key is
    the file name plus a hash of its content. Once the run exists the file moves to
    ``done/``; a file that cannot be read for any reason (an unknown provider among them)
    moves to ``failed/`` with ``<name>.reason.txt``; a file that cannot be moved is logged
    and left in place. Either way the tick goes on with the others.
    """
    configure_logging()
    folder = analysis_inbox_folder(Path(context.instance.root_directory))
    folder.mkdir(parents=True, exist_ok=True)
    partitions: list[str] = []
    runs: list[dg.RunRequest] = []
    for path in pending_files(folder):
        try:
            request, llm_config, digest = read_request_file(path)
            key = migration.requests(context.instance).put(request)
        except Exception as err:  # one bad file must never block the inbox
            reject(path, folder, err, "inbox.analysis_rejected")
            continue
        run_key = f"{path.name}:{digest[:16]}"
        existing = context.instance.get_runs(
            filters=dg.RunsFilter(tags={REQUEST_KEY_TAG: run_key}), limit=1
        )
        if existing:
            retire(path, folder)
            continue
        partitions.append(key)
        runs.append(dg.RunRequest(
            run_key=run_key, partition_key=key, run_config=with_llm_choice({}, llm_config),
            tags={REQUEST_KEY_TAG: run_key, "ecl/request_file": path.name},
        ))
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[MIGRATION_REQUESTS.build_add_request(partitions)]
        if partitions else [],
    )
