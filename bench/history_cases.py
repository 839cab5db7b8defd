"""The cases of the history benchmark: real commits of public projects, and the throwaway
repositories they are replayed in.

The manifest (``bench/history_cases.json``) holds metadata only — project, commit SHA, split, the
source files the commit changes and how many lines it adds to them. The code is read at run time
from the bare mirrors the search tool's ``fetch`` leaves in ``/work/.mirror/<owner>+<name>/``
(env ``LOCALREVIEW_BENCH_MIRRORS``); none of it enters this repository.

A case is replayed so that ``localreview diff`` (working tree against HEAD) is the commit's diff:
the commit's parent is archived into a new repository and committed there, then the commit's
versions of the changed files are written over it (new files marked intent-to-add).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import GIT_IDENTITY

MANIFEST = Path(__file__).with_name("history_cases.json")
SPLITS = ("tune", "held_aside")
MIN_ADDED, MAX_ADDED = 5, 150
MAX_SOURCE_FILES = 4

# Never used here: the projects held out for the independent check (issues 9 and 10), kept as
# sha256 prefixes of "owner/name" so the benchmark refuses them without naming them.
EXCLUDED_DIGESTS = frozenset({
    "09ca40c617a3eaae",
    "11f3787dae23e1bf",
    "17ae4663750ab4d6",
    "225ba7e74cf1902c",
    "2869beca07619a28",
    "29b1b611fec79942",
    "2a565afbe547b318",
    "3459d543c3aced0c",
    "44dc357f3df7c951",
    "4bff2045fef5c834",
    "4db6a8e1248f6a64",
    "52366219abb69820",
    "531b9950bb62fb7f",
    "552a56d27cac6a60",
    "665f962388723f77",
    "7eaa32b1a3bdea3d",
    "a3d1696c5c902827",
    "b5b2ee822a612874",
    "b904288522da8a31",
    "e555025a6182ed2a",
    "e6b6c8dcc996c6d7",
    "ee89b4766f67f9b6",
    "ef3a8ec258a8dfd2",
})


def excluded(repo: str) -> bool:
    return hashlib.sha256(repo.lower().encode()).hexdigest()[:16] in EXCLUDED_DIGESTS


@dataclass(frozen=True)
class Project:
    repo: str  # owner/name on GitHub
    language: str  # "python" | "typescript"
    since: str  # the oldest commit date considered (older code: other layouts, Python 2)

    @property
    def key(self) -> str:
        return self.repo.split("/")[1]


PROJECTS = (
    Project("pallets/flask", "python", "2019-01-01"),
    Project("python-attrs/attrs", "python", "2019-01-01"),
    Project("marshmallow-code/marshmallow", "python", "2019-01-01"),
    Project("sindresorhus/ky", "typescript", "2019-01-01"),
)

_NOT_SOURCE_DIRS = frozenset({"test", "tests", "testing", "doc", "docs", "example", "examples", "scripts",
                              "benchmarks", "bench", "performance", ".github", "changelog.d"})
_TEST_FILE = re.compile(r"(^test_.*|.*_test\.py$|^conftest\.py$|^setup\.py$|^noxfile\.py$"
                        r"|.*\.(test|spec|test-d)\.tsx?$)")


def is_source(path: str, language: str) -> bool:
    """A file the selection counts: code of the project, not its tests, docs or examples."""
    parts = path.split("/")
    if any(p in _NOT_SOURCE_DIRS or "test" in p for p in parts[:-1]) or _TEST_FILE.match(parts[-1]):
        return False
    return is_code(path, language)


def is_code(path: str, language: str) -> bool:
    """A file in the project's language: source, or a test the plan reviews too."""
    if language == "python":
        return path.endswith(".py")
    return path.endswith((".ts", ".tsx")) and not path.endswith(".d.ts")


def split_of(sha: str) -> str:
    """Fixed before anything is measured: the parity of the SHA-256 of the commit id."""
    return SPLITS[hashlib.sha256(sha.encode()).digest()[0] % 2]


# --- mirrors ------------------------------------------------------------------------------------

def mirrors_root() -> Path:
    return Path(os.environ.get("LOCALREVIEW_BENCH_MIRRORS", "/work/.mirror"))


def git_dir(repo: str) -> Path:
    """The bare git directory of a fetched mirror, or a message saying how to fetch it."""
    base = mirrors_root() / repo.replace("/", "+")
    for cand in (base / "repo" / ".git", base / "repo", base):
        if (cand / "objects").is_dir() and (cand / "HEAD").is_file():
            return cand
    raise SystemExit(f"no mirror of {repo} in {mirrors_root()}: fetch it with the search tool's"
                     f" `fetch github:{repo}` (or set LOCALREVIEW_BENCH_MIRRORS)")


def gitd(gd: Path, *args: str) -> str:
    proc = subprocess.run(["git", f"--git-dir={gd}", *args], capture_output=True, text=True, check=True)
    return proc.stdout


# --- choosing commits ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    sha: str
    files: tuple[str, ...]  # the source files it changes
    added: int  # lines it adds to them


def candidates(project: Project) -> list[Candidate]:
    """Non-merge commits that modify 1–4 source files (no source file added, deleted or renamed)
    and add 5–150 lines to them; tests and docs may change too."""
    gd = git_dir(project.repo)
    out = gitd(gd, "log", "--no-merges", f"--since={project.since}", "--format=@%H %P",
               "--numstat", "--no-renames", "HEAD")
    status = gitd(gd, "log", "--no-merges", f"--since={project.since}", "--format=@%H",
                  "--name-status", "--no-renames", "HEAD")
    modified_only: dict[str, bool] = {}
    sha = ""
    for line in status.splitlines():
        if line.startswith("@"):
            sha = line[1:].strip()
            modified_only[sha] = True
        elif line.strip():
            code, _, path = line.partition("\t")
            if is_source(path, project.language) and code != "M":
                modified_only[sha] = False
    found: list[Candidate] = []
    files: list[str] = []
    sha, parents, added, binary = "", 0, 0, False

    def close() -> None:
        if sha and parents == 1 and not binary and modified_only.get(sha) and 1 <= len(files) <= MAX_SOURCE_FILES \
                and MIN_ADDED <= added <= MAX_ADDED:
            found.append(Candidate(sha, tuple(files), added))

    for line in out.splitlines():
        if line.startswith("@"):
            close()
            head = line[1:].split()
            sha, parents, files, added, binary = head[0], len(head) - 1, [], 0, False
        elif line.strip():
            plus, _, rest = line.partition("\t")
            _, _, path = rest.partition("\t")
            if is_source(path, project.language):
                if plus == "-":
                    binary = True
                else:
                    files.append(path)
                    added += int(plus)
    close()
    return found


def pick_order(cands: list[Candidate]) -> list[Candidate]:
    """A fixed, history-wide order: by the SHA-256 of the commit id (no look at the contents)."""
    return sorted(cands, key=lambda c: hashlib.sha256(("order:" + c.sha).encode()).hexdigest())


# --- the manifest ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    project: str  # owner/name
    language: str
    sha: str
    split: str
    files: tuple[str, ...]
    added: int

    @property
    def key(self) -> str:
        return f"{self.project.split('/')[1]}@{self.sha[:10]}"


def load_manifest(path: Path = MANIFEST) -> list[Case]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    cases = [Case(c["repo"], c["language"], c["sha"], c["split"], tuple(c["files"]), int(c["added"]))
             for c in data["cases"]]
    for c in cases:
        if excluded(c.project):
            raise SystemExit(f"{c.project} is excluded from this benchmark (held-out check)")
        if c.split != split_of(c.sha):
            raise SystemExit(f"{c.key}: split {c.split!r} is not the fixed one ({split_of(c.sha)!r})")
    return cases


def save_manifest(cases: list[Case], path: Path = MANIFEST) -> None:
    data = {
        "about": ("Commits of public projects replayed by bench/history_bench.py. Metadata only: the code is"
                  " read at run time from mirrors fetched with the search tool (github:<repo>)."
                  f" Selection: non-merge, modifies 1-{MAX_SOURCE_FILES} source files, adds"
                  f" {MIN_ADDED}-{MAX_ADDED} lines to them, at least one needed definition judged."
                  " split = parity of sha256(sha)."),
        "cases": [{"repo": c.project, "language": c.language, "sha": c.sha, "split": c.split,
                   "files": list(c.files), "added": c.added} for c in cases],
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


# --- replaying a case --------------------------------------------------------------------------------

@dataclass
class CaseRepo:
    root: Path
    tmp: Path
    changed: list[str]  # every path the commit changes (source, tests, docs)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _archive(gd: Path, rev: str, dest: Path) -> None:
    with tempfile.TemporaryFile() as buf:
        subprocess.run(["git", f"--git-dir={gd}", "archive", "--format=tar", rev], stdout=buf, check=True)
        buf.seek(0)
        with tarfile.open(fileobj=buf) as tf:
            tf.extractall(dest, filter="data")


def replay(case: Case, tmp_parent: Path | None = None) -> CaseRepo:
    """The commit's parent, committed in a new repository; the commit's changed files over it."""
    gd = git_dir(case.project)
    tmp = Path(tempfile.mkdtemp(prefix="lr-hist-", dir=tmp_parent))
    root = tmp / case.project.split("/")[1]
    root.mkdir()
    _archive(gd, f"{case.sha}^", root)
    run = ["git", *GIT_IDENTITY]
    subprocess.run([*run, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*run, "add", "-A", "-f"], cwd=root, check=True)
    subprocess.run([*run, "commit", "-q", "--no-verify", "-m", f"parent of {case.sha}"], cwd=root, check=True)
    changed: list[str] = []
    new: list[str] = []
    for line in gitd(gd, "diff-tree", "-r", "--no-renames", "--no-commit-id", "--name-status",
                     f"{case.sha}^", case.sha).splitlines():
        code, _, path = line.partition("\t")
        changed.append(path)
        target = root / path
        if code.startswith("D"):
            target.unlink(missing_ok=True)
            continue
        blob = subprocess.run(["git", f"--git-dir={gd}", "show", f"{case.sha}:{path}"],
                              capture_output=True, check=True).stdout
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
        if code.startswith("A"):
            new.append(path)
    if new:
        subprocess.run([*run, "add", "-N", "--", *new], cwd=root, check=True)
    return CaseRepo(root, tmp, changed)


def added_lines(root: Path, path: str) -> list[int]:
    """New-side line numbers the working tree adds to ``path`` (against HEAD)."""
    return [n for n, _ in hunk_lines(root, path, context=0)]


def hunk_lines(root: Path, path: str, context: int = 3) -> Iterator[tuple[int, bool]]:
    """(new-side line, is added) for every line of the diff's hunks, ``context`` lines around."""
    out = subprocess.run(["git", "diff", f"-U{context}", "--no-color", "HEAD", "--", path], cwd=root,
                         capture_output=True, text=True, check=True).stdout
    line = 0
    in_hunk = False
    for row in out.splitlines():
        if row.startswith("@@"):
            m = re.match(r"@@ -\S+ \+(\d+)", row)
            line = int(m.group(1)) if m else 0
            in_hunk = True
        elif not in_hunk or row.startswith("\\"):
            continue
        elif row.startswith("+"):
            yield line, True
            line += 1
        elif row.startswith(" "):
            yield line, False
            line += 1
