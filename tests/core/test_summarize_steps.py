"""summarize_document's steps: reading and splitting a document, summarizing, combining."""

from pathlib import Path

import pytest

from ecl_core.documents import MAX_DOCUMENT_BYTES, split_sections
from ecl_core.errors import ValidationError
from ecl_core.llm.providers.offline import OFFLINE_MARK, OfflineProvider
from ecl_core.llm.providers.scripted import ScriptedProvider
from ecl_core.logging import get_logger
from ecl_core.steps.summarize import (
    CombineSummariesStep,
    SplitSectionsStep,
    SummarizeSectionStep,
)
from ecl_core.workflow.step import DirectoryArtifacts, StepContext

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "documents" / "durable_llm_workflows.md"


def _context(provider, tmp_path, **config) -> StepContext:
    return StepContext(
        provider=provider, run_id="run-1", step_id="s", attempt=1,
        log=get_logger("test"), artifacts=DirectoryArtifacts(tmp_path), config=config,
    )


def _problem(path: Path, **limits) -> str:
    with pytest.raises(ValidationError) as caught:
        split_sections(path, **limits)
    (detail,) = caught.value.details
    assert detail.field == "path"
    return detail.problem


def test_markdown_headings_open_sections_and_the_first_heading_is_the_title():
    document = split_sections(EXAMPLE)
    assert document.title == "Durable LLM workflows"
    assert [s.heading for s in document.sections] == [
        "Why workflows fail", "Durable execution", "Retries and circuit breakers",
        "Bounded feedback loops", "Observability", "Operating it",
    ]
    assert [s.index for s in document.sections] == [1, 2, 3, 4, 5, 6]
    assert document.sections[1].text.startswith("Durable execution records the output")


def test_plain_text_is_cut_at_blank_lines_into_parts_of_at_most_the_limit(tmp_path):
    paragraphs = [f"Paragraph {k} " + "word " * 40 for k in range(10)]
    path = tmp_path / "notes.txt"
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")
    document = split_sections(path, max_section_chars=600)
    assert document.title == "notes"
    assert all(len(s.text) <= 600 for s in document.sections)
    assert [s.heading for s in document.sections][:2] == ["Part 1", "Part 2"]
    assert " ".join(s.text for s in document.sections).split() == "\n\n".join(paragraphs).split()


def test_a_long_section_is_cut_into_numbered_parts(tmp_path):
    path = tmp_path / "long.md"
    path.write_text("Intro line.\n\n# Big\n\n" + "x" * 2500, encoding="utf-8")
    document = split_sections(path, max_section_chars=1000)
    assert [s.heading for s in document.sections] == [
        "Introduction", "Big (part 1)", "Big (part 2)", "Big (part 3)",
    ]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("doc.pdf", b"%PDF", "'doc.pdf' is not a text or markdown file (.txt, .md, .markdown)"),
        ("blank.md", b"  \n\n ", "has no text"),
        ("latin1.txt", "caf\u00e9".encode("latin-1"), "'{path}' is not UTF-8 text (byte 3)"),
        ("big.txt", b"a" * (MAX_DOCUMENT_BYTES + 1),
         "'{path}' has 1,048,577 bytes; the limit is 1,048,576"),
    ],
    ids=["suffix", "empty", "not-utf8", "over-1-MB"],
)
def test_an_unusable_file_is_refused_naming_path_and_the_limit(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert _problem(path) == expected.format(path=path)


def test_a_document_of_exactly_1_mb_is_accepted(tmp_path):
    path = tmp_path / "max.txt"
    path.write_bytes(b"a" * MAX_DOCUMENT_BYTES)
    document = split_sections(path, max_section_chars=40_000, max_sections=50)
    assert sum(len(s.text) for s in document.sections) == MAX_DOCUMENT_BYTES


def test_a_missing_file_and_too_many_sections_are_refused(tmp_path):
    assert _problem(tmp_path / "gone.md") == f"'{tmp_path / 'gone.md'}' does not exist"
    path = tmp_path / "many.md"
    path.write_text("".join(f"# S{k}\n\ntext {k}\n\n" for k in range(4)), encoding="utf-8")
    assert _problem(path, max_sections=3) == "has 4 sections; the limit is 3"


def test_the_steps_summarize_each_section_and_combine_into_a_draft(tmp_path):
    provider = ScriptedProvider(["Failures are ordinary.", "Steps are recorded.",
                                 "A workflow survives failures by recording each step."])
    document = SplitSectionsStep().run(_context(provider, tmp_path), {"path": str(EXAMPLE)})
    summaries = [
        SummarizeSectionStep().run(
            _context(provider, tmp_path),
            {"document": document.document, **section.model_dump()},
        )
        for section in document.sections[:2]
    ]
    context = _context(provider, tmp_path)
    draft = CombineSummariesStep().run(
        context, {"title": document.title, "summaries": list(reversed(summaries))}
    )
    assert [s.summary for s in summaries] == ["Failures are ordinary.", "Steps are recorded."]
    assert (draft.topic, draft.revision) == ("Summary of Durable LLM workflows", 0)
    assert draft.text == "A workflow survives failures by recording each step."
    combine_prompt = provider.requests[2].messages[0].content
    assert combine_prompt.index("## Why workflows fail") < combine_prompt.index(
        "## Durable execution"
    )
    assert context.calls[0].llm_calls == 1


def test_the_offline_provider_summarizes_and_combines(tmp_path):
    provider = OfflineProvider()
    document = split_sections(EXAMPLE)
    section = document.sections[0]
    summary = SummarizeSectionStep().run(
        _context(provider, tmp_path), {"document": document.document, **section.model_dump()}
    )
    assert summary.summary.startswith("Why workflows fail: A workflow that calls")
    assert len(summary.summary.split()) <= 35 + 4
    draft = CombineSummariesStep().run(
        _context(provider, tmp_path), {"title": document.title, "summaries": [summary]}
    )
    assert summary.summary in draft.text and draft.text.endswith(OFFLINE_MARK)
