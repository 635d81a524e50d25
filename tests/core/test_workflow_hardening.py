"""A workflow file cannot run code by naming a module, nor hide a repeated key."""

import sys
from pathlib import Path

import pytest

from ecl_core.errors import ConfigError
from ecl_core.references import import_class
from ecl_core.steps.builtin import default_registry
from ecl_core.workflow.definition import (
    WorkflowDefinition,
    WorkflowValidationError,
    input_model,
    validate,
)
from ecl_core.workflow.files import load_workflow
from ecl_core.workflow.step import Step

WORKFLOW = """\
id: w
name: W
input: ecl_core.steps.builtin:CritiqueReviseInput
steps:
  - id: g
    type: {type}
"""


@pytest.fixture
def planted(tmp_path, monkeypatch) -> Path:
    """A module on sys.path whose import leaves a marker file: importing it runs code."""
    marker = tmp_path / "imported.marker"
    (tmp_path / "planted_module.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\nclass Evil: pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ECL_ALLOWED_MODULES", raising=False)
    yield marker
    sys.modules.pop("planted_module", None)


def test_a_step_type_in_another_module_is_refused_before_it_is_imported(tmp_path, planted):
    path = tmp_path / "w.yaml"
    path.write_text(WORKFLOW.format(type="planted_module:Evil"))
    workflow = load_workflow(path)
    with pytest.raises(WorkflowValidationError) as refused:
        validate(workflow, default_registry())
    message = str(refused.value)
    assert "step type 'planted_module:Evil' is in module 'planted_module', which is not " \
           "allowed" in message
    assert '[project.entry-points."ecl.steps"] name = "planted_module"' in message
    assert not planted.exists(), "the module was imported"


def test_an_input_model_in_another_module_is_refused_before_it_is_imported(planted):
    workflow = WorkflowDefinition.model_validate(
        {"id": "w", "name": "W", "input": "planted_module:Evil",
         "steps": [{"id": "g", "type": "generate"}]}
    )
    with pytest.raises(ConfigError, match="input model 'planted_module:Evil' is in module"):
        input_model(workflow)
    assert not planted.exists()


@pytest.mark.parametrize("module", ["planted_module_evil", "planted", "x.planted_module"])
def test_a_prefix_allows_its_package_only(planted, monkeypatch, module):
    monkeypatch.setenv("ECL_ALLOWED_MODULES", " other , planted_module ")
    with pytest.raises(ConfigError, match="which is not allowed"):
        import_class(f"{module}:Evil", object, "step type")
    assert not planted.exists()


def test_a_listed_module_is_imported(planted, monkeypatch):
    monkeypatch.setenv("ECL_ALLOWED_MODULES", "other,planted_module")
    with pytest.raises(ConfigError, match="is not a Step subclass"):
        import_class("planted_module:Evil", Step, "step type")
    assert planted.exists()


def test_a_repeated_key_is_refused_with_its_line(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(WORKFLOW.format(type="generate") + "name: Shadow\n")
    with pytest.raises(WorkflowValidationError) as refused:
        load_workflow(path)
    message = str(refused.value)
    assert str(path) in message and "duplicate key 'name'" in message and "line 7" in message


def test_a_yaml_error_quotes_the_line_and_names_what_is_wrong(tmp_path):
    """Workflows are parsed by libyaml where it is installed; its messages leave out the line
    and an alias's name, so a refused file is parsed again in pure Python for its message."""
    path = tmp_path / "w.yaml"
    path.write_text(WORKFLOW.format(type="generate") + "description: *missing\n")
    with pytest.raises(WorkflowValidationError) as refused:
        load_workflow(path)
    message = str(refused.value)
    assert "found undefined alias 'missing'" in message and "line 7, column 14" in message
    assert "description: *missing" in message and "^" in message


def test_a_repeated_key_inside_a_step_is_refused(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(WORKFLOW.format(type="generate") + "    type: critique\n")
    with pytest.raises(WorkflowValidationError, match="duplicate key 'type'"):
        load_workflow(path)


def test_a_step_package_installed_while_the_process_runs_is_allowed(tmp_path, monkeypatch):
    monkeypatch.delenv("ECL_ALLOWED_MODULES", raising=False)
    with pytest.raises(ConfigError, match="which is not allowed"):
        import_class("latecomer_steps:Thing", Step, "step type")  # read, and cached
    (tmp_path / "latecomer_steps.py").write_text("class Thing: pass\n")
    info = tmp_path / "latecomer_steps-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: latecomer-steps\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ecl.steps]\nlatecomer = latecomer_steps\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # installed now
    with pytest.raises(ConfigError, match="is not a Step subclass"):  # allowed and imported
        import_class("latecomer_steps:Thing", Step, "step type")
    sys.modules.pop("latecomer_steps", None)
