"""Step 0, the intake: a request checked against the file system, as one bundle.

The trees are read by ``ecl_core.codebase.tree.scan_tree`` (ignore rules, limits, no
symlink followed, nothing read outside the root); the single files (vision document,
deployment configs) by ``read_user_file`` (regular files only, nothing that can block).
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ecl_core.codebase.tree import SkippedPath, SourceTree, TreeLimits, read_user_file, scan_tree
from ecl_core.migration.request import MigrationRequest

__all__ = ["MigrationIntake", "TreeSummary", "take_in"]


class TreeSummary(BaseModel):
    """What was found in a tree: its files (paths only) and what was skipped, and why."""

    model_config = ConfigDict(frozen=True)

    root: str = Field(description="Absolute, resolved.")
    files: int
    total_bytes: int = Field(description="Bytes of text read.")
    paths: list[str] = Field(description="Every file read, POSIX, relative to the root.")
    skipped: list[SkippedPath]

    @classmethod
    def of(cls, tree: SourceTree) -> "TreeSummary":
        """The summary of a scanned tree."""
        return cls(
            root=tree.root, files=len(tree.files), total_bytes=tree.total_bytes,
            paths=[f.path for f in tree.files], skipped=tree.skipped,
        )


class MigrationIntake(BaseModel):
    """The validated input bundle of one analysis."""

    model_config = ConfigDict(frozen=True)

    request: MigrationRequest
    code: TreeSummary
    new_code: TreeSummary | None = None
    vision: str = Field("", description="The vision document's text, if the request names one.")
    deploy_configs: dict[str, str] = Field(
        default_factory=dict, description="Each deployment file's path and text."
    )


def take_in(request: MigrationRequest, limits: TreeLimits) -> MigrationIntake:
    """Read what ``request`` names, within ``limits``.

    Raises:
        ValidationError: On the field at fault (``code_path``, ``new_code_path``,
            ``vision_doc``, ``deploy_configs[k]``), naming the path and the rule or limit.
    """
    code = scan_tree(request.code_path, limits, field="code_path")
    new_code = (
        scan_tree(request.new_code_path, limits, field="new_code_path")
        if request.new_code_path else None
    )
    vision = read_user_file(request.vision_doc, field="vision_doc") if request.vision_doc else ""
    configs = {
        str(Path(p)): read_user_file(p, field=f"deploy_configs[{k}]")
        for k, p in enumerate(request.deploy_configs)
    }
    return MigrationIntake(
        request=request,
        code=TreeSummary.of(code),
        new_code=TreeSummary.of(new_code) if new_code else None,
        vision=vision,
        deploy_configs=configs,
    )
