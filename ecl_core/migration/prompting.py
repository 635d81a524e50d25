"""What the analyzer's prompts are given: the request as markdown, and the ``inputs`` JSON.

Every document prompt gets ``request`` (markdown) and the markdown of what it builds on;
``inputs`` holds the same material as JSON for the offline provider, which builds its
documents from the data, not from prose. Template variables a prompt does not use are
ignored by ``string.Template``, and the journal's request hash covers only what is sent.
"""

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ecl_core.migration.intake import MigrationIntake

__all__ = ["document_variables", "request_markdown"]


def request_markdown(intake: MigrationIntake) -> str:
    """The request as a person would brief an engineer: name, goal, use, vision, deployment."""
    request = intake.request
    lines = [
        f"- Name: {request.name}",
        f"- Codebase: {intake.code.files} files ({intake.code.total_bytes:,} bytes of text)",
        f"- Migration target: {request.target}",
        f"- Intended use: {request.intended_use or '(not stated)'}",
    ]
    if intake.new_code is not None:
        lines.append(f"- Migrated code: {intake.new_code.files} files")
    text = "\n".join(lines)
    if intake.vision:
        text += f"\n\nVision document:\n\n<vision>\n{intake.vision}\n</vision>"
    for path, config in intake.deploy_configs.items():
        text += f"\n\nDeployment file {path}:\n\n<config>\n{config}\n</config>"
    return text


def document_variables(
    intake: MigrationIntake,
    markdown: Mapping[str, str],
    data: Mapping[str, BaseModel | Any],
) -> dict[str, str]:
    """A document prompt's variables.

    Args:
        intake: The request's bundle (``request`` variable, and ``inputs.request``).
        markdown: Further template variables (``facts``, ``analysis``...), as markdown.
        data: The same material as models or plain values, for ``inputs``.
    """
    inputs = {
        "request": intake.request.model_dump(mode="json"),
        **{k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v
           for k, v in data.items()},
    }
    return {"request": request_markdown(intake), **markdown, "inputs": json.dumps(inputs)}
