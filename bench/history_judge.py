"""Which definitions does a real commit's added code need? Decided by the language's own tooling,
independent of localreview's tree-sitter tables:

- Python: jedi. ``Script.goto(line, col, follow_imports=True)`` on every name token of the added
  lines of the changed code files (names, attributes, calls, annotations); a target counts when it
  is a function, class or property defined in a file of the repository.
- TypeScript: the TypeScript language service (``bench/ts_judge.js``, the ``typescript`` npm package
  installed into the bench cache at run time). ``getDefinitionAtPosition`` on every identifier of the
  added lines; a target counts when it is a function, class, method, accessor, interface, type alias,
  enum, or a module-level ``const`` holding a function, in a file of the repository.

Every needed definition has a *header* (the ``def``/``class`` line through the end of its signature,
decorators excluded) and a *span* (the whole definition). A definition whose header lies entirely in
the diff's own hunks (new side, 3 lines of context, as ``localreview diff`` shows it) is not needed
from the context: the diff shows it. Those are counted apart (``in_diff``).

``needed`` is what the added lines of the changed *source* files use (the files that selected the
commit). ``uses`` also holds what the added lines of its tests use: the plan reviews those hunks
too, and the context it sends for them is judged by them in the per-prompt score.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import os
import subprocess
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import bench_cache
from bench.history_cases import hunk_lines, is_code, is_source

TS_VERSION = os.environ.get("LOCALREVIEW_BENCH_TYPESCRIPT", "5.9.3")
JUDGE_VERSION = 4  # bump when the rules change: it keys the cache of judgements


@dataclass(frozen=True)
class Needed:
    name: str  # as used on the added line
    path: str
    start: int  # span, 1-based inclusive
    end: int
    head_start: int  # header
    head_end: int
    kind: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.start}-{self.end}"


@dataclass
class Judgement:
    needed: list[Needed]
    in_diff: int  # definitions the added lines use whose header the diff itself shows
    seconds: float
    # For scoring each prompt of a plan apart: (changed file, line of it, definition) for every
    # definition an added line uses, those the diff shows included.
    uses: list[tuple[str, int, Needed]] = field(default_factory=list)
    sources: frozenset[str] = frozenset()  # the changed source files (``needed`` is theirs)

    def needed_by(self, diff_lines: dict[str, list[list[int]]], *, tests: bool = True) -> list[Needed]:
        """What one prompt needs: the definitions used by the added lines inside its hunks
        (``diff_lines``: per file, the new-side spans of the batch's hunks) whose header those
        hunks do not show. A definition another prompt's hunks show is not seen by this one.
        ``tests``: the added lines of changed tests count too, else only the source files'."""
        def inside(path: str, line: int) -> bool:
            return any(a <= line <= b for a, b in diff_lines.get(path, ()))

        out: dict[tuple[str, int], Needed] = {}
        for frm, line, d in self.uses:
            if not tests and frm not in self.sources:
                continue
            if inside(frm, line) and not all(inside(d.path, n) for n in range(d.head_start, d.head_end + 1)):
                out.setdefault((d.path, d.start), d)
        return list(out.values())


def cached_judge(sha: str, root: Path, language: str, changed: list[str]) -> Judgement:
    """``judge``, kept in ``$LOCALREVIEW_BENCH_CACHE/history-judge/`` per commit and rule version."""
    path = bench_cache() / "history-judge" / f"{sha}-v{JUDGE_VERSION}.json"
    if path.is_file():
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    j = judge(root, language, changed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(j)), encoding="utf-8")
    return j


def judge(root: Path, language: str, changed: list[str]) -> Judgement:
    started = time.perf_counter()
    files = [p for p in changed if is_code(p, language) and (root / p).is_file()]
    sources = frozenset(p for p in files if is_source(p, language))
    shown: dict[str, set[int]] = {p: set() for p in files}
    added: dict[str, set[int]] = {p: set() for p in files}
    for p in changed:
        if (root / p).is_file():
            for n, is_added in hunk_lines(root, p):
                shown.setdefault(p, set()).add(n)
                if is_added and p in added:
                    added[p].add(n)
    found = _python(root, added, sources) if language == "python" else _typescript(root, added)
    keep: dict[tuple[str, int], Needed] = {}
    in_diff: set[tuple[str, int]] = set()
    for frm, _, d in found:
        if frm not in sources:
            continue
        if all(line in shown.get(d.path, ()) for line in range(d.head_start, d.head_end + 1)):
            in_diff.add((d.path, d.start))
        else:
            keep.setdefault((d.path, d.start), d)
    return Judgement(sorted(keep.values(), key=lambda n: (n.path, n.start)), len(in_diff),
                     time.perf_counter() - started, found, sources)


# --- Python: jedi ----------------------------------------------------------------------------------

def _python(root: Path, added: dict[str, set[int]], sources: frozenset[str]) -> list[tuple[str, int, Needed]]:
    import jedi

    project = jedi.Project(str(root))
    # A src layout keeps the package under src/: a test's ``import attr`` resolves only with it on
    # the path, as once the project is installed. Not for the source files: there jedi would take
    # the package's ``.pyi`` stubs and lose the definitions behind them.
    tests = jedi.Project(str(root), added_sys_path=[str(root / "src")]) if (root / "src").is_dir() else project
    trees: dict[str, ast.Module | None] = {}
    out: list[tuple[str, int, Needed]] = []
    for path, lines in added.items():
        if not lines:
            continue
        code = (root / path).read_text(encoding="utf-8", errors="replace")
        script = jedi.Script(code, path=str(root / path), project=project if path in sources else tests)
        for line, col, name in _py_names(code, lines):
            try:
                targets = script.goto(line, col, follow_imports=True)
            except Exception:  # jedi fails on odd corners of the grammar: that name is not judged
                continue
            for t in targets:
                n = _py_target(root, t, name, trees)
                if n is not None:
                    out.append((path, line, n))
    return out


def _py_names(code: str, lines: set[int]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    last = max(lines)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.start[0] > last:
                break
            if tok.type == tokenize.NAME and tok.start[0] in lines and not keyword.iskeyword(tok.string):
                out.append((tok.start[0], tok.start[1], tok.string))
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def _py_target(root: Path, t: Any, name: str, trees: dict[str, ast.Module | None]) -> Needed | None:
    if t.type not in ("function", "class", "property") or t.module_path is None or t.line is None:
        return None
    try:
        rel = Path(t.module_path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None  # the standard library, a third-party package: not the repository
    if rel.startswith(".venv/") or "/site-packages/" in rel or not rel.endswith((".py", ".pyi")):
        return None
    if rel not in trees:
        try:
            trees[rel] = ast.parse((root / rel).read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, OSError):
            trees[rel] = None
    tree = trees[rel]
    for node in ast.walk(tree) if tree else ():
        if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.lineno == t.line and node.name == t.name):
            end = node.end_lineno or node.lineno
            first_body = node.body[0].lineno if node.body else node.lineno
            head_end = max(node.lineno, first_body - 1) if first_body > node.lineno else node.lineno
            return Needed(name, rel, node.lineno, end, node.lineno, head_end, str(t.type))
    return None


# --- TypeScript: the language service -----------------------------------------------------------------

def typescript_dir() -> Path:
    """``typescript`` installed with npm into the bench cache (once; the ordinary client)."""
    prefix = bench_cache() / f"typescript-{TS_VERSION}"
    if not (prefix / "node_modules" / "typescript" / "package.json").is_file():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--silent",
                        f"typescript@{TS_VERSION}"], check=True, cwd=prefix)
    return prefix / "node_modules"


def _typescript(root: Path, added: dict[str, set[int]]) -> list[tuple[str, int, Needed]]:
    query = {"root": str(root), "files": {p: sorted(v) for p, v in added.items() if v}}
    if not query["files"]:
        return []
    env = {**os.environ, "NODE_PATH": str(typescript_dir())}
    proc = subprocess.run(["node", str(Path(__file__).with_name("ts_judge.js"))], input=json.dumps(query),
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench/ts_judge.js failed: {proc.stderr.strip()[-500:]}")
    return [(d["from"], int(d["line"]), Needed(d["name"], d["path"], d["start"], d["end"], d["head_start"],
                                               d["head_end"], d["kind"]))
            for d in json.loads(proc.stdout)]


def to_json(j: Judgement) -> dict[str, Any]:
    return {"needed": [n.__dict__ for n in j.needed], "in_diff": j.in_diff, "seconds": j.seconds,
            "uses": [[frm, line, n.__dict__] for frm, line, n in j.uses], "sources": sorted(j.sources)}


def from_json(data: dict[str, Any]) -> Judgement:
    return Judgement([Needed(**n) for n in data["needed"]], int(data["in_diff"]), float(data["seconds"]),
                     [(frm, int(line), Needed(**n)) for frm, line, n in data.get("uses", [])],
                     frozenset(data.get("sources", ())))
