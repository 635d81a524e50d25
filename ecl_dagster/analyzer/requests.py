"""Adding an analysis request: check it, keep it, and add its partition."""

import hashlib
from pathlib import Path
from typing import Any, NamedTuple

import dagster as dg

from ecl_core.errors import FieldError, ValidationError
from ecl_core.migration.request import MigrationRequest
from ecl_core.workflow.step import validated
from ecl_dagster.analyzer.settings import MIGRATION_REQUESTS, MigrationSettings
from ecl_dagster.runs.llm_choice import llm_choice
from ecl_dagster.triggers.inbox import parse_json, read_inbox_file

__all__ = ["RequestFile", "add_request", "read_request_file", "resolve_paths"]


class RequestFile(NamedTuple):
    """An analysis request read from an inbox file.

    Attributes:
        request: The request, its paths absolute.
        llm_config: The LLM settings the file chose (``llm_choice``), for the run
            config's ``resources.llm.config``; empty when it chose none.
        digest: The SHA-256 of the file's content, hex.
    """

    request: MigrationRequest
    llm_config: dict[str, Any]
    digest: str


def resolve_paths(request: MigrationRequest, base: Path) -> MigrationRequest:
    """``request`` with every path made absolute, relative ones starting at ``base``.

    Raises:
        ValidationError: ``code_path`` or ``new_code_path`` is not an existing folder.
    """
    def absolute(path: str) -> str:
        return str((base / Path(path).expanduser()).resolve())

    resolved = request.model_copy(update={
        "code_path": absolute(request.code_path),
        "new_code_path": absolute(request.new_code_path) if request.new_code_path else None,
        "vision_doc": absolute(request.vision_doc) if request.vision_doc else None,
        "deploy_configs": [absolute(p) for p in request.deploy_configs],
    })
    for field in ("code_path", "new_code_path"):
        path = getattr(resolved, field)
        if path is not None and not Path(path).is_dir():
            problem = "does not exist" if not Path(path).exists() else "is not a folder"
            raise ValidationError(
                "invalid analysis request", [FieldError(field, f"'{path}' {problem}")]
            )
    return resolved


def read_request_file(path: Path) -> RequestFile:
    """A request from a JSON file of the inbox, the LLM it chose, and its content's digest.

    The file is read as every inbox file is (``read_inbox_file``): a symlink, a FIFO or
    anything else that is not a regular file is refused without being opened. Relative
    paths in the request start at the file's folder. ``provider``, ``model`` and
    ``context_window_tokens`` are the run's LLM settings, not fields of the request: the
    request, and so its partition key, is the same whichever LLM writes it.

    Raises:
        ValidationError: The file cannot be read (``read_inbox_file``: a name that is not
            UTF-8, not a regular file, over 64 KiB, not UTF-8 text), is not JSON or nests
            it too deeply (``parse_json``), is not a JSON object, chooses an LLM setting
            outside its rule (``llm_choice``), or breaks a rule of
            ``MigrationRequest`` or ``resolve_paths``; the details name the field.
    """
    text = read_inbox_file(path)
    data = parse_json(text)
    if not isinstance(data, dict):
        raise ValidationError("request rejected", [FieldError("file", "is not a JSON object")])
    llm_config = llm_choice(data.pop("provider", None), data.pop("model", None),
                            data.pop("context_window_tokens", None))
    data.setdefault("name", path.stem)
    request = validated(MigrationRequest, data, "", "request rejected")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RequestFile(resolve_paths(request, path.parent), llm_config, digest)


def add_request(
    instance: dg.DagsterInstance, settings: MigrationSettings, request: MigrationRequest
) -> str:
    """Keep ``request`` (replacing one of the same name) and add its partition; return its key.

    Raises:
        ValidationError: The name gives no key.
    """
    key = settings.requests(instance).put(request)
    if not instance.has_dynamic_partition(MIGRATION_REQUESTS.name, key):
        instance.add_dynamic_partitions(MIGRATION_REQUESTS.name, [key])
    return key
