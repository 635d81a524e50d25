"""Step outputs as readable JSON files, durable across processes and re-executions."""

import json
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import BaseModel, Field

from ecl_core.references import import_class, reference_of

__all__ = ["JsonIOManager"]

OUTPUTS_DIR = "ecl_outputs"
ASSETS_DIR = "ecl_assets"
UNPARTITIONED = "__all__"


class _JsonFiles(dg.IOManager):
    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, identifier: list[str]) -> Path:
        *parts, last = identifier
        return self._root.joinpath(OUTPUTS_DIR, *parts, f"{last}.json")

    def _asset_path(self, key: dg.AssetKey, partition: str | None) -> Path:
        return self._root.joinpath(ASSETS_DIR, *key.path, f"{partition or UNPARTITIONED}.json")

    def _output_path(self, context: dg.OutputContext) -> Path:
        if context.has_asset_key:
            partition = context.asset_partition_key if context.has_asset_partitions else None
            return self._asset_path(context.asset_key, partition)
        return self._path(list(context.get_identifier()))

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        if isinstance(obj, BaseModel):
            document = {"type": reference_of(type(obj)), "value": obj.model_dump(mode="json")}
        else:
            document = {"type": "json", "value": obj}
        path = self._output_path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> Any:
        upstream = context.upstream_output
        if upstream is None:
            raise dg.Failure(f"input {context.name!r} has no upstream output to load")
        if context.has_asset_key:
            partition = context.asset_partition_key if context.has_asset_partitions else None
            path = self._asset_path(context.asset_key, partition)
        else:
            path = self._path(list(upstream.get_identifier()))
        document = json.loads(path.read_text(encoding="utf-8"))
        if document["type"] == "json":
            return document["value"]
        return import_class(document["type"], BaseModel, "stored output type").model_validate(
            document["value"]
        )


class JsonIOManager(dg.ConfigurableIOManagerFactory):
    """Stores each step output as JSON, one file per output.

    An op's output is ``<base_dir>/ecl_outputs/<run_id>/<step_key>/<output>[/<mapping_key>]
    .json``; an asset's latest value is ``<base_dir>/ecl_assets/<key path>/<partition>.json``
    (``__all__.json`` when unpartitioned), which a later run of a downstream asset reads;
    its history is the asset's materializations in Dagster.

    A person can read every draft and critique there; a re-execution from failure
    loads its parent run's outputs from the same place.
    """

    base_dir: str | None = Field(
        None, description="Root folder; unset: the instance's storage directory (DAGSTER_HOME)."
    )

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        """Resolve the root folder for this process."""
        if self.base_dir:
            base = Path(self.base_dir)
        elif context.instance is not None:
            base = Path(context.instance.storage_directory())
        else:
            raise dg.DagsterInvariantViolationError("JsonIOManager needs base_dir or an instance")
        return _JsonFiles(base)
