"""The analyzer's documents as pydantic models: what the model must answer, validated.

Each document is the JSON object its prompt asks for (``prompts/migration/<name>.md``, with
the model's JSON schema). Every document renders as markdown from named sections
(``sections()``), names the section headings it must have (``REQUIRED_SECTIONS``) and the
paths of the analyzed tree it cites as evidence (``cited_paths()``), which the grounding
checks compare with the tree (``ecl_core.migration.grounding``). Paths are POSIX, relative
to the tree's root; a citation may carry a line or range (``src/app.py:12-30``).
"""

from abc import abstractmethod
from typing import Annotated, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

__all__ = [
    "CITATION",
    "ArchitectureComponent",
    "ArchitectureDesign",
    "CodebaseAnalysis",
    "Component",
    "Decision",
    "DeliveryReport",
    "Document",
    "Evidence",
    "FileToCreate",
    "Grade",
    "ImplementationSpec",
    "ImplementationSpecs",
    "MigrationPlan",
    "Phase",
    "QualityAssessment",
    "QualityFinding",
    "RecommendedComponent",
    "Stage",
]

Letter = Literal["A", "B", "C", "D", "F"]
NAME_CHARS = 120
"""Most characters of a name or title (a component, a dimension, a phase)."""
PATH_CHARS = 300
"""Most characters of a path, with any ``:line`` suffix."""
TEXT_CHARS = 800
"""Most characters of one paragraph or list item (an observation, a goal, a task)."""
LONG_CHARS = 4000
"""Most characters of a document's summary, overview or other long section."""
Item = Annotated[str, Field(min_length=1, max_length=TEXT_CHARS)]
"""One list item: a task, an interface, a risk, a path."""
CITATION = "x-ecl-citation"
"""Marks a field of a document's JSON schema whose values are paths of the analyzed tree
(``ecl_core.migration.grounding.grounded_schema`` turns it into an ``enum`` of them)."""
_CITES: JsonDict = {CITATION: True}


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _paths(paths: list[str]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


class Document(_Part):
    """A document the analyzer writes: sections for a person, cited paths for the checks."""

    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = ()
    TITLE: ClassVar[str] = ""

    @abstractmethod
    def sections(self) -> dict[str, str]:
        """Section heading to markdown body, in reading order."""

    def cited_paths(self) -> list[str]:
        """Every path the document cites as evidence (with any ``:line`` suffix)."""
        return []

    def dangling_references(self) -> list[str]:
        """Each name the document refers to (a dependency) that it does not define.

        No JSON schema can say that a dependency names a component written elsewhere in the
        same answer, so these are checked here: a reply with any gets the repair request,
        and a repaired reply that still has some is kept, each one reported by the
        ``references_resolve`` asset check (a WARN).
        """
        return []

    def markdown(self) -> str:
        """The document as markdown: ``# TITLE`` then one ``## heading`` per section."""
        body = "\n\n".join(f"## {h}\n\n{text}" for h, text in self.sections().items())
        return f"# {self.TITLE}\n\n{body}\n"


class Evidence(_Part):
    """A fact in the tree that supports a judgement."""

    path: str = Field(min_length=1, max_length=PATH_CHARS,
                      description="A file of the tree, optionally with :line.",
                      json_schema_extra=_CITES)
    observation: str = Field(min_length=1, max_length=TEXT_CHARS,
                             description="What that file shows.")


class Grade(_Part):
    """One dimension of the implementation grade report."""

    dimension: str = Field(min_length=1, max_length=NAME_CHARS,
                           description="e.g. Structure, Complexity, Testing.")
    grade: Letter
    summary: str = Field(min_length=1, max_length=TEXT_CHARS)
    evidence: list[Evidence] = Field(min_length=1, max_length=8)


class Component(_Part):
    """A part of the codebase as it is today."""

    name: str = Field(min_length=1, max_length=NAME_CHARS)
    responsibility: str = Field(min_length=1, max_length=TEXT_CHARS)
    paths: list[Item] = Field(min_length=1, max_length=24,
                              description="Files or folders that make it up.",
                              json_schema_extra=_CITES)


class RecommendedComponent(_Part):
    """A part of the codebase as it should be cut before or during the migration."""

    name: str = Field(min_length=1, max_length=NAME_CHARS)
    responsibility: str = Field(min_length=1, max_length=TEXT_CHARS)
    from_paths: list[Item] = Field(min_length=1, max_length=24,
                                   description="Today's files it takes over.",
                                   json_schema_extra=_CITES)
    change: str = Field(min_length=1, max_length=TEXT_CHARS,
                        description="What changes: keep, split, merge, rewrite.")


class CodebaseAnalysis(Document):
    """Step 1: the implementation grade report and the component breakdowns."""

    TITLE: ClassVar[str] = "Codebase analysis"
    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = (
        "Summary", "Implementation grades", "Current components", "Recommended components",
    )
    summary: str = Field(min_length=1, max_length=LONG_CHARS)
    grades: list[Grade] = Field(min_length=1, max_length=12)
    current_components: list[Component] = Field(min_length=1, max_length=24)
    recommended_components: list[RecommendedComponent] = Field(min_length=1, max_length=24)

    def sections(self) -> dict[str, str]:
        """Summary, a grade table with its evidence, and both breakdowns."""
        grades = "| Dimension | Grade | Summary |\n| --- | --- | --- |\n" + "\n".join(
            f"| {g.dimension} | {g.grade} | {g.summary} |" for g in self.grades
        )
        evidence = "\n".join(
            f"- **{g.dimension}**: " + "; ".join(f"`{e.path}`: {e.observation}" for e in g.evidence)
            for g in self.grades
        )
        return {
            "Summary": self.summary,
            "Implementation grades": f"{grades}\n\nEvidence:\n\n{evidence}",
            "Current components": _bullets(
                [f"**{c.name}** ({_paths(c.paths)}): {c.responsibility}"
                 for c in self.current_components]
            ),
            "Recommended components": _bullets(
                [f"**{c.name}** ({c.change}; from {_paths(c.from_paths)}): {c.responsibility}"
                 for c in self.recommended_components]
            ),
        }

    def cited_paths(self) -> list[str]:
        """Evidence paths and component paths."""
        return (
            [e.path for g in self.grades for e in g.evidence]
            + [p for c in self.current_components for p in c.paths]
            + [p for c in self.recommended_components for p in c.from_paths]
        )


class ArchitectureComponent(_Part):
    """A component of the ideal architecture, independent of any language."""

    name: str = Field(min_length=1, max_length=NAME_CHARS)
    responsibility: str = Field(min_length=1, max_length=TEXT_CHARS)
    interfaces: list[Item] = Field(min_length=1, max_length=16,
                                   description="What it offers to others.")
    depends_on: list[Item] = Field(default_factory=list, max_length=12,
                                   description="Names of components.")
    source_paths: list[Item] = Field(default_factory=list, max_length=24,
                                     description="Today's files it "
                                     "replaces.", json_schema_extra=_CITES)


class Decision(_Part):
    """An architectural decision and why."""

    decision: str = Field(min_length=1, max_length=NAME_CHARS)
    rationale: str = Field(min_length=1, max_length=TEXT_CHARS)


class ArchitectureDesign(Document):
    """Step 2: a language-agnostic ideal architecture, grounded in the analysis."""

    TITLE: ClassVar[str] = "Architecture design"
    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = (
        "Overview", "Components", "Data flow", "Decisions",
    )
    overview: str = Field(min_length=1, max_length=LONG_CHARS)
    components: list[ArchitectureComponent] = Field(min_length=1, max_length=24)
    data_flow: str = Field(min_length=1, max_length=LONG_CHARS)
    decisions: list[Decision] = Field(min_length=1, max_length=12)

    def dangling_references(self) -> list[str]:
        """Each dependency that names no component of the design."""
        names = {c.name for c in self.components}
        return [f"component {c.name!r} depends on unknown {d!r}"
                for c in self.components for d in c.depends_on if d not in names]

    def sections(self) -> dict[str, str]:
        """Overview, components with interfaces and dependencies, data flow, decisions."""
        components = "\n".join(
            f"### {c.name}\n\n{c.responsibility}\n\nInterfaces:\n\n{_bullets(c.interfaces)}"
            + (f"\n\nDepends on: {', '.join(c.depends_on)}" if c.depends_on else "")
            + (f"\n\nReplaces: {_paths(c.source_paths)}" if c.source_paths else "")
            for c in self.components
        )
        return {
            "Overview": self.overview,
            "Components": components,
            "Data flow": self.data_flow,
            "Decisions": _bullets([f"**{d.decision}**: {d.rationale}" for d in self.decisions]),
        }

    def cited_paths(self) -> list[str]:
        """The files each component replaces."""
        return [p for c in self.components for p in c.source_paths]


class Stage(_Part):
    """A stage of a phase: one reviewable increment."""

    name: str = Field(min_length=1, max_length=NAME_CHARS)
    goal: str = Field(min_length=1, max_length=TEXT_CHARS)
    tasks: list[Item] = Field(min_length=1, max_length=16)
    acceptance_criteria: list[Item] = Field(min_length=1, max_length=12)
    depends_on: list[Item] = Field(default_factory=list, max_length=12,
                                   description="Stages of this phase.")


class Phase(_Part):
    """A phase of the migration plan."""

    name: str = Field(min_length=1, max_length=NAME_CHARS)
    goal: str = Field(min_length=1, max_length=TEXT_CHARS)
    stages: list[Stage] = Field(min_length=1, max_length=10)
    depends_on: list[Item] = Field(default_factory=list, max_length=12,
                                   description="Earlier phases' names.")

    def dangling_references(self) -> list[str]:
        """Each stage dependency that names no earlier stage of the phase."""
        found: list[str] = []
        seen: set[str] = set()
        for stage in self.stages:
            found += [f"stage {stage.name!r} of phase {self.name!r} depends on {d!r}, which is "
                      "not an earlier stage of the phase"
                      for d in stage.depends_on if d not in seen]
            seen.add(stage.name)
        return found


class MigrationPlan(Document):
    """Step 3: phases, then stages, each with goal, tasks, acceptance criteria, dependencies."""

    TITLE: ClassVar[str] = "Migration plan"
    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = ("Summary", "Phases")
    summary: str = Field(min_length=1, max_length=LONG_CHARS)
    phases: list[Phase] = Field(min_length=1, max_length=12)

    def dangling_references(self) -> list[str]:
        """Repeated phase names, and dependencies that name no earlier phase or stage."""
        found: list[str] = []
        seen: set[str] = set()
        for phase in self.phases:
            if phase.name in seen:
                found.append(f"two phases are named {phase.name!r}")
            found += [f"phase {phase.name!r} depends on {d!r}, which is not an earlier phase"
                      for d in phase.depends_on if d not in seen]
            found += phase.dangling_references()
            seen.add(phase.name)
        return found

    def sections(self) -> dict[str, str]:
        """The summary, then each phase with its stages."""
        phases = []
        for number, phase in enumerate(self.phases, start=1):
            after = f" (after {', '.join(phase.depends_on)})" if phase.depends_on else ""
            stages = "\n\n".join(
                f"#### Stage {number}.{k}: {s.name}\n\nGoal: {s.goal}\n\nTasks:\n\n"
                f"{_bullets(s.tasks)}\n\nAcceptance criteria:\n\n{_bullets(s.acceptance_criteria)}"
                + (f"\n\nDepends on: {', '.join(s.depends_on)}" if s.depends_on else "")
                for k, s in enumerate(phase.stages, start=1)
            )
            phases.append(f"### Phase {number}: {phase.name}{after}\n\n{phase.goal}\n\n{stages}")
        return {"Summary": self.summary, "Phases": "\n\n".join(phases)}


class FileToCreate(_Part):
    """A file the new implementation needs."""

    path: str = Field(min_length=1, max_length=PATH_CHARS, description="Path in the new codebase.")
    purpose: str = Field(min_length=1, max_length=TEXT_CHARS)


class ImplementationSpec(Document):
    """Step 4: the implementation spec of one phase of the plan."""

    TITLE: ClassVar[str] = "Implementation spec"
    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = (
        "Summary", "Files to create", "Interfaces", "Tests", "Risks",
    )
    phase: str = Field(min_length=1, max_length=NAME_CHARS, description="The plan's phase name.")
    summary: str = Field(min_length=1, max_length=LONG_CHARS)
    files_to_create: list[FileToCreate] = Field(min_length=1, max_length=40)
    interfaces: list[Item] = Field(min_length=1, max_length=16)
    tests: list[Item] = Field(min_length=1, max_length=20)
    risks: list[Item] = Field(min_length=1, max_length=16)
    source_paths: list[Item] = Field(default_factory=list, max_length=24,
                                     description="Today's files it ports.",
                                     json_schema_extra=_CITES)

    def sections(self) -> dict[str, str]:
        """The phase's summary, files, interfaces, tests and risks."""
        ported = f"\n\nPorts: {_paths(self.source_paths)}" if self.source_paths else ""
        return {
            "Summary": f"Phase: {self.phase}\n\n{self.summary}{ported}",
            "Files to create": _bullets([f"`{f.path}`: {f.purpose}" for f in self.files_to_create]),
            "Interfaces": _bullets(self.interfaces),
            "Tests": _bullets(self.tests),
            "Risks": _bullets(self.risks),
        }

    def markdown(self) -> str:
        """The spec, titled with its phase."""
        return super().markdown().replace(f"# {self.TITLE}", f"# {self.TITLE}: {self.phase}", 1)

    def cited_paths(self) -> list[str]:
        """The files of today's tree it ports (not the new files, which do not exist yet)."""
        return list(self.source_paths)


class ImplementationSpecs(_Part):
    """Step 4's value: one spec per phase of the plan, in the plan's order."""

    specs: list[ImplementationSpec] = Field(min_length=1)

    def markdown(self) -> str:
        """Every spec, one after the other."""
        return "\n".join(spec.markdown() for spec in self.specs)


class QualityFinding(_Part):
    """One judgement of the new code."""

    area: str = Field(min_length=1, max_length=NAME_CHARS)
    assessment: str = Field(min_length=1, max_length=TEXT_CHARS)
    evidence: list[Evidence] = Field(min_length=1, max_length=8,
                                     description="Files of the new tree.")


class QualityAssessment(Document):
    """Step 5: the new code against standards and the plan, or why there is none."""

    TITLE: ClassVar[str] = "Quality assessment"
    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = ("Summary", "Standards", "Plan adherence")
    status: Literal["assessed", "not_requested"]
    summary: str = Field(min_length=1, max_length=LONG_CHARS)
    standards: list[QualityFinding] = Field(default_factory=list, max_length=12)
    plan_adherence: list[QualityFinding] = Field(default_factory=list, max_length=12)

    @model_validator(mode="after")
    def _findings_when_assessed(self) -> Self:
        if self.status == "assessed" and not (self.standards and self.plan_adherence):
            raise ValueError("an assessed status needs standards and plan_adherence findings")
        return self

    def sections(self) -> dict[str, str]:
        """Summary and findings; without new code, each section says so."""
        none = "Not assessed: the request names no new code (`new_code_path`)."

        def listed(findings: list[QualityFinding]) -> str:
            return _bullets([
                f"**{f.area}**: {f.assessment} ("
                + "; ".join(f"`{e.path}`: {e.observation}" for e in f.evidence) + ")"
                for f in findings
            ]) or none

        return {
            "Summary": self.summary,
            "Standards": listed(self.standards),
            "Plan adherence": listed(self.plan_adherence),
        }

    def cited_paths(self) -> list[str]:
        """Evidence paths, in the new tree."""
        return [e.path for f in self.standards + self.plan_adherence for e in f.evidence]


class DeliveryReport(Document):
    """Step 6: the final write-up that opens the delivery folder."""

    TITLE: ClassVar[str] = "Migration delivery"
    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = ("Summary", "Findings", "Plan", "Risks")
    summary: str = Field(min_length=1, max_length=LONG_CHARS)
    findings: list[Item] = Field(min_length=1, max_length=16)
    plan: str = Field(min_length=1, max_length=LONG_CHARS)
    risks: list[Item] = Field(min_length=1, max_length=16)

    def sections(self) -> dict[str, str]:
        """Summary, findings, the plan in brief, risks."""
        return {
            "Summary": self.summary,
            "Findings": _bullets(self.findings),
            "Plan": self.plan,
            "Risks": _bullets(self.risks),
        }
