"""Wall time and peak memory of the analyzer's facts (scan_tree + compute_facts).

Two trees: ECL's own repository (found from this script's path), and a generated tree of
Python, TypeScript and Go files (100,000 lines by default) whose functions have from 1 to
12 branches. Each case runs in a fresh process; its peak RSS is that process's own
(``os.wait4``), its wall time is measured inside it from before ecl_core is imported.
This process imports nothing of ECL and stays small, since on Linux a child's peak RSS
includes its parent's at the fork. Beside it, measured the same way in the same run:

* baseline: a process that walks the same tree (``os.walk``, pruning the folders
  scan_tree never enters) and reads the same files scan_tree reads, with no facts;
* scan: ``scan_tree`` alone (it runs first, and lists the files it read).

Goals: under 30 s and under 500 MB for 100,000 lines. Results go to
``benchmarks/results/codebase_facts.json``.

    .venv/bin/python benchmarks/codebase_facts.py --lines 100000
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S, GOAL_MB = 30.0, 500.0


def _python(n: int, branches: int) -> str:
    arms = "".join(
        f"        {'if' if k == 0 else 'elif'} item % {k + 2} == 0:\n"
        f"            total += item * {k + 1}\n" for k in range(branches)
    )
    return (f"def handler_{n}(items, limit):\n    \"\"\"Handle batch {n}.\"\"\"\n"
            f"    total = 0\n    for item in items:\n{arms}"
            f"        if total > limit:\n            break\n    return total\n\n\n")


def _typescript(n: int, branches: int) -> str:
    arms = "".join(
        f"    {'if' if k == 0 else '} else if'} (x % {k + 2} === 0) {{\n"
        f"      total += x * {k + 1};\n" for k in range(branches)
    )
    return (f"// route{n} sums what matches.\nexport function route{n}(xs: number[]): number "
            f"{{\n  let total = 0;\n  for (const x of xs) {{\n{arms}    }}\n  }}\n"
            f"  return total > {n % 97} ? total : 0;\n}}\n\n")


def _go(n: int, branches: int) -> str:
    arms = "".join(
        f"\t\t{'if' if k == 0 else '}} else if'} x%{k + 2} == 0 {{\n"
        f"\t\t\ttotal += x * {k + 1}\n" for k in range(branches)
    )
    return (f"// Sum{n} adds what matches.\nfunc Sum{n}(xs []int) int {{\n\ttotal := 0\n"
            f"\tfor _, x := range xs {{\n{arms}\t\t}}\n\t}}\n\treturn total\n}}\n\n")


def generate(root: Path, lines: int) -> int:
    """Write at least ``lines`` lines in files of about 300 lines; return how many."""
    kinds = [("py", "", _python), ("ts", "", _typescript), ("go", "package gen\n\n", _go)]
    written = n = file_no = 0
    while written < lines:
        suffix, header, function = kinds[file_no % 3]
        body = [header]
        size = header.count("\n")
        while size < 300 and written + size < lines:
            body.append(function(n, 1 + n % 12))
            size += body[-1].count("\n")
            n += 1
        path = root / f"pkg{file_no % 20}" / f"mod{file_no}.{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(body))
        written += size
        file_no += 1
    return written


_CHILD = """
import json, os, sys, time
started = time.perf_counter()
root, mode, listing = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "baseline":
    from ecl_core.codebase.ignores import SKIPPED_FOLDERS
    wanted = set(json.loads(open(listing).read()))
    files = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_FOLDERS]
        for name in names:
            path = os.path.join(folder, name)
            if os.path.relpath(path, root) in wanted:
                with open(path, "rb") as handle:
                    handle.read()
                files += 1
    summary = {"files": files}
else:
    from ecl_core.codebase.tree import scan_tree
    tree = scan_tree(root)
    summary = {"files": len(tree.files), "bytes": tree.total_bytes}
    if mode == "scan":
        with open(listing, "w") as handle:
            handle.write(json.dumps([f.path for f in tree.files]))
    if mode == "facts":
        from ecl_core.codebase.facts import compute_facts
        facts = compute_facts(tree)
        lines = sum(lang.code + lang.comment + lang.blank for lang in facts.languages)
        summary.update(lines=lines, code_lines=facts.code_lines, functions=facts.functions)
summary["wall_s"] = time.perf_counter() - started
print(json.dumps(summary))
"""


def measure(root: Path, mode: str, listing: Path) -> dict[str, float]:
    """One case in a fresh process: what it reports, and its peak RSS (MB) from ``wait4``."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root), mode, str(listing)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{mode} on {root} failed with exit code {child.returncode}")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    return result


def run_case(root: Path, workdir: Path) -> dict[str, dict[str, float]]:
    """The three processes on ``root``; ``scan`` goes first and lists the files it read."""
    listing = workdir / f"{root.name}-files.json"
    return {mode: measure(root, mode, listing) for mode in ("scan", "baseline", "facts")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="lines of the generated tree")
    args = parser.parse_args()
    report: dict[str, object] = {
        "args": vars(args), "python": platform.python_version(), "cpus": os.cpu_count(),
        "goals": {"wall_s": GOAL_S, "peak_rss_mb": GOAL_MB, "for_lines": 100_000},
    }
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "generated"
        generate(generated, args.lines)
        cases = {"ecl_repository": ROOT, f"generated_{args.lines}_lines": generated}
        for name, root in cases.items():
            rows = run_case(root, Path(tmp))
            report[name] = rows
            facts, base, scan = rows["facts"], rows["baseline"], rows["scan"]
            print(f"{name}: {facts['files']:,.0f} files, {facts['lines']:,.0f} lines "
                  f"({facts['code_lines']:,.0f} code), {facts['functions']:,.0f} functions")
            print(f"  {'':10}{'facts':>10}{'scan only':>12}{'baseline':>11}{'goal':>8}")
            print(f"  {'wall s':10}{facts['wall_s']:>10.2f}{scan['wall_s']:>12.2f}"
                  f"{base['wall_s']:>11.2f}{GOAL_S:>8.0f}")
            print(f"  {'peak MB':10}{facts['peak_rss_mb']:>10.1f}{scan['peak_rss_mb']:>12.1f}"
                  f"{base['peak_rss_mb']:>11.1f}{GOAL_MB:>8.0f}")
    generated_facts = report[f"generated_{args.lines}_lines"]["facts"]  # type: ignore[index]
    report["generated_meets_goals"] = (
        generated_facts["wall_s"] < GOAL_S and generated_facts["peak_rss_mb"] < GOAL_MB
    )
    print(f"generated tree within the goals: {report['generated_meets_goals']}")
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    (out / "codebase_facts.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
