"""The cases of the vulnerable-diff benchmark: the manifest (``bench/vuln_cases.json``) and the throwaway
git repository each case is reviewed in.

A case is a real security fix taken from a project's history. Its repository is a bare git directory that
the search tool's ``fetch`` brought to ``/work/.mirror/<owner>+<name>/`` (``$LOCALREVIEW_BENCH_MIRROR``);
the code is read from there at run time and never enters this repository. The case repository holds the
FIXED version of the affected files and of their neighbours (the other files of the same directories, bounded)
as HEAD, and the VULNERABLE version of the affected files in the working tree: ``localreview diff`` then
shows the diff that brings the flaw back.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.common import GIT_IDENTITY

MANIFEST = Path(__file__).with_name("vuln_cases.json")
MIRROR = Path(os.environ.get("LOCALREVIEW_BENCH_MIRROR", "/work/.mirror"))
# Neighbours give the planner something to retrieve (callees, callers, siblings) without making a case
# repository a whole project: per directory of an affected file, the smallest files of its language first.
NEIGHBOURS_PER_DIR = 25
NEIGHBOUR_MAX_BYTES = 120_000
EXTENSIONS = {"python": (".py",), "javascript": (".js", ".mjs", ".cjs", ".ts"), "go": (".go",),
              "java": (".java",)}


@dataclass(frozen=True)
class Case:
    id: str
    split: str
    repo: str
    fix: str
    advisory: str | None
    language: str
    cls: str
    cwe: str
    files: tuple[str, ...]
    flaw: dict[str, tuple[tuple[int, int], ...]]
    note: str

    @property
    def vulnerable(self) -> str:
        return self.fix + "^"


def load_cases(path: Path = MANIFEST) -> list[Case]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for c in raw["cases"]:
        flaw = {p: tuple((int(a), int(b)) for a, b in ranges) for p, ranges in c["flaw"].items()}
        cases.append(Case(id=c["id"], split=c["split"], repo=c["repo"], fix=c["fix"], advisory=c.get("advisory"),
                          language=c["language"], cls=c["class"], cwe=c["cwe"], files=tuple(c["files"]),
                          flaw=flaw, note=c.get("note", "")))
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{path}: duplicate case ids")
    return cases


def git_dir(repo: str) -> Path | None:
    """The mirror's git directory of ``owner/name``, or None when it has not been fetched."""
    base = MIRROR / repo.replace("/", "+") / "repo"
    for d in (base / ".git", base):
        if (d / "HEAD").is_file():
            return d
    return None


def _git(gd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "--git-dir", str(gd), *args], capture_output=True, check=False)


def missing(case: Case) -> str | None:
    """Why the case cannot be built from the mirror (and what to fetch), or None."""
    gd = git_dir(case.repo)
    if gd is None:
        return f"no mirror of {case.repo}: fetch github:{case.repo} (search tool) into {MIRROR}"
    if _git(gd, "cat-file", "-e", case.fix + "^{commit}").returncode != 0:
        return f"the mirror of {case.repo} lacks commit {case.fix[:12]}: fetch github:{case.repo} again"
    return None


def blob(gd: Path, rev: str, path: str) -> bytes | None:
    out = _git(gd, "cat-file", "blob", f"{rev}:{path}")
    return out.stdout if out.returncode == 0 else None


def neighbours(gd: Path, case: Case) -> list[str]:
    """Other files of the affected files' directories at the fix, same language, smallest first, bounded."""
    exts = EXTENSIONS.get(case.language, ())
    chosen: list[str] = []
    for d in sorted({os.path.dirname(f) for f in case.files}):
        out = _git(gd, "ls-tree", "-l", case.fix, (d + "/") if d else ".")
        rows = []
        for line in out.stdout.decode("utf-8", "replace").splitlines():
            meta, _, path = line.partition("\t")
            kind, size = meta.split()[1], meta.split()[3]
            if kind != "blob" or not size.isdigit() or int(size) > NEIGHBOUR_MAX_BYTES:
                continue
            if path.endswith(exts) and path not in case.files:
                rows.append((int(size), path))
        chosen += [p for _, p in sorted(rows)[:NEIGHBOURS_PER_DIR]]
    return chosen


def _run(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True)


def build(case: Case, dest: Path) -> list[str]:
    """Make the case repository in ``dest`` (fixed version committed, vulnerable version in the working tree).
    Returns the warnings: flaw lines that the diff does not touch (a manifest error)."""
    gd = git_dir(case.repo)
    assert gd is not None
    dest.mkdir(parents=True, exist_ok=True)
    for path in [*case.files, *neighbours(gd, case)]:
        data = blob(gd, case.fix, path)
        if data is not None:
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            (dest / path).write_bytes(data)
    _run(dest, "init", "-q", "-b", "main")
    _run(dest, "add", "-A")
    _run(dest, "commit", "-q", "-m", f"{case.repo} at {case.fix[:12]} (fixed)")
    for path in case.files:
        data = blob(gd, case.vulnerable, path)
        target = dest / path
        if data is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return check_flaw_in_diff(case, dest)


def changed_lines(repo: Path) -> dict[str, set[int]]:
    """New-side lines the working-tree diff adds, and the new-side line at each pure removal."""
    out = subprocess.run(["git", "diff", "-U0", "--no-color", "--no-ext-diff"], cwd=repo, capture_output=True,
                         text=True, check=True).stdout
    lines: dict[str, set[int]] = {}
    path = ""
    for row in out.splitlines():
        if row.startswith("+++ "):
            path = row[6:] if row.startswith("+++ b/") else ""
        elif row.startswith("@@") and path:
            new = row.split()[2][1:]
            start, _, count = new.partition(",")
            n = int(count) if count else 1
            first = int(start)
            lines.setdefault(path, set()).update(range(first, first + n) if n else (max(first, 1),))
    return lines


def check_flaw_in_diff(case: Case, repo: Path) -> list[str]:
    changed = changed_lines(repo)
    warnings = []
    for path, ranges in case.flaw.items():
        for a, b in ranges:
            if not any(abs(line - c) <= 3 for line in range(a, b + 1) for c in changed.get(path, ())):
                warnings.append(f"{case.id}: flaw {path}:{a}-{b} is not on a changed line of the diff")
    return warnings
