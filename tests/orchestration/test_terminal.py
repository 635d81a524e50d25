"""What a person sees in a terminal: human lines, progress on long work, a summary at the end.

Each command runs under a pseudo-terminal, as in a person's shell, and its output is read as
it comes, so the tests see the order of what was drawn.
"""

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ECL = str(Path(sys.executable).with_name("ecl"))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _in_terminal(argv: list[str], env: dict[str, str], cwd: Path, timeout_s: float) -> str:
    """Run ``argv`` with a pseudo-terminal as stdin, stdout and stderr; its output, ANSI-free."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(argv, stdin=follower, stdout=follower, stderr=follower,
                               env=env, cwd=cwd, close_fds=True)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: every process holding it has ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    else:
        process.kill()
    process.wait(timeout=30)
    os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return ANSI.sub("", text)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "ECL_", "DAGSTER_"))}
    env["DAGSTER_HOME"] = str(home)
    env["TERM"] = "xterm"
    env["COLUMNS"] = "120"
    return env


def test_run_sh_in_a_terminal_ends_with_a_summary(tmp_path):
    home = tmp_path / "home"
    text = _in_terminal(["bash", "scripts/run.sh"], _env(home), ROOT, 600)
    summary = text[text.rindex("--- summary"):]
    run = re.search(r"^run     ([0-9a-f-]{36}) \(critique_revise\)$", summary, re.MULTILINE)
    assert run, text[-3000:]
    assert re.search(r"^status  SUCCESS in [\d.]+ s$", summary, re.MULTILINE), summary
    assert re.search(r"^calls   [1-9]\d* LLM calls \(0 from the journal\)$", summary,
                     re.MULTILINE), summary
    assert re.search(r"^tokens  [1-9][\d,]* \(input [\d,]+, output [\d,]+\)$", summary,
                     re.MULTILINE), summary
    assert re.search(r"^cost    0 USD$", summary, re.MULTILINE), summary
    assert f"next    ecl status {run.group(1)[:8]}" in summary
    assert f"http://127.0.0.1:3000/runs/{run.group(1)}" in summary
    # ECL's own log lines are for a person here: key=value, never a JSON object.
    assert "workflow.final_draft" in text or "final" in text
    assert not [line for line in text.splitlines() if line.startswith('{"')], text[-3000:]


def test_ecl_analyze_in_a_terminal_shows_progress_before_the_scan_ends(tmp_path):
    tree = tmp_path / "big"
    for folder in range(40):
        package = tree / f"pkg{folder:02d}"
        package.mkdir(parents=True)
        for module in range(50):
            (package / f"mod{module:02d}.py").write_text(
                f"def f{module}(x):\n    if x > {module}:\n        return x\n    return -x\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    text = _in_terminal([ECL, "analyze", str(tree), "--target", "Go"], _env(home), ROOT, 900)
    scanned = [int(n) for n in re.findall(r"scanning big\b.*?(\d+)/\?", text)]
    measured = [int(n) for n in re.findall(r"measuring code\b.*?(\d+)/2000", text)]
    assert scanned and min(scanned) < 2000, text[:3000]
    assert measured and min(measured) < 2000 and max(measured) == 2000, text[:3000]
    # Drawn while the scan went on: a count short of the tree before the full count.
    assert text.index(f"{min(scanned)}/?") < text.index("measuring code")
    summary = text[text.rindex("--- summary"):]
    assert re.search(r"^status  SUCCESS", summary, re.MULTILINE), text[-3000:]
    assert re.search(r"^result  deliverables in /\S+/big$", summary, re.MULTILINE), summary
    # Dagster's own events at INFO: none of its DEBUG lines.
    assert " - DEBUG - " not in text, text[:3000]
