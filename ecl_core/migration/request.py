"""An analysis request: what to analyze and towards what, and where requests are kept.

A request is named; the slug of its name is its key (the Dagster partition key of the
migration assets). ``RequestStore`` keeps the latest request under each key as a JSON file,
so every process of a deployment that shares the storage folder reads the same request.
"""

import json
import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ecl_core.errors import ConfigError, FieldError, ValidationError
from ecl_core.workflow.step import validated

__all__ = ["MAX_SLUG_CHARS", "MigrationRequest", "RequestStore", "request_slug"]

MAX_SLUG_CHARS = 60
"""The longest request key, in characters."""
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_KEY = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


def request_slug(name: str) -> str:
    """The key of a request named ``name``: lowercase ASCII letters, digits and ``-``.

    Accents are dropped, other runs of characters become one ``-``, at most 60 characters.

    Raises:
        ValidationError: On field ``name``: nothing usable is left (a blank name, only symbols).
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")[:MAX_SLUG_CHARS].strip("-")
    if not slug:
        raise ValidationError(
            "invalid analysis request",
            [FieldError("name", f"{name!r} has no letter or digit to make a key from")],
        )
    return slug


class MigrationRequest(BaseModel):
    """What to analyze (``code_path``) and the migration's goal (``target``).

    Paths are stored absolute, as given to ``ecl analyze`` or the inbox, so the analysis
    does not depend on the working directory of the process that runs it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="The request's name.")
    code_path: str = Field(min_length=1, description="The codebase: a local directory.")
    target: str = Field(
        min_length=1, max_length=500, description="Free text, e.g. 'Rust' or 'Go 1.23 services'."
    )
    intended_use: str = Field(
        "", max_length=2000, description="What the migrated system is for; free text."
    )
    vision_doc: str | None = Field(None, description="A text or markdown file: the vision.")
    deploy_configs: list[str] = Field(
        default_factory=list, max_length=20, description="Deployment files (compose, k8s...)."
    )
    new_code_path: str | None = Field(
        None, description="The migrated code, a local directory, for the quality assessment."
    )
    review_architecture: bool = Field(
        False, description="A person approves the architecture before the plan is written."
    )

    @field_validator("name", "target")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank")
        return value.strip()

    @property
    def key(self) -> str:
        """The request's key: ``request_slug(name)``."""
        return request_slug(self.name)


class RequestStore:
    """Requests as ``<root>/<key>.json``; putting a request under an existing key replaces it.

    Args:
        root: The folder (created on first ``put``).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, request: MigrationRequest) -> str:
        """Store ``request`` and return its key.

        Raises:
            ValidationError: The name gives no key (see ``request_slug``).
        """
        key = request.key
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{key}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(request.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)
        return key

    def get(self, key: str) -> MigrationRequest:
        """The request stored under ``key``.

        Raises:
            ConfigError: ``key`` is not a request key, or no request has it.
            ValidationError: The stored file no longer matches the request's rules.
        """
        if not _KEY.match(key):
            raise ConfigError(f"{key!r} is not an analysis request key (a-z, 0-9 and -)")
        path = self.root / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"no analysis request '{key}' in {self.root}: add it with "
                "`ecl analyze PATH --target ... --name ...` or the analysis inbox"
            ) from None
        return validated(MigrationRequest, data, "request", f"stored request '{key}' is invalid")
