"""Opening the repository and resolving the two sides of a diff to object names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git

from reviewer.diff.records import DiffSpec
from reviewer.errors import BadInput, NotARepository, UnknownRevision
from reviewer.git import run_git, translate_error, try_git


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
        raise translate_error(exc, "open the repository") from exc
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
        found = try_git(repo, ["merge-base", old, new])
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
    out = try_git(repo, ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"])
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
    out = try_git(repo, ["rev-parse", "--is-shallow-repository"])
    return out is not None and out.strip() == b"true"


def _shallow_commits(repo: git.Repo) -> frozenset[str]:
    """Commits whose parents a shallow clone cut off: git reports them as parentless,
    and reviewing one against the empty tree would flag the whole repository as new."""
    out = try_git(repo, ["rev-parse", "--git-path", "shallow"])
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
    return run_git(repo, ["hash-object", "-t", "tree", "--stdin"], stdin=subprocess.DEVNULL).decode().strip()
