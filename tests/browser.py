"""Debian's Chromium, driven by Playwright (which downloads no browser), for the UI tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

__all__ = ["CHROMIUM", "chromium"]

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling out of this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@contextmanager
def chromium(artifacts: Path) -> Iterator[Browser]:
    """A headless Chromium for the block; ``artifacts`` (for screenshots) is made first."""
    assert Path(CHROMIUM).exists(), "install Debian's chromium (scripts/test.sh does as root)"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
