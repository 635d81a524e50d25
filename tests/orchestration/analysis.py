"""Helpers for the migration asset tests: a small codebase, scripted documents, runs, checks."""

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import dagster as dg

from ecl_core.migration.refine import document_prompt
from ecl_core.migration.request import MigrationRequest
from ecl_dagster.analyzer import MigrationSettings
from ecl_dagster.analyzer.requests import add_request
from ecl_dagster.cli import reexecute
from ecl_dagster.definitions import defs

from messages_api import MessagesAPIServer, Reply, ok, system_text, user_text

PROMPTS = [
    "codebase_analysis", "architecture_design", "migration_plan", "implementation_spec",
    "quality_assessment", "migration_delivery",
]
ASSETS = [
    "migration_intake", "codebase_facts", "codebase_analysis", "architecture_design",
    "architecture_approval", "migration_plan", "implementation_specs", "quality_assessment",
    "migration_delivery",
]
CODEBASE = {
    "src/app.py": (
        "from src.store import get\n\n\n"
        "def main(argv):\n"
        "    if not argv:\n"
        "        return 1\n"
        "    for name in argv:\n"
        "        print(get(name))\n"
        "    return 0\n\n\n"
        'if __name__ == "__main__":\n'
        "    import sys\n"
        "    raise SystemExit(main(sys.argv[1:]))\n"
    ),
    "src/store.py": "DATA = {}\n\n\ndef get(name):\n    return DATA.get(name)\n",
    "tests/test_app.py": (
        "from src.app import main\n\n\ndef test_main():\n    assert main([]) == 1\n"
    ),
    "requirements.txt": "flask>=3\n",
}


def make_codebase(root: Path) -> Path:
    for name, text in CODEBASE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _prompt_of(system: str) -> str:
    for name in PROMPTS:
        for prompt in (name, f"{name}_critique", "revise_document"):
            first_line = document_prompt(prompt).system.splitlines()[0]
            if system.startswith(first_line):
                return prompt
    raise AssertionError(f"unknown system prompt: {system[:80]!r}")


_PHASE_ASKED = re.compile(r'Phase \d+: \{\s*"name": "([^"]+)"')  # a spec and its critique
_PHASE_REVISED = re.compile(r'"phase":\s*"([^"]+)"')  # the spec's JSON, sent for revision


def _phase_of(prompt: str, user: str) -> str | None:
    """Which phase a spec's request is about: the implementation specs are written at once,
    so their replies are queued per phase, not in the order requests arrive."""
    if prompt in ("implementation_spec", "implementation_spec_critique"):
        return _PHASE_ASKED.search(user).group(1)
    revised = _PHASE_REVISED.search(user) if prompt == "revise_document" else None
    return revised.group(1) if revised else None


class DocumentServer:
    """Answers each analyzer prompt from its own queue of replies; records which was asked.

    A spec's prompts have a queue per phase: ``<prompt>/<phase name>``.
    """

    def __init__(self, server: MessagesAPIServer) -> None:
        self.server = server
        self.queues: dict[str, list[Reply]] = defaultdict(list)
        self.asked: list[str] = []
        server.responder = self._answer

    def script(self, prompt: str, *replies: Reply | str) -> None:
        self.queues[prompt].extend(ok(r) if isinstance(r, str) else r for r in replies)

    def _answer(self, body: dict[str, Any]) -> Reply:
        prompt = _prompt_of(system_text(body))
        self.asked.append(prompt)
        user = user_text(body)
        phase = _phase_of(prompt, user)
        queue = self.queues[f"{prompt}/{phase}" if phase else prompt]
        if not queue:
            return Reply(status=500, message=f"no scripted reply for {prompt} ({phase})")
        return queue.pop(0)


def verdict(decision: str, feedback: str = "") -> str:
    return json.dumps({"decision": decision, "critique": f"critique says {decision}",
                       "feedback": feedback})


def analysis(version: int = 0, cite: str = "src/app.py") -> str:
    return json.dumps({
        "summary": f"A command-line lookup tool (version {version}).",
        "grades": [{"dimension": "Testing", "grade": "C", "summary": "one test",
                    "evidence": [{"path": "tests/test_app.py", "observation": "one test"},
                                 {"path": f"{cite}:4-9", "observation": "main branches"}]}],
        "current_components": [{"name": "cli", "responsibility": "entry", "paths": ["src"]}],
        "recommended_components": [{"name": "lookup", "responsibility": "lookups",
                                    "from_paths": ["src/store.py"], "change": "rewrite"}],
    })


def architecture(version: int = 0) -> str:
    return json.dumps({
        "overview": f"Two components (version {version}).",
        "components": [
            {"name": "lookup", "responsibility": "r", "interfaces": ["get(name)"],
             "source_paths": ["src/store.py"]},
            {"name": "cli", "responsibility": "r", "interfaces": ["main(argv)"],
             "depends_on": ["lookup"], "source_paths": ["src/app.py"]},
        ],
        "data_flow": "cli calls lookup",
        "decisions": [{"decision": "two modules", "rationale": "small"}],
    })


def plan(version: int = 0) -> str:
    stage = {"name": "Port", "goal": "g", "tasks": ["port"], "acceptance_criteria": ["tests pass"]}
    return json.dumps({"summary": f"Two phases (version {version}).", "phases": [
        {"name": "Lookup", "goal": "port lookup", "stages": [stage]},
        {"name": "CLI", "goal": "port cli", "stages": [stage], "depends_on": ["Lookup"]},
    ]})


def spec(phase: str, version: int = 0) -> str:
    return json.dumps({
        "phase": phase, "summary": f"Spec of {phase} (version {version}).",
        "files_to_create": [{"path": f"src/{phase.lower()}.rs", "purpose": "the module"}],
        "interfaces": ["fn get(name: &str) -> Option<String>"],
        "tests": ["get returns None for unknown names"], "risks": ["none"],
        "source_paths": ["src/store.py"],
    })


def delivery(version: int = 0) -> str:
    return json.dumps({"summary": f"Migrate to Rust (version {version}).",
                       "findings": ["one test"], "plan": "1. Lookup 2. CLI",
                       "risks": ["few tests: write them first"]})


DOCUMENTS = {
    "codebase_analysis": [analysis],
    "architecture_design": [architecture],
    "migration_plan": [plan],
    "implementation_spec/Lookup": [lambda v: spec("Lookup", v)],
    "implementation_spec/CLI": [lambda v: spec("CLI", v)],
    "migration_delivery": [delivery],
}


def script_passing(documents: DocumentServer, revisions: int) -> None:
    """Every document passes after ``revisions`` revisions (each revision differs)."""
    for key, writers in DOCUMENTS.items():
        prompt, _, phase = key.partition("/")
        part = f"/{phase}" if phase else ""
        for write in writers:
            documents.script(key, write(0))
            for k in range(1, revisions + 1):
                documents.script(f"{prompt}_critique{part}", verdict("revise", f"improve {k}"))
                documents.script(f"revise_document{part}", write(k))
            documents.script(f"{prompt}_critique{part}", verdict("pass"))


def add(instance: dg.DagsterInstance, code: Path, name: str = "lookup tool", **fields: Any) -> str:
    request = MigrationRequest(name=name, code_path=str(code), target="Rust", **fields)
    return add_request(instance, MigrationSettings(), request)


def migration_job() -> dg.JobDefinition:
    return defs.resolve_job_def("migration_analysis")


def materialize(
    instance: dg.DagsterInstance, key: str, llm: dict[str, Any] | None = None
) -> dg.JobExecutionResult:
    return dg.execute_job(
        dg.reconstructable(migration_job), instance, tags={"dagster/partition": key},
        run_config={"resources": {"llm": {"config": llm or {}}}}, raise_on_error=False,
    )


def reexecute_from_failure(instance: dg.DagsterInstance, run_id: str) -> str:
    """What ``ecl reexecute RUN_ID`` does: from failure, with the parent's config and tags."""
    return reexecute(instance, run_id, every_step=False)


def materialized(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    return [r.dagster_event.asset_key.path[-1] for r in records if r.dagster_event]


def checks(instance: dg.DagsterInstance, run_id: str) -> dict[tuple[str, str], Any]:
    """(asset, check) -> the evaluation (passed, severity, description) of the run."""
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    found = {}
    for record in records:
        evaluation = record.dagster_event.event_specific_data
        found[(evaluation.asset_key.path[-1], evaluation.check_name)] = evaluation
    return found


def latest_metadata(instance: dg.DagsterInstance, asset: str) -> dict[str, Any]:
    event = instance.get_latest_materialization_event(dg.AssetKey(asset))
    assert event is not None and event.asset_materialization is not None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}
