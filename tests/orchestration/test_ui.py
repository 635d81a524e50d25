"""The Dagster UI of the local stack in a real browser: launch, read, fail, re-execute.

Debian's Chromium (/usr/bin/chromium), driven by Playwright. Screenshots of every stage
go to ``$ECL_TEST_ARTIFACTS/ui`` (default ``test-artifacts/ui`` in the project).
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from browser import chromium
from messages_api import Reply, error
from scenarios import STACK_DRAFT

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ECL_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "ui"
DOCUMENT = ROOT / "examples" / "documents" / "durable_llm_workflows.md"
RUN_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(ARTIFACTS) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1400, "height": 900})
    opened.set_default_timeout(60_000)
    yield opened
    opened.close()


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    # Dagster's "join the community" dialog may open a moment after the page settles.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.click(timeout=5_000)
    except PlaywrightTimeoutError:
        pass


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _topic(topic: str) -> str:
    return f"ops:\n  generate_draft:\n    config:\n      topic: {topic}\n      max_revisions: 3\n"


def _launch(page: Page, stack, config: str, stage: str, job: str = "critique_revise") -> str:
    _open(page, f"{stack.web_url}/locations/ecl/jobs/{job}/playground")
    page.locator(".CodeMirror").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(config)
    expect(page.get_by_role("button", name="Launch Run")).to_be_enabled()
    _shot(page, f"{stage}-1-launchpad")
    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url("**/runs/*")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def _column(stack, sql: str, **params: str) -> list[str]:
    """The first column of ``sql``'s rows in the stack's Postgres (Dagster's own tables)."""
    engine = sa.create_engine(stack.postgres_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).scalars())
    finally:
        engine.dispose()


def _wait_for_status(page: Page, status: str) -> None:
    header = page.locator("text=/^(Success|Failure|Canceled)$/").first
    expect(header).to_have_text(status, timeout=RUN_TIMEOUT_MS)


def _expect_markdown_metadata(page: Page, label: str, expected: str) -> None:
    """Open the ``label`` markdown entry of the last output that has one; wait for ``expected``."""
    row = page.locator(f"tr:has(td:text-is('{label}'))").last
    row.get_by_text("[Show Markdown]").click()
    expect(page.get_by_role("dialog")).to_contain_text(expected)


def test_launch_from_the_launchpad_and_read_the_final_draft(stack, stack_api, page):
    run_id = _launch(page, stack, _topic("Tea ceremonies in Kyoto"), "launch")
    _wait_for_status(page, "Success")
    _shot(page, "launch-2-run-succeeded")
    _expect_markdown_metadata(page, "text", STACK_DRAFT)
    _shot(page, "launch-3-final-draft")
    (status,) = _column(stack, "SELECT status FROM runs WHERE run_id = :r", r=run_id)
    assert status == "SUCCESS"


def test_reexecute_from_failure_in_the_ui(stack, stack_api, page):
    stack_api.script(
        [Reply(text=STACK_DRAFT), error(400, "injected: critique_draft_0 fails once")]
    )
    failed_run = _launch(page, stack, _topic("Coffee roasting at home"), "reexecute")
    _wait_for_status(page, "Failure")
    _shot(page, "reexecute-2-run-failed")

    reexecute_all = page.get_by_role("button", name="Re-execute all (*)")
    reexecute_all.locator("xpath=..").get_by_role("button", name="arrow_drop_down").click()
    _shot(page, "reexecute-3-menu")
    page.get_by_role("menuitem", name="From failure").click()
    page.wait_for_url(lambda url: "/runs/" in url and failed_run not in url)
    _wait_for_status(page, "Success")
    _shot(page, "reexecute-4-reexecution-succeeded")
    new_run = page.url.rstrip("/").rsplit("/", 1)[-1]

    (parent,) = _column(stack, "SELECT value FROM run_tags WHERE run_id = :r AND key = :k",
                        r=new_run, k="dagster/parent_run_id")
    assert parent == failed_run
    _expect_markdown_metadata(page, "text", STACK_DRAFT)
    _shot(page, "reexecute-5-final-draft")


def test_launch_summarize_document_from_the_launchpad(stack, stack_api, page):
    config = f"ops:\n  split_sections:\n    config:\n      path: {DOCUMENT}\n"
    run_id = _launch(page, stack, config, "summarize", job="summarize_document")
    _wait_for_status(page, "Success")
    _shot(page, "summarize-2-run-succeeded")
    _expect_markdown_metadata(page, "text", STACK_DRAFT)
    _shot(page, "summarize-3-final-summary")
    succeeded = _column(stack, "SELECT DISTINCT step_key FROM event_logs WHERE run_id = :r "
                        "AND dagster_event_type = 'STEP_SUCCESS'", r=run_id)
    assert {k for k in succeeded if k.startswith("summarize_section")} == {"summarize_section"}
    sections = _column(stack, "SELECT COUNT(*) FROM event_logs WHERE run_id = :r AND step_key "
                       "= 'summarize_section' AND dagster_event_type = 'STEP_OUTPUT'", r=run_id)
    assert sections == [6]  # one output per section, each with its summary and tokens


def test_the_catalog_shows_the_migration_asset_graph(stack, page):
    _open(page, f"{stack.web_url}/assets")
    for asset in ("migration_intake", "codebase_facts", "codebase_analysis",
                  "architecture_design", "architecture_approval", "migration_plan",
                  "implementation_specs",
                  "quality_assessment", "migration_delivery"):
        expect(page.get_by_text(asset, exact=True).first).to_be_visible()
    _shot(page, "catalog-1-assets")
    _open(page, f'{stack.web_url}/asset-groups~group%3A"migration"')  # the group's lineage
    expect(page.get_by_text("migration_delivery", exact=True).first).to_be_visible()
    _shot(page, "catalog-2-migration-lineage")


def _continuation(stack, parent: str) -> str | None:
    children = _column(stack, "SELECT run_id FROM run_tags WHERE key = :k AND value = :p",
                       k="dagster/parent_run_id", p=parent)
    finished = [c for c in children if _column(
        stack, "SELECT status FROM runs WHERE run_id = :r", r=c) == ["SUCCESS"]]
    return finished[0] if finished else None


def test_a_review_shows_in_the_ui_and_an_answer_from_a_shell_resumes_it(
    stack, stack_api, page
):
    config = ("ops:\n  write_draft:\n    config:\n      topic: Bread at altitude\n"
              "      max_revisions: 1\n")
    run_id = _launch(page, stack, config, "review", job="reviewed_draft")
    _wait_for_status(page, "Success")  # ended awaiting review: not a crash
    _open(page, page.url)  # the review's tags were added during the run
    page.get_by_role("button", name="View tags and config").click()
    expect(page.get_by_role("dialog")).to_contain_text("ecl/review_state")
    expect(page.get_by_role("dialog")).to_contain_text("awaiting")
    _shot(page, "review-2-run-awaiting-tags")
    page.get_by_role("dialog").get_by_role("button", name="OK").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    _expect_markdown_metadata(page, "to_review", STACK_DRAFT)
    _shot(page, "review-3-draft-to-review")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    (review_id,) = _column(stack, "SELECT value FROM run_tags WHERE run_id = :r AND key = :k",
                           r=run_id, k="ecl/review_id")
    _expect_markdown_metadata(page, "answer_with", f"ecl review approve {review_id}")

    answer = subprocess.run(
        [str(Path(sys.executable).with_name("ecl")), "review", "approve", review_id],
        env=stack.env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert answer.returncode == 0, answer.stderr
    deadline = time.monotonic() + 90
    while (resumed := _continuation(stack, run_id)) is None:
        assert time.monotonic() < deadline, "the review sensor did not resume the run"
        time.sleep(1)

    _open(page, f"{stack.web_url}/runs/{resumed}")
    _wait_for_status(page, "Success")
    _expect_markdown_metadata(page, "text", STACK_DRAFT)
    _shot(page, "review-4-approved-draft")
