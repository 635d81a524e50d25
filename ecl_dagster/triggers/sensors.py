"""Sensors: runs from an inbox of topic requests, and failed runs (alerting, usage tags).

A failed run is logged for alerting (``run_failure_alert``) and tagged with what its calls
billed when its worker could not (``failed_run_usage``).
"""

from pathlib import Path

import dagster as dg

from ecl_core.logging import configure_logging, get_logger
from ecl_dagster.triggers.inbox import (
    pending_files,
    read_request,
    reject,
    retire,
    topic_inbox_folder,
)
from ecl_dagster.usage.tags import tag_run_usage

__all__ = [
    "failed_run_usage", "inbox_dir", "run_failure_alert", "topic_request_sensor", "trigger_defs",
]

REQUEST_FILE_TAG = "ecl/request_file"
REQUEST_KEY_TAG = "ecl/request_key"
_log = get_logger("ecl.sensors")


def inbox_dir(instance: dg.DagsterInstance) -> Path:
    """``$ECL_INBOX_DIR``, else ``inbox/`` in the instance's DAGSTER_HOME."""
    return topic_inbox_folder(Path(instance.root_directory))


def _has_run(instance: dg.DagsterInstance, key: str) -> bool:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={REQUEST_KEY_TAG: key}), limit=1)
    return bool(runs)


@dg.sensor(
    job_name="critique_revise",
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts one critique_revise run per request file dropped into the inbox.",
)
def topic_request_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Turn each inbox file into a run, exactly once.

    A file is JSON (``{"topic": ..., "max_revisions": ...}``, with ``budget_tokens`` and
    ``budget_usd`` if the run has a budget: run tags) or plain text (the topic).
    Its run key is the file name and a hash of its content, so the daemon starts one
    run per request. Once that run exists the file moves to ``done/``. A file that cannot
    be read for any reason, malformed or not, moves to ``failed/``
    with ``<name>.reason.txt`` and starts nothing; a file that cannot be moved is logged
    and left in place. Either way the tick goes on with the others.
    """
    configure_logging()
    inbox = inbox_dir(context.instance)
    inbox.mkdir(parents=True, exist_ok=True)
    run_requests = []
    for path in pending_files(inbox):
        try:
            request = read_request(path)
        except Exception as err:  # one bad file must never block the inbox
            reject(path, inbox, err, "inbox.request_rejected")
            continue
        if _has_run(context.instance, request.key):
            retire(path, inbox)
            continue
        run_requests.append(
            dg.RunRequest(
                run_key=request.key,
                run_config={
                    "ops": {
                        "generate_draft": {
                            "config": {
                                "topic": request.topic,
                                "max_revisions": request.max_revisions,
                            }
                        }
                    }
                },
                tags={REQUEST_FILE_TAG: path.name, REQUEST_KEY_TAG: request.key,
                      **request.budget_tags},
            )
        )
    return dg.SensorResult(run_requests=run_requests)


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run in the structured log, one line per failed step.",
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    """Log ``run.failed`` with run id, job, failed step and error, for alerting."""
    configure_logging()
    run = context.dagster_run
    failures = context.get_step_failure_events()
    if not failures:
        _log.error(
            "run.failed",
            run_id=run.run_id,
            job_name=run.job_name,
            step_key=None,
            error=context.failure_event.message,
        )
    for event in failures:
        data = event.step_failure_data
        description = data.user_failure_data.description if data.user_failure_data else None
        _log.error(
            "run.failed",
            run_id=run.run_id,
            job_name=run.job_name,
            step_key=event.step_key,
            error=description or (data.error.message.strip() if data.error else ""),
        )


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Tags a failed run with what its LLM calls billed (ecl/llm_calls, "
    "ecl/total_tokens, ecl/cost_usd, from the usage ledger) when its worker could not: killed, "
    "evicted, out of memory, then marked failed by run monitoring.",
)
def failed_run_usage(context: dg.RunFailureSensorContext) -> None:
    """Write the failed run's usage tags if they are missing or short (``ecl_dagster.usage.tags``).

    A run whose worker tore its LLM resource down already holds them: nothing is written.
    """
    tag_run_usage(context.instance, context.dagster_run)


def trigger_defs(job_names: set[str]) -> dg.Definitions:
    """The triggers domain: the failed-run sensors, and the topic inbox when it has a job.

    Args:
        job_names: The code location's jobs; the topic-request sensor starts
            ``critique_revise`` runs, so it is defined only when that job is.
    """
    sensors: list[dg.SensorDefinition] = [run_failure_alert, failed_run_usage]
    if "critique_revise" in job_names:
        sensors.insert(0, topic_request_sensor)
    return dg.Definitions(sensors=sensors)
