"""git diff → files and hunks, with the new-side line numbers that findings are anchored to.

``localreview diff ARGS`` reviews what ``git diff ARGS`` shows, with two deliberate
differences: no argument means *working tree against HEAD* (plain ``git diff`` compares
against the index, which would hide staged edits from the review), and ``MERGE^!`` reviews
a merge against its first parent (git would print a combined diff, which has no single
"new side" to anchor findings to).

git is run with explicit options so the user's configuration (``diff.noprefix``,
``color.ui=always``, ``diff.external``, ``diff.relative``, textconv drivers …) cannot
change the shape of the output we parse. File metadata comes from the NUL-separated raw
section (exact paths, modes, status), hunks from the patch section parsed by ``unidiff``.
No ``git.exc`` or ``unidiff`` exception leaves this module.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import git
from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as _PatchHunk
from unidiff.patch import PatchedFile, PatchSet

from reviewer.errors import BadInput, ConfigError, EnvironmentFailure, NotARepository, UnknownRevision

__all__ = [
    "DiffLine",
    "DiffSpec",
    "FileDiff",
    "Hunk",
    "collect_diff",
    "new_side_text",
    "open_repo",
    "parse_diff_args",
    "repo_root",
    "text_lines",
]

# Config that would change what git prints; -c beats every config file, so the user's
# settings cannot break parsing. quotepath=off keeps non-ASCII names readable in headers.
_CONFIG_OVERRIDES = (
    "core.quotepath=off",
    "diff.suppressBlankEmpty=false",
    "diff.mnemonicPrefix=false",
    "diff.noprefix=false",
    "color.ui=never",
    "color.diff=never",
)
_DIFF_OPTIONS = (
    "--patch-with-raw",  # one run gives both sections: no race with a changing working tree
    "-z",  # raw section: verbatim paths, NUL-terminated (the patch section is unaffected)
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",  # line numbers must be those of the file, not of a converted view
    "--no-relative",
    "--submodule=short",  # diff.submodule=log would print entries without a "diff --git" header
    "-M",
    "--unified=3",  # diff.context in the user's config must not change the hunks we budget
    "--src-prefix=a/",
    "--dst-prefix=b/",
)

_BINARY_SNIFF = 8000  # git's own heuristic: a NUL in the first 8000 bytes means binary
_ABSENT_MODE = "000000"
_UNREVIEWABLE_MODES = ("120000", "160000")  # symlink target, submodule commit: no file text

LineKind = Literal["+", "-", " "]
Status = Literal["added", "deleted", "modified", "renamed", "mode", "binary"]
_Base = Literal["rev", "merge-base", "first-parent"]
_KINDS: dict[str, LineKind] = {"+": "+", "-": "-", " ": " "}


@dataclass(frozen=True)
class DiffLine:
    kind: LineKind
    old_lineno: int | None
    new_lineno: int | None
    text: str  # without the line break and without a trailing CR


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str  # the section text after "@@ ... @@" (often the enclosing function)
    lines: tuple[DiffLine, ...]

    @property
    def added_lines(self) -> tuple[int, ...]:
        return tuple(ln.new_lineno for ln in self.lines if ln.kind == "+" and ln.new_lineno is not None)

    @property
    def new_range(self) -> tuple[int, int]:
        """1-based inclusive new-side span. git numbers a pure deletion by the line before
        it (0 at the top of the file); we clamp to 1 so the span always names a real line."""
        if self.new_len == 0:
            line = max(self.new_start, 1)
            return (line, line)
        return (self.new_start, self.new_start + self.new_len - 1)


@dataclass(frozen=True)
class FileDiff:
    path: str  # new-side path, repo-relative POSIX (the old path for a deleted file)
    old_path: str | None  # None for added files
    status: Status
    is_binary: bool
    hunks: tuple[Hunk, ...]
    old_mode: str | None
    new_mode: str | None

    @property
    def added_lines(self) -> tuple[int, ...]:
        return tuple(n for h in self.hunks for n in h.added_lines)

    @property
    def is_symlink(self) -> bool:
        return self.new_mode == "120000"

    @property
    def is_submodule(self) -> bool:
        return self.new_mode == "160000"


@dataclass(frozen=True)
class DiffSpec:
    args: tuple[str, ...]  # the git-diff arguments as the user gave them (normalised)
    paths: tuple[str, ...]  # pathspecs after --
    staged: bool
    description: str
    # How the two sides are derived; collect_diff resolves them against the repository.
    old_rev: str | None = None  # None: HEAD, or the empty tree while HEAD is unborn
    new_rev: str | None = None  # None: the index (staged) or the working tree
    base: _Base = "rev"


_USAGE_HINT = "use one of: REV, A..B, A...B, A B, REV^!, --staged [REV], --cached [REV], then -- PATHS"


def parse_diff_args(argv: Sequence[str]) -> DiffSpec:
    """Read ``git diff``-style arguments; reject anything this reviewer would misread."""
    staged = False
    revs: list[str] = []
    paths: tuple[str, ...] = ()
    for i, arg in enumerate(argv):
        if arg == "--":
            paths = tuple(argv[i + 1 :])
            break
        if arg in ("--staged", "--cached"):
            staged = True
        elif arg.startswith("-"):
            raise BadInput(f"unknown option {arg!r} for diff", hint=_USAGE_HINT)
        elif not arg.strip():
            raise BadInput("an empty revision was given", hint=_USAGE_HINT)
        else:
            revs.append(arg)
    if any(not p for p in paths):
        raise BadInput("an empty path was given after --", hint="name files or directories after --")

    args = (("--cached",) if staged else ()) + tuple(revs)
    old: str | None = None
    new: str | None = None
    base: _Base = "rev"
    if len(revs) > 2:
        raise BadInput(
            f"{len(revs)} revisions given; git would show a combined diff, which has no single new side",
            hint="review a merge commit against its first parent with MERGE^!",
        )
    if len(revs) == 2:
        if any(".." in r for r in revs):
            raise BadInput(f"cannot combine a range with another revision: {' '.join(revs)}",
                           hint=_USAGE_HINT)
        old, new = revs
        what = f"{new} against {old}"
    elif len(revs) == 1:
        rev = revs[0]
        parent = re.fullmatch(r"(.+)\^-(\d*)", rev)
        if "..." in rev:
            left, _, right = rev.partition("...")
            old, new, base = left or "HEAD", right or "HEAD", "merge-base"
            what = f"{new} against its merge base with {old}"
        elif ".." in rev:
            left, _, right = rev.partition("..")
            old, new = left or "HEAD", right or "HEAD"
            what = f"{new} against {old}"
        elif rev.endswith("^!") and len(rev) > 2:
            new, base = rev[:-2], "first-parent"
            what = f"commit {new} against its first parent"
        elif parent:
            new = parent.group(1)
            old = f"{new}^{parent.group(2) or '1'}"
            what = f"commit {new} against {old}"
        else:
            old = rev
            what = f"{'staged changes' if staged else 'working tree'} against {rev}"
    else:
        what = f"{'staged changes' if staged else 'working tree'} against HEAD"
    if staged and new is not None:
        raise BadInput(
            f"--staged compares the index with one revision, not with {' '.join(revs)}",
            hint="use `localreview diff --staged REV`, or drop --staged to compare two revisions",
        )
    if paths:
        what += f", limited to {', '.join(paths)}"
    return DiffSpec(args, paths, staged, what, old_rev=old, new_rev=new, base=base)


def open_repo(path: str | Path) -> git.Repo:
    """The repository containing ``path``, which must have a working tree."""
    where = Path(path)
    if not where.exists():
        raise NotARepository(f"{str(where)!r} does not exist", hint="give the path of a git checkout")
    try:
        repo = git.Repo(where, search_parent_directories=True)
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError) as exc:
        raise NotARepository(
            f"{str(where)!r} is not inside a git repository",
            hint="run localreview inside a git checkout, or create one with `git init`",
        ) from exc
    except git.exc.GitError as exc:
        raise _translate(exc, "open the repository") from exc
    except OSError as exc:
        raise BadInput(f"cannot read {str(where)!r}: {exc}", hint="check the path and its permissions") from exc
    if repo.bare or repo.working_tree_dir is None:
        raise BadInput(
            f"{str(where)!r} is a bare repository (or a .git directory): it has no working tree to review",
            hint=f"clone it first: `git clone {where} checkout && cd checkout`",
        )
    return repo


def repo_root(repo: git.Repo) -> Path:
    if repo.working_tree_dir is None:
        raise BadInput("the repository has no working tree", hint="run localreview inside a checkout")
    return Path(repo.working_tree_dir)


def collect_diff(repo: git.Repo, spec: DiffSpec, *, cwd: str | Path | None = None) -> tuple[FileDiff, ...]:
    """The files and hunks of the diff ``spec`` describes; () when nothing changed.

    ``cwd`` is the directory pathspecs are relative to, as for git itself (default: the
    repository root). Output paths are always relative to the root.
    """
    old, new = _resolve(repo, spec)
    argv = ["diff", *_DIFF_OPTIONS]
    if spec.staged:
        argv.append("--cached")
    argv.append(old)
    if new is not None:
        argv.append(new)
    argv += ["--", *spec.paths]
    out = _git(repo, argv, cwd=cwd)
    entries, patch = _split_raw(out)
    try:
        # Decode ourselves: diff bodies may be in any encoding; "replace" keeps every line
        # break (ASCII) in place, so line numbers survive. StringIO splits on "\n" only.
        patched = list(PatchSet(patch.decode("utf-8", errors="replace")))
    except (UnidiffParseError, ValueError) as exc:
        raise EnvironmentFailure(
            f"could not parse the output of git diff: {exc}",
            hint="run `git diff` with the same arguments to check it; report the output if it looks normal",
        ) from exc
    return _assemble(entries, patched)


def new_side_text(
    repo: git.Repo,
    spec: DiffSpec,
    path: str,
    *,
    cwd: str | Path | None = None,
    sides: tuple[str, str | None] | None = None,
) -> str | None:
    """Text of the new side of ``path`` (repo-relative): the working-tree file, the staged
    blob for --staged, or the blob in the newer commit. None when it does not exist there,
    is binary, or is a symlink or submodule (nothing to read as source)."""
    _, new = sides if sides is not None else _resolve(repo, spec)
    data: bytes | None
    if new is not None:
        data = _commit_blob(repo, new, path)
    elif spec.staged:
        data = _index_blob(repo, path)
    else:
        data = _worktree_file(repo_root(repo), path)
    if data is None or b"\0" in data[:_BINARY_SNIFF]:
        return None
    return data.decode("utf-8", errors="replace")


def text_lines(text: str) -> list[str]:
    """Lines numbered as git numbers them: split on "\\n" only, CR dropped. (str.splitlines
    also splits on form feeds, U+2028 and friends, which would shift every later line.)"""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


# ---------------------------------------------------------------- resolving revisions


def resolve_sides(repo: git.Repo, spec: DiffSpec) -> tuple[str, str | None]:
    """Check the revisions (UnknownRevision when one is missing) and name both sides once, so
    callers reading many files need not resolve the revisions again for each."""
    return _resolve(repo, spec)


def _resolve(repo: git.Repo, spec: DiffSpec) -> tuple[str, str | None]:
    """(old tree-ish, new commit or None for index/working tree), all as object names."""
    if spec.base == "first-parent":
        assert spec.new_rev is not None
        new = _verify(repo, spec.new_rev)
        if new in _shallow_commits(repo):
            raise UnknownRevision(
                f"the parent of '{spec.new_rev}' is not in this shallow clone",
                hint="fetch more history: `git fetch --deepen=50` (or `git fetch --unshallow`)",
            )
        parent = _verify(repo, f"{new}^1", quiet_name=f"{spec.new_rev}^1", missing_ok=True)
        # A root commit is reviewed against the empty tree: everything in it is new.
        return (parent or _empty_tree(repo), new)
    if spec.base == "merge-base":
        assert spec.old_rev is not None and spec.new_rev is not None
        old, new = _verify(repo, spec.old_rev), _verify(repo, spec.new_rev)
        found = _try_git(repo, ["merge-base", old, new])
        if found is None:
            shallow = _is_shallow(repo)
            raise UnknownRevision(
                f"'{spec.old_rev}' and '{spec.new_rev}' have no common ancestor"
                + (" in this shallow clone" if shallow else ""),
                hint="fetch more history: `git fetch --deepen=50` (or `git fetch --unshallow`)"
                if shallow
                else f"compare the two ends directly: `localreview diff {spec.old_rev}..{spec.new_rev}`",
            )
        return (found.decode().strip(), new)
    new_commit = _verify(repo, spec.new_rev) if spec.new_rev is not None else None
    if spec.old_rev is not None:
        return (_verify(repo, spec.old_rev), new_commit)
    # Implicit HEAD: while it is unborn (no commit yet) everything tracked is new, as git does for --cached.
    head = _verify(repo, "HEAD", missing_ok=True)
    return (head or _empty_tree(repo), new_commit)


def _verify(repo: git.Repo, rev: str, *, quiet_name: str | None = None, missing_ok: bool = False) -> str:
    """The commit ``rev`` names, checked before git diff runs so the error can say why."""
    out = _try_git(repo, ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"])
    if out is None:
        if missing_ok:
            return ""
        name = quiet_name or rev
        raise UnknownRevision(f"unknown revision '{name}'", hint=_unknown_rev_hint(repo, name))
    return out.decode().strip()


def _unknown_rev_hint(repo: git.Repo, rev: str) -> str:
    if _is_shallow(repo):
        return (
            f"this is a shallow clone and '{rev}' may lie beyond its history: "
            "run `git fetch --deepen=50` (or `git fetch --unshallow`) and retry"
        )
    if not repo.head.is_valid():
        return "the repository has no commits yet: stage your files and run `localreview diff --staged`"
    if (repo_root(repo) / rev).exists():
        return f"to review changes to a file, put it after --: `localreview diff -- {rev}`"
    return "check the name with `git log --oneline` or `git branch -a`; fetch it if only a remote has it"


def _is_shallow(repo: git.Repo) -> bool:
    out = _try_git(repo, ["rev-parse", "--is-shallow-repository"])
    return out is not None and out.strip() == b"true"


def _shallow_commits(repo: git.Repo) -> frozenset[str]:
    """Commits whose parents a shallow clone cut off: git reports them as parentless,
    and reviewing one against the empty tree would flag the whole repository as new."""
    out = _try_git(repo, ["rev-parse", "--git-path", "shallow"])
    if out is None:
        return frozenset()
    shallow = Path(out.decode().strip())
    if not shallow.is_absolute():
        shallow = repo_root(repo) / shallow
    try:
        return frozenset(shallow.read_text(encoding="ascii").split())
    except OSError:
        return frozenset()


def _empty_tree(repo: git.Repo) -> str:
    # Asked of git rather than hard-coded: SHA-256 repositories have a different empty tree.
    return _git(repo, ["hash-object", "-t", "tree", "--stdin"], stdin=subprocess.DEVNULL).decode().strip()


# ---------------------------------------------------------------- running git


def _git(
    repo: git.Repo, argv: Sequence[str], *, cwd: str | Path | None = None, stdin: int | None = None
) -> bytes:
    out = _try_git(repo, argv, cwd=cwd, stdin=stdin, expect_failure=False)
    assert out is not None
    return out


def _try_git(
    repo: git.Repo,
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    stdin: int | None = None,
    expect_failure: bool = True,
) -> bytes | None:
    """Run git; None when it fails and ``expect_failure`` (a query whose "no" is an exit code).
    Failures that no query expects (git missing, unsafe repository) are raised regardless."""
    overrides = [arg for item in _CONFIG_OVERRIDES for arg in ("-c", item)]
    runner = repo.git if cwd is None else git.Git(str(cwd))
    try:
        out = runner.execute(
            [runner.GIT_PYTHON_GIT_EXECUTABLE or "git", *overrides, *argv],
            istream=stdin,
            stdout_as_string=False,
            strip_newline_in_stdout=False,  # a stripped final "\n" would truncate the last diff line
        )
    except git.exc.GitError as exc:
        error = _translate(exc, f"run `git {argv[0]}`")
        if expect_failure and type(error) is BadInput:
            return None
        raise error from exc
    assert isinstance(out, bytes)
    return out


def _stderr_of(exc: git.exc.GitError) -> str:
    # gitpython stores stderr pre-formatted as "\n  stderr: '...'"; keep only git's words.
    text = str(getattr(exc, "stderr", "") or "")
    match = re.search(r"stderr: '(.*)'\s*$", text, re.DOTALL)
    return (match.group(1) if match else text).strip()


def _translate(exc: git.exc.GitError, doing: str) -> BadInput | EnvironmentFailure:
    if isinstance(exc, git.exc.GitCommandNotFound):
        return EnvironmentFailure("git is not installed or not on PATH", hint="install git and retry")
    stderr = _stderr_of(exc)
    detail = stderr or str(exc)
    if "dubious ownership" in stderr:
        return ConfigError(
            f"git refuses to work in this repository: {detail}",
            hint="if you trust it: `git config --global --add safe.directory <path>`",
        )
    if "not a git repository" in stderr:
        return NotARepository(f"not a git repository: {detail}", hint="run localreview inside a git checkout")
    if "outside repository" in stderr:
        return BadInput(detail, hint="paths after -- must lie inside the repository being reviewed")
    if isinstance(exc, git.exc.GitCommandError):
        # A failing git command here is almost always caused by what was asked of it
        # (a pathspec outside the repository, a missing object), so it is bad input.
        return BadInput(
            f"could not {doing}: {detail}",
            hint="check the revisions and paths; `git diff` with the same arguments shows the same error",
        )
    return EnvironmentFailure(f"could not {doing}: {detail}", hint="check that the repository is readable")


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _RawEntry:
    status: str  # one letter: A C D M R T U X
    old_mode: str
    new_mode: str
    old_path: str
    new_path: str


def _split_raw(out: bytes) -> tuple[list[_RawEntry], bytes]:
    """Split ``--patch-with-raw -z`` output into raw entries and the patch text.

    Raw records are ``:oldmode newmode oldsha newsha STATUS\\0path\\0[path2\\0]``; an empty
    field ends the raw section.
    """
    entries: list[_RawEntry] = []
    pos = 0
    while pos < len(out) and out[pos : pos + 1] == b":":
        end = out.index(b"\0", pos)
        fields = out[pos + 1 : end].decode("ascii").split()
        old_mode, new_mode, status = fields[0], fields[1], fields[4][:1]
        pos = end + 1
        paths = []
        for _ in range(2 if status in "RC" else 1):
            end = out.index(b"\0", pos)
            paths.append(os.fsdecode(out[pos:end]))
            pos = end + 1
        entries.append(_RawEntry(status, old_mode, new_mode, paths[0], paths[-1]))
    if out[pos : pos + 1] == b"\0":
        pos += 1
    return entries, out[pos:]


def _assemble(entries: Sequence[_RawEntry], patched: Sequence[PatchedFile]) -> tuple[FileDiff, ...]:
    """Pair raw entries with patch entries. Both come from the same git run, in the same
    order; an unmerged path has no patch entry, and a type change (file ↔ symlink) has
    two: the deletion of the old and the creation of the new."""
    files: list[FileDiff] = []
    i = 0
    for entry in entries:
        if entry.status == "U":
            continue
        if i >= len(patched):
            break
        parts = [patched[i]]
        i += 1
        if (
            entry.status == "T"
            and i < len(patched)
            and parts[0].is_removed_file
            and patched[i].is_added_file
        ):
            parts.append(patched[i])
            i += 1
        files.append(_file_diff(entry, parts))
    if i != len(patched) or len(files) != sum(1 for e in entries if e.status != "U"):
        raise EnvironmentFailure(
            "git diff printed a file list and a patch that do not match",
            hint="run `git diff` with the same arguments to check it; report it if it looks normal",
        )
    return tuple(files)


def _file_diff(entry: _RawEntry, parts: Iterable[PatchedFile]) -> FileDiff:
    parts = list(parts)
    hunks = tuple(_hunk(h) for p in parts for h in p)
    is_binary = any(p.is_binary_file for p in parts)
    old_mode = None if entry.old_mode == _ABSENT_MODE else entry.old_mode
    new_mode = None if entry.new_mode == _ABSENT_MODE else entry.new_mode
    status: Status
    if entry.status == "D":
        status = "deleted"
    elif is_binary:
        status = "binary"
    elif entry.status in "AC":
        status = "added"
    elif entry.status == "R":
        status = "renamed"
    elif not hunks and old_mode != new_mode:
        status = "mode"
    else:
        status = "modified"
    return FileDiff(
        path=entry.old_path if entry.status == "D" else entry.new_path,
        old_path=None if entry.status in "AC" else entry.old_path,
        status=status,
        is_binary=is_binary,
        hunks=hunks,
        old_mode=old_mode,
        new_mode=new_mode,
    )


def _hunk(h: _PatchHunk) -> Hunk:
    lines: list[DiffLine] = []
    for ln in h:
        kind = _KINDS.get(ln.line_type)
        if kind is None:
            continue  # "\ No newline at end of file" and blank separators are not file lines
        text = ln.value
        if text.endswith("\n"):
            text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
        lines.append(DiffLine(kind, ln.source_line_no, ln.target_line_no, text))
    return Hunk(
        old_start=h.source_start,
        old_len=h.source_length,
        new_start=h.target_start,
        new_len=h.target_length,
        header=h.section_header.rstrip("\r"),
        lines=tuple(lines),
    )


# ---------------------------------------------------------------- reading the new side


def _commit_blob(repo: git.Repo, commit: str, path: str) -> bytes | None:
    try:
        obj = repo.commit(commit).tree.join(path)
    except KeyError:
        return None  # not in that commit: the file was deleted
    except git.exc.GitError as exc:
        raise _translate(exc, f"read {path} at {commit}") from exc
    except ValueError as exc:  # gitpython's word for an object it cannot read
        raise EnvironmentFailure(f"could not read {path} at {commit}: {exc}", hint="run `git fsck`") from exc
    if obj.type != "blob" or f"{obj.mode:o}" in _UNREVIEWABLE_MODES:
        return None
    data: bytes = obj.data_stream.read()
    return data


def _index_blob(repo: git.Repo, path: str) -> bytes | None:
    # :(literal) so a name with glob characters matches only itself.
    out = _git(repo, ["ls-files", "--stage", "-z", "--", f":(literal){path}"])
    for record in out.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        if os.fsdecode(name) != path:
            continue
        mode, sha, stage = meta.decode("ascii").split()
        if stage != "0" or mode in _UNREVIEWABLE_MODES:
            return None  # a conflicted path has no single staged version
        return _git(repo, ["cat-file", "blob", sha])
    return None


def _worktree_file(root: Path, path: str) -> bytes | None:
    target = root / path
    if target.is_symlink() or not target.is_file():
        return None
    try:
        return target.read_bytes()
    except OSError:
        return None
