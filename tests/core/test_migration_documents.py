"""The analyzer's documents without Dagster: models, grounding, the loop, requests, delivery."""

import json
import zipfile

import pytest

from ecl_core.errors import ConfigError, OutputCutOff, ValidationError
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.migration.delivery import assemble
from ecl_core.migration.documents import (
    ArchitectureDesign,
    CodebaseAnalysis,
    DeliveryReport,
    MigrationPlan,
)
from ecl_core.migration.grounding import citation_path, missing_citations, missing_sections
from ecl_core.migration.refine import refine
from ecl_core.migration.request import MigrationRequest, RequestStore, request_slug

TREE = ["src/app.py", "src/store/db.py", "tests/test_app.py", "README.md"]


def analysis(summary: str = "A small app.", path: str = "src/app.py") -> dict:
    return {
        "summary": summary,
        "grades": [{
            "dimension": "Complexity", "grade": "B", "summary": "mostly simple",
            "evidence": [{"path": f"{path}:3-9", "observation": "main has complexity 4"}],
        }],
        "current_components": [
            {"name": "app", "responsibility": "serves requests", "paths": ["src"]}
        ],
        "recommended_components": [{
            "name": "server", "responsibility": "serves requests", "from_paths": ["src/app.py"],
            "change": "rewrite",
        }],
    }


def verdict(decision: str, feedback: str = "") -> str:
    return json.dumps({"decision": decision, "critique": f"it says {decision}",
                       "feedback": feedback})


def plan(**phase_overrides: object) -> dict:
    stage = {"name": "Port", "goal": "g", "tasks": ["t"], "acceptance_criteria": ["a"]}
    return {"summary": "s", "phases": [
        {"name": "Foundations", "goal": "g", "stages": [stage]},
        {"name": "Port server", "goal": "g", "stages": [stage], "depends_on": ["Foundations"],
         **phase_overrides},
    ]}


def test_a_plan_reports_names_that_are_no_earlier_phase_or_stage():
    assert MigrationPlan.model_validate(plan()).dangling_references() == []
    assert MigrationPlan.model_validate(plan(depends_on=["Cut-over"])).dangling_references() == [
        "phase 'Port server' depends on 'Cut-over', which is not an earlier phase"]
    assert MigrationPlan.model_validate(
        plan(name="Foundations", depends_on=[])).dangling_references() == [
        "two phases are named 'Foundations'"]
    later = [{"name": "A", "goal": "g", "tasks": ["t"], "acceptance_criteria": ["a"],
              "depends_on": ["B"]},
             {"name": "B", "goal": "g", "tasks": ["t"], "acceptance_criteria": ["a"]}]
    assert MigrationPlan.model_validate(plan(stages=later)).dangling_references() == [
        "stage 'A' of phase 'Port server' depends on 'B', which is not an earlier stage of the "
        "phase"]


def test_architecture_reports_dependencies_on_components_it_does_not_define():
    component = {"name": "core", "responsibility": "r", "interfaces": ["i"],
                 "depends_on": ["storage"]}
    design = ArchitectureDesign.model_validate({
        "overview": "o", "components": [component], "data_flow": "d",
        "decisions": [{"decision": "x", "rationale": "y"}]})
    assert design.dangling_references() == ["component 'core' depends on unknown 'storage'"]


def test_a_dangling_dependency_gets_the_repair_request_and_a_repaired_one_is_kept():
    dangling = plan(depends_on=["Cut-over"])
    provider = ScriptedProvider([json.dumps(dangling), json.dumps(dangling), verdict("pass")])
    result = refine(provider, MigrationPlan, "migration_plan",
                    {"request": "r", "analysis": "a", "architecture": "x", "inputs": "{}"},
                    max_revisions=0, max_tokens=8000)
    repair = provider.requests[1].messages[-1].content
    assert "MigrationPlan.depends_on: phase 'Port server' depends on 'Cut-over'" in repair
    assert result.output.document.dangling_references() == [
        "phase 'Port server' depends on 'Cut-over', which is not an earlier phase"]
    assert result.metadata.llm_calls == 3


def test_rendered_document_has_its_required_sections():
    document = CodebaseAnalysis.model_validate(analysis())
    text = document.markdown()
    assert text.startswith("# Codebase analysis\n")
    for heading in CodebaseAnalysis.REQUIRED_SECTIONS:
        assert f"\n## {heading}\n" in text
    assert "| Complexity | B | mostly simple |" in text
    assert missing_sections(document) == []
    assert missing_sections(DeliveryReport(summary=" ", findings=["f"], plan="p", risks=["r"])) \
        == ["Summary"]


def test_citations_are_checked_against_the_tree():
    assert citation_path("`./src/app.py:12-30`") == "src/app.py"
    assert citation_path("src/store/") == "src/store"
    good = CodebaseAnalysis.model_validate(analysis())
    assert missing_citations(good, TREE) == []
    invented = CodebaseAnalysis.model_validate(analysis(path="src/invented.py"))
    assert missing_citations(invented, TREE) == ["src/invented.py:3-9"]
    escaping = CodebaseAnalysis.model_validate(analysis(path="../../etc/passwd"))
    assert missing_citations(escaping, TREE) == ["../../etc/passwd:3-9"]


def _refine(script: list, max_revisions: int = 3):
    provider = ScriptedProvider(script)
    result = refine(provider, CodebaseAnalysis, "codebase_analysis",
                    {"request": "r", "facts": "f", "excerpts": "e", "inputs": "{}"},
                    max_revisions=max_revisions, max_tokens=8000)
    return result, provider


def test_a_document_that_passes_at_once_costs_two_calls():
    result, provider = _refine([json.dumps(analysis()), verdict("pass")])
    refined = result.output
    assert refined.passed and refined.revisions == 0
    assert [r.step for r in provider.requests] == ["codebase_analysis",
                                                    "codebase_analysis_critique"]
    assert '"grades"' in provider.requests[0].system  # the JSON schema is in the prompt
    assert result.metadata.llm_calls == 2


def test_a_document_passes_after_two_revisions():
    script = [json.dumps(analysis("v0")), verdict("revise", "cite more"),
              json.dumps(analysis("v1")), verdict("revise", "shorter"),
              json.dumps(analysis("v2")), verdict("pass")]
    result, provider = _refine(script)
    refined = result.output
    assert refined.passed and refined.revisions == 2
    assert refined.document.summary == "v2"
    assert [r.revision for r in refined.rounds] == [0, 1, 2]
    assert "v0" in refined.rounds[0].markdown and "v1" in refined.rounds[1].markdown
    revise_request = provider.requests[2]
    assert revise_request.step == "revise_document"
    assert "cite more" in revise_request.messages[0].content


def test_a_document_that_never_passes_stops_at_the_cap_unpassed():
    script = [json.dumps(analysis("v0"))]
    for k in range(1, 4):
        script += [verdict("revise", f"fix {k}"), json.dumps(analysis(f"v{k}"))]
    script.append(verdict("revise", "still wrong"))
    result, provider = _refine(script)
    refined = result.output
    assert not refined.passed
    assert refined.revisions == 3 and len(provider.requests) == 8
    assert refined.last_critique.feedback == "still wrong"


def test_an_unreadable_document_gets_one_repair_request():
    result, provider = _refine(["I think the codebase is fine.", json.dumps(analysis()),
                                verdict("pass")])
    assert result.output.passed
    repair = provider.requests[1].messages[-1].content
    assert "could not be used" in repair and "no JSON object" in repair


def test_a_document_cut_off_at_max_tokens_fails_at_once_without_a_repair_request():
    cut = {"text": '{"summary": "a long', "stop_reason": "max_tokens"}
    with pytest.raises(OutputCutOff, match="codebase_analysis was cut off at max_tokens") as caught:
        _refine([cut, json.dumps(analysis())])
    assert "raise max_tokens" in str(caught.value)


def test_a_critique_cut_off_at_max_tokens_is_not_repaired():
    cut = {"text": '{"decision": "revise", "critique": "the grades', "stop_reason": "max_tokens"}
    with pytest.raises(OutputCutOff, match="critique was cut off"):
        _refine([json.dumps(analysis()), cut, verdict("pass")])


def test_a_document_missing_fields_names_them():
    broken = analysis()
    del broken["grades"]
    with pytest.raises(ValidationError) as caught:
        _refine([json.dumps(broken), json.dumps(broken)])
    assert [d.field for d in caught.value.details] == ["CodebaseAnalysis.grades"]


def test_request_keys_are_slugs_of_names(tmp_path):
    assert request_slug("Redis clone → Rust!") == "redis-clone-rust"
    assert request_slug("Élan  vital") == "elan-vital"
    assert len(request_slug("x" * 200)) == 60
    with pytest.raises(ValidationError, match="name"):
        request_slug("→ ✓")
    store = RequestStore(tmp_path / "requests")
    request = MigrationRequest(name="Redis clone", code_path="/src", target="Rust")
    assert store.put(request) == "redis-clone"
    assert store.get("redis-clone") == request
    with pytest.raises(ConfigError, match="no analysis request 'other'"):
        store.get("other")
    with pytest.raises(ConfigError, match="not an analysis request key"):
        store.get("../requests/redis-clone")


def test_delivery_holds_every_document_and_its_archive(tmp_path):
    report = DeliveryReport(summary="s", findings=["f"], plan="p", risks=["r"])
    folder = tmp_path / "deliveries" / "demo"
    first = assemble(report, folder, {"02_a.md": "A", "05_specs/phase_01.md": "S"})
    assert first.files == ["02_a.md", "05_specs/phase_01.md", "README.md"]
    assert (folder / "README.md").read_text().startswith("# Migration delivery")
    with zipfile.ZipFile(first.archive) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        assert names == ["02_a.md", "05_specs/phase_01.md", "README.md"]
    second = assemble(report, folder, {"02_a.md": "B"})
    assert (folder / "02_a.md").read_text() == "B"
    assert not (folder / "05_specs").exists()
    assert second.archive == str(tmp_path / "deliveries" / "demo.zip")
