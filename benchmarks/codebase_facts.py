"""Wall time and peak memory of ``codebase_facts`` (scan_tree + compute_facts).

Two trees: ECL's own repository, and a generated tree of Python, TypeScript and Go files
(100,000 lines by default, functions of varied complexity). Each case runs in a fresh
process that reports its own wall time and peak RSS, beside the baseline measured the same
way in the same run: a process that only walks the same tree and reads its files. Goals
(issue 9): under 30 s and under 500 MB for 100,000 lines.

    .venv/bin/python benchmarks/codebase_facts.py --lines 100000
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S, GOAL_MB = 30.0, 500.0

_PY = '''def handler_{n}(items, limit):
    """Handle batch {n}."""
    total = 0
    for item in items:
        if item > limit:
            total += item
        elif item < 0 and limit > {k}:
            total -= item
        else:
            continue
    return total

'''
_TS = '''export function route{n}(path: string, depth: number): number {{
  // route {n}
  if (path === "/" || depth > {k}) {{
    return 200;
  }}
  for (let i = 0; i < depth; i++) {{
    if (path.endsWith(String(i))) {{ return i; }}
  }}
  return path.length > 4 ? 404 : 400;
}}

'''
_GO = '''// Sum{n} adds what is positive.
func Sum{n}(xs []int) int {{
\ttotal := 0
\tfor _, x := range xs {{
\t\tif x > {k} {{
\t\t\ttotal += x
\t\t}}
\t}}
\treturn total
}}

'''


def generate(root: Path, lines: int) -> None:
    """Write about ``lines`` lines in files of about 300 lines each."""
    written, n, file_no = 0, 0, 0
    kinds = [("py", "", _PY), ("ts", "", _TS), ("go", "package gen\n\n", _GO)]
    while written < lines:
        suffix, header, template = kinds[file_no % 3]
        body = [header]
        while sum(b.count("\n") for b in body) < 300:
            body.append(template.format(n=n, k=n % 7))
            n += 1
        text = "".join(body)
        path = root / f"pkg{file_no % 20}" / f"mod{file_no}.{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written += text.count("\n")
        file_no += 1


_CHILD = """
import json, os, resource, sys, time
started = time.perf_counter()
root, mode = sys.argv[1], sys.argv[2]
if mode == "facts":
    from ecl_core.codebase.facts import compute_facts
    from ecl_core.codebase.tree import scan_tree
    facts = compute_facts(scan_tree(root))
    summary = {"files": facts.files, "code_lines": facts.code_lines, "functions": facts.functions}
else:
    files = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in {".git", ".venv", "node_modules", "__pycache__"}]
        for name in names:
            with open(os.path.join(folder, name), "rb") as handle:
                handle.read()
            files += 1
    summary = {"files": files}
summary["wall_s"] = time.perf_counter() - started
summary["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(summary))
"""


def measure(root: Path, mode: str) -> dict[str, float]:
    """Run one case in a fresh process; its own wall time (s) and peak RSS (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), mode],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="lines of the generated tree")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / "generated"
        generate(generated, args.lines)
        for name, root in (("ecl_repository", ROOT), (f"generated_{args.lines}_lines", generated)):
            baseline = measure(root, "read")
            facts = measure(root, "facts")
            results[name] = {"facts": facts, "baseline_walk_and_read": baseline}
            print(f"{name}: {facts['files']} files, {facts['code_lines']:,} code lines, "
                  f"{facts['functions']:,} functions")
            print(f"  wall time   {facts['wall_s']:7.2f} s   baseline {baseline['wall_s']:6.2f} s"
                  f"   goal < {GOAL_S:.0f} s (for 100,000 lines)")
            print(f"  peak RSS    {facts['peak_rss_mb']:7.1f} MB  baseline "
                  f"{baseline['peak_rss_mb']:6.1f} MB  goal < {GOAL_MB:.0f} MB")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"codebase_facts-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
