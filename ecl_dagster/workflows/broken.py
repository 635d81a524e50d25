"""A broken workflow file, shown in the UI as a job that says what is wrong.

One bad file must not take the code location down (``ecl_core.workflow.files``): the other
workflows keep loading, and each broken file becomes a job of its workflow's id whose
description is the file's problems (file, line, step, rule). Launching it fails at once
with the same problems; ECL's own ways in (``ecl run``, the HTTP API) refuse it before a
run exists.
"""

import re

import dagster as dg

from ecl_core.errors import ConfigError
from ecl_core.workflow.definition import NAME_PATTERN, RESERVED_NAMES, Problem

__all__ = ["BROKEN_TAG", "broken_file_job"]

BROKEN_TAG = "ecl/workflow_file_error"
"""Tag of a broken file's job: the file's path."""
MAX_NAME_CHARS = 100


def _job_name(declared: str, taken: set[str]) -> str:
    """``declared`` as a job name Dagster takes, free in the code location."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", declared)[:MAX_NAME_CHARS]
    if not re.match(NAME_PATTERN, name) or name in RESERVED_NAMES:
        name = f"workflow_{name}"
    while name in taken:
        name += "_broken"
    return name


def broken_file_job(
    file: str, declared: str, problems: list[Problem], taken: set[str]
) -> dg.JobDefinition:
    """A job named after ``declared`` (the file's id), describing ``problems``.

    Args:
        file: The broken file's path.
        declared: The workflow id it declares, or its name without the extension.
        problems: Its problems, each with its line.
        taken: Job names in use; the name gets ``_broken`` until it is free.
    """
    name = _job_name(declared, taken)
    listed = "\n".join(f"- `{p}`" for p in problems)
    text = "\n".join(str(p) for p in problems)

    @dg.op(name=f"{name}__workflow_file_error",
           description="Fails with the workflow file's problems.")
    def _file_error() -> None:
        raise ConfigError(f"workflow file {file} is broken; fix it and reload:\n{text}")

    @dg.job(
        name=name,
        description=f"**Broken workflow file** `{file}`: this workflow does not run until "
        f"the file is fixed and the code location reloaded.\n\n{listed}",
        tags={BROKEN_TAG: file},
    )
    def _job() -> None:
        _file_error()

    return _job
