"""A new workflow file that runs as written: ``ecl workflows new NAME``.

The file is the critique-revise loop under the new workflow's own step ids (op names must
be unique in a code location, so each id starts with the workflow's), with comments that
say how to put a step of your own in it.
"""

import re

from ecl_core.errors import ConfigError
from ecl_core.workflow.definition import NAME_PATTERN

__all__ = ["MAX_NAME_CHARS", "new_workflow_text"]

MAX_NAME_CHARS = 48
"""The longest name ``new_workflow_text`` takes: its step ids add up to 9 characters."""

_TEMPLATE = """\
# The {name} workflow: write a draft, critique it, revise until the critique passes
# (at most 3 times). Run it with:
#   ecl run {name} --input '{{"topic": "What a database index does"}}' --wait
#
# A step of your own: write a Step class in an installed package that declares itself in
# its pyproject.toml ([project.entry-points."ecl.steps"] mypkg = "mypkg"), then name it here
# as `type: mypkg.steps:MyStep`. See docs/write-your-own-workflow.md.
id: {name}
name: {title}
input: ecl_core.steps.builtin:CritiqueReviseInput   # the launchpad form: topic, max_revisions
steps:
  - {{id: {name}_draft, type: generate}}
  - {{id: {name}_critique, type: critique, depends_on: [{name}_draft]}}
  - {{id: {name}_revise, type: revise, revision_source: {name}_critique}}
  - {{id: {name}_final, type: final_draft, depends_on: [{name}_critique]}}
transitions:
  - {{kind: revision_loop, reviser: {name}_revise, validator: {name}_critique,
     max_iterations: 3, max_iterations_from: max_revisions}}
"""


def new_workflow_text(name: str) -> str:
    """The YAML of a new workflow ``name`` (see the module docstring).

    Raises:
        ConfigError: ``name`` is not letters, digits and underscores (starting with a letter
            or underscore), or is longer than ``MAX_NAME_CHARS`` characters.
    """
    if not re.match(NAME_PATTERN, name):
        raise ConfigError(f"NAME {name!r} must be letters, digits and underscores, starting "
                          "with a letter or underscore (it names a Dagster job)")
    if len(name) > MAX_NAME_CHARS:
        raise ConfigError(f"NAME has {len(name)} characters; limit {MAX_NAME_CHARS}")
    return _TEMPLATE.format(name=name, title=name.replace("_", " ").strip().capitalize())
