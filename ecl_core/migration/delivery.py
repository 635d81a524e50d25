"""Step 6's package: every document in one folder, and the folder as one zip archive."""

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ecl_core.migration.documents import DeliveryReport

__all__ = ["Delivery", "assemble", "spec_file_name"]


class Delivery(BaseModel):
    """The delivered package: the write-up, and where its files are."""

    model_config = ConfigDict(frozen=True)

    report: DeliveryReport
    folder: str
    archive: str
    files: list[str]


def spec_file_name(number: int, phase: str) -> str:
    """``05_implementation_specs/phase_01_<slug>.md`` for phase ``number`` named ``phase``."""
    slug = re.sub(r"[^a-z0-9]+", "_", phase.lower()).strip("_")[:40] or "phase"
    return f"05_implementation_specs/phase_{number:02d}_{slug}.md"


def assemble(report: DeliveryReport, folder: Path, documents: Mapping[str, str]) -> Delivery:
    """Write ``README.md`` (the report) and ``documents`` into ``folder``, then zip it.

    The folder is rebuilt beside itself and swapped in, so a failed write leaves the
    previous delivery whole; the archive ``<folder>.zip`` is replaced the same way.

    Args:
        report: The delivery report, written as ``README.md``.
        folder: The delivery folder (absolute).
        documents: Relative file name to text, e.g. ``02_codebase_analysis.md``.
    """
    staging = folder.with_name(folder.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    files = {"README.md": report.markdown(), **documents}
    for name, text in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    staging.replace(folder)
    archive = shutil.make_archive(str(staging), "zip", root_dir=folder)
    final_archive = folder.with_name(folder.name + ".zip")
    Path(archive).replace(final_archive)
    return Delivery(
        report=report, folder=str(folder), archive=str(final_archive), files=sorted(files)
    )
