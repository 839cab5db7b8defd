"""Retrieval benchmark on real history: does the review plan carry the definitions a real commit's
added code needs, within the window, better than simpler ways of picking context?

    python -m bench.history_bench [--split tune|held_aside|all] [--projects flask,ky] [--limit N]
                                  [--tree DIR] [--with-index] [--misses N]

Each case of ``bench/history_cases.json`` (a commit of a public project, read from the mirror that
the search tool's ``fetch`` leaves in /work/.mirror) is replayed: its parent committed in a new
repository, the commit's files written over it, so ``localreview diff`` is the commit's diff. The
needed definitions are judged by jedi (Python) or the TypeScript language service
(``bench/history_judge.py``). The plan is built by the CLI of the tree under test in a subprocess
(``diff --dry-run --format json --num-ctx N --backend ollama``) at each window.

Covered: a needed definition is covered when a context item of the plan (any batch) overlaps its
header lines (``def``/``class`` line through the end of the signature) with lines it shows: a
skeleton or outline counts by the lines it sends (the plan's ``shown``), not by the span of the
definition it stands for, most of which it elides. Definitions whose header the diff's hunks
already show are not counted as needed (printed apart); the diff itself never counts as context,
except the enclosing definitions' headers the plan shows above a hunk (a batch's ``leads``): they
count as items, tokens included. R@N: covered / needed, pooled over the cases, for the plan built
at window N.
Precision: the share of context tokens in items that cover a needed definition. Tokens: context
tokens per case. R@8k(span) is the looser rule of ``plan_bench``: an item overlaps the definition.

"each prompt": the plan scored batch by batch, as the model sees it. A batch needs what the added
lines of its own hunks use and its own hunks do not show: a definition shown only by another
batch's hunks is needed (and useful when sent) there. Summed over the batches; with one batch per case it
is the row above. The baselines have no batches and are scored as one context. "+ tests": the same,
with what the changed tests' added lines use needed too. The rows above judge only the source files'
added lines, so the context the plan sends for a test's hunks counts as noise there even when the
test uses it; this row judges it by the test.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import bench_cache, load_average, setup_env
from bench.history_baselines import BM25, Item, Tree, pr_agent, whole_files
from bench.history_cases import SPLITS, Case, CaseRepo, added_lines, is_source, load_manifest, replay
from bench.history_judge import Judgement, Needed, cached_judge

WINDOWS = (2048, 4096, 8192)
PLAN = "localreview"
METHODS = (PLAN, "PR-Agent style", "BM25 chunks", "whole files")
PYTHON = os.environ.get("LOCALREVIEW_BENCH_PYTHON", "/work/main/.venv/bin/python")


@dataclass
class Scored:
    needed: int = 0
    hit: int = 0
    hit_span: int = 0
    tokens: int = 0
    useful: int = 0

    def add(self, x: Scored) -> None:
        self.needed += x.needed
        self.hit += x.hit
        self.hit_span += x.hit_span
        self.tokens += x.tokens
        self.useful += x.useful


@dataclass
class Result:
    case: Case
    judgement: Judgement
    scores: dict[tuple[str, int], Scored] = field(default_factory=dict)  # (method, window)
    plan_seconds: dict[int, float] = field(default_factory=dict)
    # the plan scored per prompt, by (window, whether the tests' added lines are judged too)
    prompts: dict[tuple[int, bool], Scored] = field(default_factory=dict)
    room: dict[int, int] = field(default_factory=dict)
    batches: dict[int, int] = field(default_factory=dict)
    items: dict[tuple[str, int], list[Item]] = field(default_factory=dict)
    error: str = ""


def header_hit(items: Iterable[Item], n: Needed) -> bool:
    return any(i.path == n.path and s <= n.head_end and n.head_start <= e for i in items for s, e in i.ranges)


def span_hit(items: Iterable[Item], n: Needed) -> bool:
    return any(i.path == n.path and s <= n.end and n.start <= e for i in items for s, e in i.ranges)


def score(items: Sequence[Item], needed: Sequence[Needed]) -> Scored:
    return Scored(len(needed), sum(header_hit(items, n) for n in needed), sum(span_hit(items, n) for n in needed),
                  sum(i.tokens for i in items),
                  sum(i.tokens for i in items if any(header_hit([i], n) for n in needed)))


# --- the plan, from the CLI of the tree under test ------------------------------------------------

def run_plan(tree: Path, root: Path, num_ctx: int, home: Path) -> tuple[dict[str, Any], float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HOME": str(home), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    cmd = [PYTHON, "-c", "from reviewer.cli import main; main()", "diff", "--dry-run", "--format", "json",
           "--num-ctx", str(num_ctx), "--backend", "ollama"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
    plan: dict[str, Any] = json.loads(proc.stdout)
    return plan, seconds


def plan_items(plan: dict[str, Any]) -> list[Item]:
    return [i for b in plan.get("batches", []) for i in batch_items(b)]


def batch_items(b: dict[str, Any]) -> list[Item]:
    return [Item(c["path"], int(c["start_line"]), int(c["end_line"]), int(c["tokens"]),
                 f"{c.get('reason', '')} {c.get('symbol', '')}", str(c.get("form", "full")),
                 tuple((int(r[0]), int(r[1])) for r in c.get("shown", ())))
            for c in [*b.get("context", []), *b.get("leads", [])]]


def per_prompt(plan: dict[str, Any], j: Judgement, tests: bool) -> Scored:
    """The plan scored prompt by prompt: each batch against what its own files' added lines need
    and its own hunks do not show (``Judgement.needed_by``), summed over the batches. ``tests``:
    what the changed tests' added lines use is needed too (the plan reviews those hunks)."""
    s = Scored()
    for b in plan.get("batches", []):
        s.add(score(batch_items(b), j.needed_by(b.get("diff_lines", {}), tests=tests)))
    return s


def plan_room(plan: dict[str, Any]) -> int:
    """What the plan's batches had for context: per batch, the window less the answer reserve and
    the prompt without its context (the enclosing headers shown in the diff are context too). The
    baselines get the same total."""
    reserve = int(plan.get("output_reserve") or 0)
    total = 0
    for b in plan.get("batches", []):
        ctx = sum(int(c["tokens"]) for c in [*b.get("context", []), *b.get("leads", [])])
        total += max(0, int(plan["num_ctx"]) - reserve - (int(b["prompt_tokens"]) - ctx))
    return total


def index_case(tree: Path, case: Case, repo: CaseRepo, home: Path) -> None:
    """``localreview index`` on the case repository; the index is kept in the bench cache per commit
    and restored (then refreshed by the index command) on the next run."""
    import shutil

    cached = bench_cache() / "history-index" / case.sha
    dest = repo.root / ".localreview"
    if cached.is_dir():
        shutil.copytree(cached, dest, dirs_exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree), "HOME": str(home), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    env.setdefault("LOCALREVIEW_CACHE_DIR", str(bench_cache() / "localreview-cache"))
    proc = subprocess.run([PYTHON, "-c", "from reviewer.cli import main; main()", "index"], cwd=repo.root,
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"localreview index: exit {proc.returncode}: {proc.stderr.strip()[-400:]}")
    if dest.is_dir():
        shutil.rmtree(cached, ignore_errors=True)
        shutil.copytree(dest, cached, ignore=shutil.ignore_patterns("index.lock"))


# --- one case ------------------------------------------------------------------------------------------

def diff_hunks(root: Path, path: str) -> list[list[int]]:
    """Added new-side lines of ``path``, grouped by hunk (-U0); a pure deletion gives its position."""
    out = subprocess.run(["git", "diff", "-U0", "--no-color", "HEAD", "--", path], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    groups: list[list[int]] = []
    for row in out.splitlines():
        if row.startswith("@@"):
            new = row.split("+", 1)[1].split(" ", 1)[0]
            start, _, count = new.partition(",")
            n = int(count) if count else 1
            groups.append(list(range(int(start), int(start) + n)) or [max(1, int(start))])
    return groups


def run_case(case: Case, args: argparse.Namespace) -> Result:
    repo = replay(case)
    home = Path(tempfile.mkdtemp(prefix="lr-home-", dir=repo.tmp))
    try:
        result = Result(case, cached_judge(case.sha, repo.root, case.language, repo.changed))
        if args.with_index:
            index_case(args.tree, case, repo, home)
        tree = Tree(repo.root, case.language)
        bm25 = BM25(tree)
        code = [p for p in repo.changed if p in tree.text]
        sources = [p for p in code if is_source(p, case.language)]
        added = {p: set(added_lines(repo.root, p)) for p in sources}
        hunks = {p: diff_hunks(repo.root, p) for p in code}
        needed = result.judgement.needed
        for num_ctx in WINDOWS:
            plan, seconds = run_plan(args.tree, repo.root, num_ctx, home)
            result.plan_seconds[num_ctx] = seconds
            room = result.room[num_ctx] = plan_room(plan)
            result.batches[num_ctx] = len(plan.get("batches", []))
            for tests in (False, True):
                result.prompts[num_ctx, tests] = per_prompt(plan, result.judgement, tests)
            chosen = {
                PLAN: plan_items(plan),
                "PR-Agent style": pr_agent(tree, hunks, room),
                "BM25 chunks": bm25.items(tree, added, room),
                "whole files": whole_files(tree, sources, room),
            }
            for m, items in chosen.items():
                result.scores[m, num_ctx] = score(items, needed)
                result.items[m, num_ctx] = items
        return result
    finally:
        repo.cleanup()


# --- the report ------------------------------------------------------------------------------------------

def report(title: str, results: Sequence[Result]) -> None:
    ok = [r for r in results if not r.error]
    if not ok:
        return
    needed = sum(len(r.judgement.needed) for r in ok)
    kinds = Counter(n.kind for r in ok for n in r.judgement.needed)
    shown = sum(r.judgement.in_diff for r in ok)
    print(f"\n### {title}: {len(ok)} cases, {needed} needed definitions ({dict(kinds.most_common())});"
          f" {shown} more shown by the diff itself")
    print(f"  {'method':<16} {'R@2k':>5} {'R@4k':>5} {'R@8k':>5} | {'P@2k':>5} {'P@4k':>5} {'P@8k':>5} |"
          f" {'tok@2k':>6} {'tok@4k':>6} {'tok@8k':>6} | {'R@8k span':>9}")
    for m in METHODS:
        cells: list[str] = []
        tot: dict[int, Scored] = {}
        for w in WINDOWS:
            s = Scored()
            for r in ok:
                s.add(r.scores[m, w])
            tot[w] = s
        cells += _recall_precision(tot)
        cells += [f"{tot[w].tokens / len(ok):>6.0f}" for w in WINDOWS]
        cells.append("|")
        cells.append(f"{tot[8192].hit_span / max(tot[8192].needed, 1):>9.2f}")
        print(f"  {m:<16} " + " ".join(cells))
    _prompt_rows(ok)
    rooms = ", ".join(f"{w // 1024}k {sum(r.room[w] for r in ok) / len(ok):.0f} in"
                      f" {sum(r.batches[w] for r in ok) / len(ok):.1f} batches" for w in WINDOWS)
    print(f"  room per case (what the plan's batches had for context; the baselines get the same): {rooms}")
    reasons: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    for r in ok:
        items = r.items[PLAN, 8192]
        for i in items:
            spent[_reason(i)] += i.tokens
        for n in r.judgement.needed:
            hit = next((i for i in items if header_hit([i], n)), None)
            if hit is not None:
                reasons[_reason(hit)] += 1
            else:
                missed[f"{n.kind}{' (other file)' if n.path not in r.case.files else ''}"] += 1
    total = max(sum(spent.values()), 1)
    print(f"  localreview at 8k — needed definitions covered, by item reason: {dict(reasons.most_common())};"
          f" tokens by reason: " + ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in spent.most_common()))
    print(f"  localreview at 8k — missed by kind: {dict(missed.most_common())}")
    times = sorted(r.plan_seconds[8192] for r in ok)
    mean = sum(sum(r.plan_seconds.values()) / len(r.plan_seconds) for r in ok) / len(ok)
    print(f"  planning time per case (CLI subprocess, process start included): mean {mean:.2f} s over the"
          f" windows; at 8k median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s")


def _prompt_rows(ok: Sequence[Result]) -> None:
    for tests, label in ((False, "  each prompt"), (True, "   + tests")):
        tot = {w: Scored() for w in WINDOWS}
        for r in ok:
            for w in WINDOWS:
                tot[w].add(r.prompts[w, tests])
        cells = _recall_precision(tot) + [f"{tot[w].needed / len(ok):>6.1f}" for w in WINDOWS]
        print(f"  {label:<16} " + " ".join(cells) + "   (needed per case, counted per prompt)")


def _recall_precision(tot: dict[int, Scored]) -> list[str]:
    """R@N then precision per window, each group closed by a column bar."""
    return ([f"{tot[w].hit / max(tot[w].needed, 1):>5.2f}" for w in WINDOWS] + ["|"]
            + [f"{tot[w].useful / max(tot[w].tokens, 1):>5.2f}" for w in WINDOWS] + ["|"])


def _reason(i: Item) -> str:
    word = i.label.split()[0] if i.label.strip() else "?"
    return f"{word} (skeleton)" if i.form == "skeleton" else word


def misses(results: Sequence[Result], limit: int) -> None:
    if limit <= 0:
        return
    print(f"\n## first {limit} needed definitions the plan missed at 8k (tune split only)")
    shown = 0
    for r in results:
        if r.error or r.case.split != "tune":
            continue
        items = r.items[PLAN, 8192]
        for n in r.judgement.needed:
            if shown >= limit:
                return
            if header_hit(items, n):
                continue
            shown += 1
            near = "; ".join(f"{i.path}:{i.start}-{i.end} {i.label.strip()} ({i.tokens} t"
                             f"{', ' + i.form if i.form != 'full' else ''})" for i in items[:5])
            print(f"  - {r.case.key}: {n.name} ({n.kind}) at {n.path}:{n.head_start} (span {n.start}-{n.end})"
                  f"{' [span overlapped]' if span_hit(items, n) else ''}; plan had: {near or 'nothing'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--projects", default="", help="comma-separated project names (flask,attrs,...)")
    parser.add_argument("--limit", type=int, default=0, help="cases per project (0: all)")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the localreview tree whose CLI plans (default: this checkout)")
    parser.add_argument("--rev", default="", help="plan with this commit of --tree (archived to a temporary"
                        " directory) instead of its working tree, e.g. --tree /work/main --rev HEAD")
    parser.add_argument("--with-index", action="store_true", help="index each case repository first (slow)")
    parser.add_argument("--misses", type=int, default=0, help="print this many misses of the tune split")
    args = parser.parse_args(argv)
    args.tree = args.tree.resolve()
    setup_env()
    with tempfile.TemporaryDirectory(prefix="lr-tree-") as snapshot:
        label = str(args.tree)
        if args.rev:
            sha = subprocess.run(["git", "-C", str(args.tree), "rev-parse", "--verify", f"{args.rev}^{{commit}}"],
                                 capture_output=True, text=True, check=True).stdout.strip()
            archive = subprocess.run(["git", "-C", str(args.tree), "archive", sha], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", snapshot], input=archive.stdout, check=True)
            label = f"{args.tree} at {sha[:10]}"
            args.tree = Path(snapshot)
        return _run(args, label)


def _run(args: argparse.Namespace, label: str) -> int:
    started = time.perf_counter()
    wanted = {p.strip().lower() for p in args.projects.split(",") if p.strip()}
    cases = [c for c in load_manifest() if args.split in ("all", c.split)
             and (not wanted or c.project.lower() in wanted or c.project.split("/")[1].lower() in wanted)]
    if args.limit:
        per: dict[str, int] = defaultdict(int)
        kept = []
        for c in cases:
            per[c.project] += 1
            if per[c.project] <= args.limit:
                kept.append(c)
        cases = kept
    if not args.rev:
        head = subprocess.run(["git", "-C", str(args.tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(args.tree), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False).stdout.strip()
        label += f" (working tree on {head or '?'}{', with uncommitted changes' if dirty else ''})"
    print(f"# localreview history benchmark — {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"python {platform.python_version()}, {load_average()}; tree under test {label};"
          f" {'with' if args.with_index else 'without'} an index; {len(cases)} cases")
    results: list[Result] = []
    for k, c in enumerate(cases, 1):
        try:
            r = run_case(c, args)
        except (RuntimeError, subprocess.CalledProcessError, ValueError) as exc:
            r = Result(c, Judgement([], 0, 0.0), error=str(exc))
            print(f"  {k:>3}. {c.key} ({c.split}): FAILED {exc}", flush=True)
            results.append(r)
            continue
        results.append(r)
        s = r.scores[PLAN, 8192]
        print(f"  {k:>3}. {c.key} ({c.split}): {s.needed} needed, plan@8k covers {s.hit}, {s.tokens} tokens,"
              f" {r.plan_seconds[8192]:.1f} s", flush=True)
    by_project: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_project[r.case.project].append(r)
    for split in SPLITS:
        part = [r for r in results if r.case.split == split]
        if not part:
            continue
        print(f"\n## split {split}")
        for project, rs in by_project.items():
            report(f"{project} [{split}]", [r for r in rs if r.case.split == split])
        report(f"all projects [{split}]", part)
    failed = [r for r in results if r.error]
    if failed:
        print(f"\n{len(failed)} cases failed: " + ", ".join(r.case.key for r in failed))
    misses(results, args.misses)
    print(f"\nbenchmark wall time {time.perf_counter() - started:.0f} s; {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
