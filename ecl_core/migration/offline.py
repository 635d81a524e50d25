"""The offline provider's answers to the analyzer's prompts: documents grounded in facts.

No model is involved. Each document is built from the measured facts of the tree (real
numbers, real paths) and the documents before it, with templated prose that says it is
offline, and returned as the JSON the prompt asks for; critiques of such documents pass
when every required section has content, and ``revise_document`` returns the document.
The inputs come as JSON in the request variable ``inputs`` (see ``ecl_dagster.analyzer``).
"""

import json
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from ecl_core.codebase.facts import CodebaseFacts, is_source_file
from ecl_core.migration.documents import (
    ArchitectureComponent,
    ArchitectureDesign,
    CodebaseAnalysis,
    Component,
    Decision,
    DeliveryReport,
    Evidence,
    FileToCreate,
    Grade,
    ImplementationSpec,
    MigrationPlan,
    Phase,
    QualityAssessment,
    QualityFinding,
    RecommendedComponent,
    Stage,
)

__all__ = ["OFFLINE_NOTE", "answer"]

OFFLINE_NOTE = (
    "(Offline: written by ECL's rule-based offline provider from measured facts, "
    "not by a language model.)"
)
_EXTENSIONS = {
    "rust": ".rs", "go": ".go", "golang": ".go", "python": ".py", "typescript": ".ts",
    "javascript": ".js", "java": ".java", "kotlin": ".kt", "c#": ".cs", "csharp": ".cs",
    "ruby": ".rb", "elixir": ".ex", "swift": ".swift", "scala": ".scala", "c++": ".cpp",
}


def _grade(value: float, limits: tuple[float, float, float, float], higher_is_better: bool) -> Any:
    letters = ("A", "B", "C", "D")
    for letter, limit in zip(letters, limits, strict=True):
        if (value >= limit) if higher_is_better else (value <= limit):
            return letter
    return "F"


def _groups(facts: CodebaseFacts) -> dict[str, list[str]]:
    """Source files that are not tests, by top-level folder, the six with most files.

    Files at the root are the group "(root)"; a tree with no source file groups every file.
    """
    tests = set(facts.test_files)
    sources = [p for p in facts.paths if is_source_file(p) and p not in tests] or facts.paths
    groups: dict[str, list[str]] = defaultdict(list)
    for path in sources:
        groups[path.split("/")[0] if "/" in path else "(root)"].append(path)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return dict(ordered[:6]) or {"(root)": facts.paths[:1]}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "root"


def _analysis(inputs: Mapping[str, Any]) -> CodebaseAnalysis:
    facts = CodebaseFacts.model_validate(inputs["facts"])
    target = inputs["request"]["target"]
    first = facts.paths[0]
    worst = facts.most_complex[:3]
    top_ccn = worst[0].cyclomatic_complexity if worst else 1
    over = sum(f.cyclomatic_complexity > 10 for f in facts.most_complex)
    share = over / facts.functions if facts.functions else 0.0
    complexity = Grade(
        dimension="Complexity",
        grade="A" if top_ccn <= 10 else _grade(share, (0.02, 0.05, 0.10, 0.20),
                                               higher_is_better=False),
        summary=f"{facts.functions} functions, mean cyclomatic complexity "
        f"{facts.average_complexity:.1f}, highest {top_ccn}; {over} of the most complex "
        "are above 10.",
        evidence=[
            Evidence(path=f"{f.path}:{f.start_line}-{f.end_line}",
                     observation=f"{f.name} has complexity {f.cyclomatic_complexity} "
                     f"over {f.length} lines")
            for f in worst
        ] or [Evidence(path=first, observation="no function found by lizard")],
    )
    testing = Grade(
        dimension="Testing",
        grade=_grade(facts.test_ratio, (0.8, 0.5, 0.25, 0.01), higher_is_better=True),
        summary=f"{len(facts.test_files)} test files; {facts.test_code_lines} test code lines "
        f"for {facts.non_test_code_lines} other code lines (ratio {facts.test_ratio:.2f}).",
        evidence=[Evidence(path=p, observation="a test file") for p in facts.test_files[:3]]
        or [Evidence(path=first, observation="no test file covers this code")],
    )
    declared = sum(len(m.dependencies) + len(m.dev_dependencies) for m in facts.manifests)
    dependencies = Grade(
        dimension="Dependencies",
        grade=("B" if declared <= 30 else "C") if facts.manifests else "D",
        summary=f"{len(facts.manifests)} manifests declare {declared} dependencies.",
        evidence=[
            Evidence(path=m.path, observation=f"{m.kind} manifest with "
                     f"{len(m.dependencies)} dependencies and {len(m.dev_dependencies)} dev")
            for m in facts.manifests[:3]
        ] or [Evidence(path=first, observation="no dependency manifest was found")],
    )
    groups = _groups(facts)
    structure = Grade(
        dimension="Structure",
        grade="B" if len(groups) > 1 else "C",
        summary=f"{facts.files} files in {len(groups)} top-level parts; "
        f"{len(facts.entry_points)} entry points.",
        evidence=[Evidence(path=e.path, observation=f"entry point ({e.kind})")
                  for e in facts.entry_points[:3]]
        or [Evidence(path=files[0], observation=f"part '{name}' has {len(files)} files")
            for name, files in list(groups.items())[:3]],
    )
    languages = ", ".join(f"{lang.language} ({lang.code} code lines)"
                          for lang in facts.languages[:4])
    return CodebaseAnalysis(
        summary=f"{OFFLINE_NOTE} The codebase holds {facts.files} files and {facts.code_lines} "
        f"code lines ({languages or 'no recognised language'}), to be migrated to {target}.",
        grades=[structure, complexity, testing, dependencies],
        current_components=[
            Component(name=name, paths=files[:5],
                      responsibility=f"{len(files)} files under {name}; see the facts.")
            for name, files in groups.items()
        ],
        recommended_components=[
            RecommendedComponent(
                name=f"{name} module", from_paths=files[:5], change="rewrite",
                responsibility=f"What {name} does today, rewritten in {target} "
                "behind an explicit interface.",
            )
            for name, files in groups.items()
        ],
    )


def _architecture(inputs: Mapping[str, Any]) -> ArchitectureDesign:
    analysis = CodebaseAnalysis.model_validate(inputs["analysis"])
    modules = analysis.recommended_components
    components = [
        ArchitectureComponent(
            name=c.name, responsibility=c.responsibility, source_paths=c.from_paths,
            interfaces=[f"{c.name} API: the operations of {', '.join(c.from_paths[:2])}"],
        )
        for c in modules
    ]
    components.append(ArchitectureComponent(
        name="Composition root",
        responsibility="Reads configuration, wires the modules together and starts the system.",
        interfaces=["process entry point", "configuration schema"],
        depends_on=[c.name for c in modules],
    ))
    return ArchitectureDesign(
        overview=f"{OFFLINE_NOTE} {len(components)} components: one module per part of "
        "today's codebase, each behind an interface, and a composition root that wires them.",
        components=components,
        data_flow="Requests enter at the composition root, which calls the modules through "
        "their interfaces; modules do not call each other except through those interfaces.",
        decisions=[
            Decision(decision="One module per current part",
                     rationale="It keeps the migration traceable file by file."),
            Decision(decision="Interfaces before implementations",
                     rationale="Each module can be ported and tested on its own."),
        ],
    )


def _plan(inputs: Mapping[str, Any]) -> MigrationPlan:
    architecture = ArchitectureDesign.model_validate(inputs["architecture"])
    target = inputs["request"]["target"]
    modules = [c for c in architecture.components if c.source_paths]
    foundations = Phase(
        name="Foundations", goal=f"A {target} project that builds, tests and ships.",
        stages=[
            Stage(name="Toolchain", goal=f"Build and test {target} code in CI.",
                  tasks=[f"Create the {target} project and its CI pipeline."],
                  acceptance_criteria=["CI builds and runs an empty test suite."]),
            Stage(name="Test harness", goal="Run today's behaviour tests against both systems.",
                  tasks=["Port the behaviour tests as black-box tests."],
                  acceptance_criteria=["The tests pass against today's system."],
                  depends_on=["Toolchain"]),
        ],
    )
    ports = [
        Phase(
            name=f"Port {c.name}", goal=c.responsibility, depends_on=["Foundations"],
            stages=[
                Stage(name="Implement", goal=f"{c.name} in {target}.",
                      tasks=[f"Port {p}." for p in c.source_paths[:5]],
                      acceptance_criteria=[f"{c.name} implements: {', '.join(c.interfaces)}."]),
                Stage(name="Verify", goal="Same behaviour as today.",
                      tasks=["Run the behaviour tests against the new module."],
                      acceptance_criteria=["Every behaviour test passes."],
                      depends_on=["Implement"]),
            ],
        )
        for c in modules
    ]
    cutover = Phase(
        name="Cut-over", goal=f"Run the {target} system in place of today's.",
        depends_on=["Foundations", *(p.name for p in ports)],
        stages=[Stage(name="Switch", goal="Traffic on the new system, the old one on standby.",
                      tasks=["Deploy side by side, then switch."],
                      acceptance_criteria=["No behaviour test fails after the switch."])],
    )
    phases = [foundations, *ports, cutover]
    return MigrationPlan(
        summary=f"{OFFLINE_NOTE} {len(phases)} phases: foundations, one port per module, "
        "then the cut-over.",
        phases=phases,
    )


def _spec(inputs: Mapping[str, Any]) -> ImplementationSpec:
    plan = MigrationPlan.model_validate(inputs["plan"])
    architecture = ArchitectureDesign.model_validate(inputs["architecture"])
    phase = plan.phases[int(inputs["phase_index"])]
    target = str(inputs["request"]["target"]).lower()
    extension = next((e for k, e in _EXTENSIONS.items() if k in target.split()), ".txt")
    module = next((c for c in architecture.components if phase.name == f"Port {c.name}"), None)
    slug = _slug(module.name if module else phase.name)
    return ImplementationSpec(
        phase=phase.name,
        summary=f"{OFFLINE_NOTE} {phase.goal}",
        files_to_create=[FileToCreate(path=f"src/{slug}{extension}", purpose=phase.goal),
                         FileToCreate(path=f"tests/{slug}_test{extension}",
                                      purpose="The phase's acceptance tests.")],
        interfaces=module.interfaces if module else [f"{phase.name}: {phase.goal}"],
        tests=[c for s in phase.stages for c in s.acceptance_criteria],
        risks=[f"Behaviour of {p} that no test covers." for p in (module.source_paths[:2]
               if module else [])] or ["The phase depends on every earlier phase being done."],
        source_paths=module.source_paths if module else [],
    )


def _quality(inputs: Mapping[str, Any]) -> QualityAssessment:
    new = CodebaseFacts.model_validate(inputs["new_facts"])
    plan = MigrationPlan.model_validate(inputs["plan"])
    first = new.paths[0]
    top = new.most_complex[0] if new.most_complex else None
    return QualityAssessment(
        status="assessed",
        summary=f"{OFFLINE_NOTE} The new code has {new.files} files and {new.code_lines} "
        f"code lines, test ratio {new.test_ratio:.2f}.",
        standards=[
            QualityFinding(area="Complexity", assessment=(
                f"highest complexity {top.cyclomatic_complexity} in {top.name}" if top
                else "no function found"),
                evidence=[Evidence(path=top.path if top else first, observation="measured")]),
            QualityFinding(area="Testing", assessment=f"{len(new.test_files)} test files",
                           evidence=[Evidence(path=(new.test_files or [first])[0],
                                              observation="measured")]),
        ],
        plan_adherence=[QualityFinding(
            area="Phases", assessment=f"the plan has {len(plan.phases)} phases; the new tree "
            f"has {new.files} files to compare with the specs",
            evidence=[Evidence(path=first, observation="a file of the new code")],
        )],
    )


def _delivery(inputs: Mapping[str, Any]) -> DeliveryReport:
    analysis = CodebaseAnalysis.model_validate(inputs["analysis"])
    plan = MigrationPlan.model_validate(inputs["plan"])
    quality = QualityAssessment.model_validate(inputs["quality"])
    return DeliveryReport(
        summary=f"{OFFLINE_NOTE} Migration of '{inputs['request']['name']}' to "
        f"{inputs['request']['target']}: {len(plan.phases)} phases. "
        + analysis.summary.replace(OFFLINE_NOTE, "").strip(),
        findings=[f"{g.dimension}: {g.grade}. {g.summary}" for g in analysis.grades],
        plan="\n".join(f"{k}. {p.name}: {p.goal}" for k, p in enumerate(plan.phases, 1)),
        risks=[f"{g.dimension} is graded {g.grade}: {g.summary}"
               for g in analysis.grades if g.grade in ("C", "D", "F")]
        + [f"Quality assessment: {quality.summary}"],
    )


def _critique(variables: Mapping[str, str]) -> str:
    document = variables["document"]
    sections = document.count("\n## ")
    verdict = {
        "decision": "pass",
        "critique": f"Offline critique (rule-based, no model): {sections} sections, "
        f"{len(document)} characters; every required section has content; it passes.",
        "feedback": "",
    }
    return json.dumps(verdict)


_WRITERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "codebase_analysis": _analysis,
    "architecture_design": _architecture,
    "migration_plan": _plan,
    "implementation_spec": _spec,
    "quality_assessment": _quality,
    "migration_delivery": _delivery,
}


def answer(step: str, variables: Mapping[str, str]) -> str | None:
    """The offline answer to an analyzer prompt, or None if ``step`` is not one of them.

    Raises:
        KeyError: A variable the step needs is missing.
    """
    if step in _WRITERS:
        return str(_WRITERS[step](json.loads(variables["inputs"])).model_dump_json(indent=1))
    if step.endswith("_critique") and step.removesuffix("_critique") in _WRITERS:
        return _critique(variables)
    if step == "revise_document":
        return variables["document_json"]
    return None
