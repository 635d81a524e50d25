"""The analyzer's settings (a resource), its partitions, and where its files go."""

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from ecl_core.bounds import Range, check_ranges
from ecl_core.codebase.tree import TreeLimits
from ecl_core.loop import MAX_REVISIONS_CAP
from ecl_core.migration.request import RequestStore

__all__ = [
    "MIGRATION_DIR_ENV_VAR",
    "MIGRATION_GROUP",
    "MIGRATION_REQUESTS",
    "MIGRATION_SETTING_RANGES",
    "MigrationSettings",
]

MIGRATION_GROUP = "migration"
MIGRATION_REQUESTS = dg.DynamicPartitionsDefinition(name="migration_requests")
"""One partition per analysis request; the key is the slug of the request's name."""
_DEFAULTS = TreeLimits()
MIGRATION_DIR_ENV_VAR = "ECL_MIGRATION_DIR"
MIGRATION_SETTING_RANGES = {
    "max_files": Range(1, 1_000_000, "files"),
    "max_total_bytes": Range(1, 1 << 30, "bytes"),
    "max_file_bytes": Range(1, 64 << 20, "bytes"),
    "excerpt_budget_tokens": Range(0, 200_000, "tokens"),
    "document_max_tokens": Range(1, 128_000, "tokens"),
    "max_revisions": Range(0, MAX_REVISIONS_CAP, "revisions"),
}
"""The range a run may set each of the analyzer's settings in."""


class MigrationSettings(dg.ConfigurableResource):
    """Limits and budgets of the Codebase Migration Analyzer, and where its files go.

    Requests are kept in ``<root>/requests/<key>.json`` and deliveries written to
    ``<root>/deliveries/<key>/`` (with ``<key>.zip`` beside it). The root is a deployment
    setting, ``$ECL_MIGRATION_DIR``, else ``ecl_migration`` in the instance's storage
    directory: run config cannot send files elsewhere. Each limit has a range, checked
    when the resource is set up for a run (a ``ValidationError`` names the field).
    """

    max_files: int = Field(_DEFAULTS.max_files, description="Most files a tree may hold.")
    max_total_bytes: int = Field(
        _DEFAULTS.max_total_bytes, description="Most bytes of text a tree may hold (50 MB)."
    )
    max_file_bytes: int = Field(
        _DEFAULTS.max_file_bytes, description="Larger files are skipped, and listed (1 MB)."
    )
    excerpt_budget_tokens: int = Field(
        12_000, description="Tokens of source excerpts in the analysis prompt (4 chars a token)."
    )
    document_max_tokens: int = Field(
        16_000, description="Upper bound on generated tokens per document call."
    )
    max_revisions: int = Field(MAX_REVISIONS_CAP, description="Revisions per document, 0-3.")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Check each setting's range.

        Raises:
            ValidationError: A setting is outside its range; a detail names each one.
        """
        check_ranges(self, MIGRATION_SETTING_RANGES, "resources.migration.config")

    def limits(self) -> TreeLimits:
        """The tree limits."""
        return TreeLimits(
            max_files=self.max_files,
            max_total_bytes=self.max_total_bytes,
            max_file_bytes=self.max_file_bytes,
        )

    def root(self, instance: dg.DagsterInstance) -> Path:
        """``$ECL_MIGRATION_DIR``, else ``ecl_migration`` in the instance's storage directory."""
        configured = os.environ.get(MIGRATION_DIR_ENV_VAR)
        if configured:
            return Path(configured).resolve()
        return Path(instance.storage_directory()).resolve() / "ecl_migration"

    def requests(self, instance: dg.DagsterInstance) -> RequestStore:
        """Where requests are kept."""
        return RequestStore(self.root(instance) / "requests")

    def delivery_dir(self, instance: dg.DagsterInstance, key: str) -> Path:
        """The delivery folder of request ``key`` (absolute)."""
        return self.root(instance) / "deliveries" / key
