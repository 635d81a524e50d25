"""The analyzer's settings (a resource), its partitions, and where its files go."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from ecl_core.codebase.tree import TreeLimits
from ecl_core.loop import MAX_REVISIONS_CAP
from ecl_core.migration.request import RequestStore

__all__ = ["MIGRATION_GROUP", "MIGRATION_REQUESTS", "MigrationSettings"]

MIGRATION_GROUP = "migration"
MIGRATION_REQUESTS = dg.DynamicPartitionsDefinition(name="migration_requests")
"""One partition per analysis request; the key is the slug of the request's name."""
_DEFAULTS = TreeLimits()


class MigrationSettings(dg.ConfigurableResource):
    """Limits, budgets and folders of the Codebase Migration Analyzer.

    Requests are kept in ``<output_dir>/requests/<key>.json`` and deliveries written to
    ``<output_dir>/deliveries/<key>/`` (with ``<key>.zip`` beside it).
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
    max_revisions: int = Field(
        MAX_REVISIONS_CAP, ge=0, le=MAX_REVISIONS_CAP, description="Revisions per document, 0-3."
    )
    output_dir: str | None = Field(
        None, description="Requests and deliveries; unset: <storage>/ecl_migration."
    )

    def limits(self) -> TreeLimits:
        """The tree limits."""
        return TreeLimits(
            max_files=self.max_files,
            max_total_bytes=self.max_total_bytes,
            max_file_bytes=self.max_file_bytes,
        )

    def root(self, instance: dg.DagsterInstance) -> Path:
        """``output_dir``, else ``ecl_migration`` in the instance's storage directory."""
        if self.output_dir:
            return Path(self.output_dir).resolve()
        return Path(instance.storage_directory()).resolve() / "ecl_migration"

    def requests(self, instance: dg.DagsterInstance) -> RequestStore:
        """Where requests are kept."""
        return RequestStore(self.root(instance) / "requests")

    def delivery_dir(self, instance: dg.DagsterInstance, key: str) -> Path:
        """The delivery folder of request ``key`` (absolute)."""
        return self.root(instance) / "deliveries" / key
