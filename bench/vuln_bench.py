"""Vulnerable-diff benchmark: real security fixes, reversed into the diffs that bring the flaws back.

For each case of ``bench/vuln_cases.json`` (see ``bench/vuln_case.py``) a throwaway repository holds the
fixed code as HEAD and the vulnerable code in the working tree, and each mode reviews it:

- ``a``: localreview's analyzers alone (``diff --analyzers-only --format json``);
- ``b``: bandit alone on the WHOLE changed files (the baseline; every finding counts);
- ``c``: analyzers with the bundled embedded model (``diff --backend embedded --format json``; slow);
- ``d``: bandit's findings of mode b that lie on a changed line (a reference for mode a; not default).

A case is *caught* when a finding lies within ±3 lines of a flaw line; every finding farther than that from
every flaw line is *unrelated*. Figures are printed for the tune part, the held-aside part and the total.

    python -m bench.vuln_bench                       # modes a and b on every case (minutes)
    python -m bench.vuln_bench --modes c --limit 10  # the embedded model on the first 10 cases
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import bench_cache
from bench.vuln_case import Case, build, changed_lines, load_cases, missing

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = "/work/main/.venv/bin/python"
NEAR = 3
MODES = {"a": "analyzers alone", "b": "bandit, whole files", "c": "analyzers + embedded model",
         "d": "bandit, changed lines only"}
TIMEOUT = {"a": 180.0, "b": 180.0, "c": 900.0, "d": 180.0}
GOAL_CATCH, GOAL_UNRELATED = 0.40, 1.0
LANG = {"python": "py", "javascript": "js", "typescript": "ts", "go": "go", "java": "java"}


@dataclass
class Outcome:
    """One mode on one case. ``error`` set: the run failed and counts as a miss with no findings."""

    caught: bool = False
    unrelated: int = 0
    findings: int = 0
    seconds: float = 0.0
    error: str | None = None
    hits: list[str] = field(default_factory=list)


@dataclass
class Env:
    python: str
    tree: Path
    home: Path
    analyzers_only: bool | None = None  # None: not probed yet

    def variables(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": str(self.tree), "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"), "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
            "TOKENIZERS_PARALLELISM": "false",
            # cwd is the case repository: never let its packages (tqdm/, joblib/, llama_cpp/, ...) shadow
            # the installed ones, which would run fetched code and skew the review.
            "PYTHONSAFEPATH": "1",
            # The int8 ONNX export, shared with the other benchmarks, so no case pays for it.
            "LOCALREVIEW_CACHE_DIR": os.environ.get("LOCALREVIEW_CACHE_DIR",
                                                    str(bench_cache() / "localreview-cache")),
        })
        return env

    def cli(self, cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.python, "-P", "-c", "from reviewer.cli import main; main()", *args], cwd=cwd,
                              env=self.variables(), capture_output=True, text=True, timeout=timeout, check=False)

    def has_analyzers_only(self) -> bool:
        if self.analyzers_only is None:
            out = self.cli(self.home, "diff", "--help", timeout=120)
            self.analyzers_only = "--analyzers-only" in out.stdout
        return self.analyzers_only


def score(case: Case, findings: list[tuple[str, int, int, str]]) -> Outcome:
    """findings: (path, line, end_line, label)."""
    out = Outcome(findings=len(findings))
    for path, line, end, label in findings:
        near = any(line <= b + NEAR and end >= a - NEAR for a, b in case.flaw.get(path, ()))
        if near:
            out.caught = True
            out.hits.append(f"{path}:{line} {label}")
        else:
            out.unrelated += 1
    return out


def review(env: Env, case: Case, repo: Path, mode: str) -> Outcome:
    args = ["diff", "--format", "json", "--fail-on", "none"]
    args += ["--analyzers-only"] if mode == "a" else ["--backend", "embedded"]
    start = time.perf_counter()
    try:
        proc = env.cli(repo, *args, timeout=TIMEOUT[mode])
    except subprocess.TimeoutExpired:
        return Outcome(seconds=time.perf_counter() - start, error=f"timed out after {TIMEOUT[mode]:.0f} s")
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return Outcome(seconds=seconds, error=f"exit {proc.returncode}: {tail[:160]}")
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return Outcome(seconds=seconds, error="the report is not JSON")
    found = [(str(f["path"]), int(f["line"]), int(f.get("end_line") or f["line"]),
              f"{f.get('source', '?')}:{f.get('cwe') or ''} {str(f.get('title', ''))[:60]}")
             for f in report.get("findings", [])]
    out = score(case, found)
    out.seconds = seconds
    return out


def bandit_whole_files(env: Env, case: Case, repo: Path, only_changed: bool = False) -> Outcome:
    files = [p for p in case.files if p.endswith(".py") and (repo / p).is_file()]
    if not files:
        return Outcome(error="n/a: no Python file (counted as a miss)")
    bandit = str(Path(env.python).with_name("bandit"))
    start = time.perf_counter()
    proc = subprocess.run([bandit, "-f", "json", "-q", *files], cwd=repo, capture_output=True, text=True,
                          timeout=TIMEOUT["b"], check=False, env=env.variables())
    seconds = time.perf_counter() - start
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return Outcome(seconds=seconds, error=f"bandit exit {proc.returncode}: {proc.stderr.strip()[-160:]}")
    found = []
    for r in report.get("results", []):
        lines = r.get("line_range") or [r["line_number"]]
        found.append((os.path.relpath(r["filename"]) if os.path.isabs(r["filename"]) else r["filename"],
                      min(lines), max(lines), f"{r['test_id']} {r['issue_text'][:60]}"))
    found = [(p[2:] if p.startswith("./") else p, a, b, label) for p, a, b, label in found]
    if only_changed:  # what an analyzer stage that keeps findings on changed lines would keep
        changed = changed_lines(repo)
        found = [f for f in found if any(f[1] <= n <= f[2] for n in changed.get(f[0], ()))]
    out = score(case, found)
    out.seconds = seconds
    return out


def run_case(env: Env, case: Case, modes: list[str], keep: bool) -> tuple[dict[str, Outcome], list[str]]:
    with tempfile.TemporaryDirectory(prefix=f"vuln-{case.id}-") as tmp:
        repo = Path(tmp) / "repo"
        warnings = build(case, repo)
        results: dict[str, Outcome] = {}
        for mode in modes:
            if mode in ("b", "d"):
                results[mode] = bandit_whole_files(env, case, repo, only_changed=mode == "d")
            elif mode == "a" and not env.has_analyzers_only():
                results[mode] = Outcome(error="not available")
            else:
                results[mode] = review(env, case, repo, mode)
        if keep:
            kept = Path(tempfile.mkdtemp(prefix=f"vuln-{case.id}-kept-"))
            subprocess.run(["cp", "-a", str(repo), str(kept)], check=True)
            warnings.append(f"kept: {kept / 'repo'}")
    return results, warnings


def cell(o: Outcome) -> str:
    if o.error == "not available":
        return "not available"
    mark = "CAUGHT" if o.caught else ("error " if o.error and not o.error.startswith("n/a") else "missed")
    return f"{mark} {o.unrelated:2d} unrel {o.seconds:6.1f}s"


def summary(title: str, cases: list[Case], results: dict[str, dict[str, Outcome]], modes: list[str]) -> None:
    print(f"\n{title}: {len(cases)} cases")
    for mode in modes:
        rows = [results[c.id][mode] for c in cases if mode in results.get(c.id, {})]
        if not rows:
            continue
        if all(r.error == "not available" for r in rows):
            print(f"  ({mode}) {MODES[mode]:28s} not available (the CLI has no --analyzers-only yet)")
            continue
        caught = sum(r.caught for r in rows)
        errors = sum(1 for r in rows if r.error and not r.error.startswith("n/a"))
        print(f"  ({mode}) {MODES[mode]:28s} caught {caught:2d}/{len(rows)} = {caught / len(rows):5.1%}   "
              f"unrelated/case {sum(r.unrelated for r in rows) / len(rows):5.2f}   "
              f"time/case {sum(r.seconds for r in rows) / len(rows):6.1f} s"
              + (f"   errors {errors}" if errors else ""))


def goal(cases: list[Case], results: dict[str, dict[str, Outcome]]) -> None:
    rows = {m: [results[c.id][m] for c in cases if m in results.get(c.id, {})] for m in ("b", "c")}
    if not rows["c"]:
        return
    catch = sum(r.caught for r in rows["c"]) / len(rows["c"])
    unrel = sum(r.unrelated for r in rows["c"]) / len(rows["c"])
    verdict = "MET" if catch >= GOAL_CATCH and unrel <= GOAL_UNRELATED else "MISSED"
    line = (f"\ngoal (c): catch >= {GOAL_CATCH:.0%} with <= {GOAL_UNRELATED:g} unrelated/case: "
            f"{catch:.1%}, {unrel:.2f} -> {verdict}")
    if rows["b"]:
        base = sum(r.caught for r in rows["b"]) / len(rows["b"])
        line += f"; bandit on whole files catches {base:.1%}" + (f" (ratio {catch / base:.2f})" if base else "")
    print(line)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.vuln_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--modes", default="a,b", help="comma-separated: a, b, c, d (default a,b; c is slow)")
    p.add_argument("--cases", default="", help="comma-separated case ids (default: all)")
    p.add_argument("--split", choices=("tune", "held_aside"), help="only one part")
    p.add_argument("--limit", type=int, default=0, help="only the first N cases (manifest order)")
    p.add_argument("--tree", type=Path, default=ROOT, help="the localreview tree under test (default: this one)")
    p.add_argument("--python", default=DEFAULT_PYTHON, help=f"interpreter with the dependencies ({DEFAULT_PYTHON})")
    p.add_argument("--json", type=Path, help="also write every outcome to this file")
    p.add_argument("--keep", action="store_true", help="keep each case repository (paths printed)")
    p.add_argument("--verbose", action="store_true", help="print the findings that caught each case")
    p.add_argument("--list", action="store_true", help="list the cases and what the mirror lacks; run nothing")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    if bad := [m for m in modes if m not in MODES]:
        print(f"unknown mode(s) {bad}: use a, b, c, d", file=sys.stderr)
        return 2
    cases = load_cases()
    if args.cases:
        wanted = args.cases.split(",")
        if unknown := sorted(set(wanted) - {c.id for c in cases}):
            print(f"unknown case id(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.id in wanted]
    if args.split:
        cases = [c for c in cases if c.split == args.split]
    if args.limit:
        cases = cases[: args.limit]
    absent = {c.id: why for c in cases if (why := missing(c))}
    if args.list:
        for c in cases:
            print(f"{c.split:10s} {c.id:36s} {c.repo:34s} {c.fix[:12]} {c.advisory or '-':20s} "
                  f"{c.language:10s} {c.cls:19s} {absent.get(c.id, 'ready')}")
        return 0
    for why in sorted(set(absent.values())):
        print(f"skipped: {why}")
    cases = [c for c in cases if c.id not in absent]
    if not cases:
        print("no case can be built: fetch the repositories above first", file=sys.stderr)
        return 3
    results: dict[str, dict[str, Outcome]] = {}
    with tempfile.TemporaryDirectory(prefix="vuln-home-") as home:
        env = Env(python=args.python, tree=args.tree.resolve(), home=Path(home))
        print(f"tree {env.tree}; modes {', '.join(f'{m} = {MODES[m]}' for m in modes)}; {len(cases)} cases")
        try:
            for case in cases:
                run_one(env, case, modes, args, results)
        except KeyboardInterrupt:
            print(f"\ninterrupted: the figures below cover the {len(results)} finished cases")
    done = [c for c in cases if c.id in results]
    for title, part in (("tune", "tune"), ("held aside", "held_aside"), ("total", None)):
        summary(title, [c for c in done if part is None or c.split == part], results, modes)
    goal(done, results)
    return 0


def run_one(env: Env, case: Case, modes: list[str], args: argparse.Namespace,
            results: dict[str, dict[str, Outcome]]) -> None:
    outcomes, warnings = run_case(env, case, modes, args.keep)
    results[case.id] = outcomes
    cells = "  |  ".join(f"{m}: {cell(results[case.id][m])}" for m in modes)
    tag = "H" if case.split == "held_aside" else "T"
    print(f"{tag} {case.id:36s} {LANG.get(case.language, case.language):4s} {case.cls:19s} {cells}", flush=True)
    for w in warnings:
        print(f"    warning: {w}")
    for m in modes:
        o = results[case.id][m]
        if o.error and o.error != "not available":
            print(f"    ({m}) {o.error}")
        if args.verbose and o.hits:
            print(f"    ({m}) hits: {'; '.join(o.hits[:4])}")
    save(args.json, results)


def save(path: Path | None, results: dict[str, dict[str, Outcome]]) -> None:
    """Written after every case, so a long mode-c run that is stopped still leaves its outcomes."""
    if path is not None:
        path.write_text(json.dumps({cid: {m: asdict(o) for m, o in r.items()} for cid, r in results.items()},
                                   indent=1), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
