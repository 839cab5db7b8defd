"""reviewer.diff against real git repositories.

The expected files and added line numbers are read independently from git's own
``--unified=0`` output (in which every new-side line of a hunk is an added line), so the
parser is checked against git rather than against itself.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from reviewer.diff.args import parse_diff_args
from reviewer.diff.blobs import new_side_text
from reviewer.diff.parse import collect_diff
from reviewer.diff.records import DiffSpec, FileDiff, text_lines
from reviewer.diff.revisions import open_repo, repo_root
from reviewer.errors import BadInput, NotARepository, UnknownRevision

# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config, and no GIT_DIR inherited from a hook running the tests."""
    home = tmp_path_factory.mktemp("diff-home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS"):
        monkeypatch.delenv(key, raising=False)


def git(cwd: Path, *args: str) -> str:
    return git_bytes(cwd, *args).decode("utf-8", errors="surrogateescape")


def git_bytes(cwd: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True)
    return proc.stdout


def lines(*items: str) -> bytes:
    return "".join(f"{item}\n" for item in items).encode()


def write(root: Path, rel: str, data: bytes | str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def init(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "core.autocrlf", "false")
    return root


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_U0 = ("-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "-M")


def expected_from_git(root: Path, git_args: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """{path: added new-side line numbers}, read from git's -U0 output by hand."""
    names = git_bytes(root, *_U0, "--name-only", "-z", *git_args).split(b"\0")
    result: dict[str, list[int]] = {n.decode(): [] for n in names if n}
    current: str | None = None
    for raw in git(root, *_U0, "--unified=0", *git_args).split("\n"):
        if raw.startswith("+++ "):
            name = raw[4:].rstrip("\t")  # git appends a tab to names with spaces
            current = None if name == "/dev/null" else name[2:]
        elif raw.startswith("diff --git "):
            current = None
        elif (match := _HUNK.match(raw)) and current is not None:
            start, count = int(match.group(1)), int(match.group(2) or "1")
            result[current].extend(range(start, start + count))
    return {path: tuple(sorted(nums)) for path, nums in result.items()}


def ours(root: Path, argv: Sequence[str]) -> dict[str, tuple[int, ...]]:
    files = collect_diff(open_repo(root), parse_diff_args(argv))
    return {f.path: f.added_lines for f in files}


def by_path(files: Sequence[FileDiff]) -> dict[str, FileDiff]:
    return {f.path: f for f in files}


def old_text(root: Path, rev: str, path: str) -> list[str]:
    return text_lines(git_bytes(root, "show", f"{rev}:{path}").decode("utf-8", errors="replace"))


# ---------------------------------------------------------------- the shared history

SPACED = "dir with space/naïve file.py"


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """main: c1 → c2 → c3, a feature branch from c1, and work in the index and working tree."""
    root = init(tmp_path / "repo")
    write(root, "a.py", lines(*(f"a{i}" for i in range(1, 11))))
    write(root, "b.txt", lines(*(f"b{i}" for i in range(1, 6))))
    write(root, "old_name.py", lines(*(f"def f{i}(): return {i}" for i in range(1, 21))))
    write(root, "gone.txt", lines("bye", "now"))
    write(root, "run.sh", lines("#!/bin/sh", "echo hi"))
    write(root, SPACED, lines("x = 1", "y = 2"))
    commit(root, "c1")

    git(root, "checkout", "-q", "-b", "feature")
    write(root, "b.txt", lines("b1", "b2", "B3", "b4", "b5", "b6"))
    write(root, "feat.py", lines("feature = True"))
    commit(root, "feature")
    git(root, "checkout", "-q", "main")

    write(root, "a.py", lines("a1", "A2", "a3", "a4", "a5", "a6", "a7", "inserted", "a8", "a9", "a10"))
    write(root, "new.py", lines("print('new')", "print('file')"))
    commit(root, "c2")

    git(root, "mv", "old_name.py", "new_name.py")
    renamed = [f"def f{i}(): return {i}" for i in range(1, 21)]
    renamed[4] = "def f5(): return 555"
    write(root, "new_name.py", lines(*renamed))
    (root / "gone.txt").unlink()
    (root / "run.sh").chmod(0o755)
    write(root, SPACED, lines("x = 1", "y = 2", "z = 3"))
    commit(root, "c3")

    write(root, "b.txt", lines("B1", "b2", "b3", "b4", "b5"))
    write(root, "staged.py", lines("s = 1", "t = 2"))
    git(root, "add", "b.txt", "staged.py")
    write(root, "a.py", lines("a1", "A2", "a3", "a4", "a5", "a6", "a7", "inserted", "a8", "a9", "a10", "a11"))
    write(root, "untracked.py", lines("never reviewed"))
    return root


# Each of our forms, and the git arguments that must show the same thing.
FORMS: list[tuple[list[str], list[str]]] = [
    ([], ["HEAD"]),  # our contract: no argument is the working tree against HEAD
    (["HEAD~1"], ["HEAD~1"]),
    (["HEAD~2..HEAD"], ["HEAD~2..HEAD"]),
    (["HEAD~2", "HEAD"], ["HEAD~2", "HEAD"]),
    (["feature..main"], ["feature..main"]),
    (["feature...main"], ["feature...main"]),
    (["main...feature"], ["main...feature"]),
    (["--staged"], ["--staged"]),
    (["--cached"], ["--cached"]),
    (["--staged", "HEAD~2"], ["--staged", "HEAD~2"]),
    (["HEAD^!"], ["HEAD^1", "HEAD"]),
    (["HEAD~1^-"], ["HEAD~2", "HEAD~1"]),
    (["--", "a.py"], ["HEAD", "--", "a.py"]),
    (["--staged", "--", "b.txt"], ["--staged", "--", "b.txt"]),
    (["HEAD~2..HEAD", "--", "dir with space"], ["HEAD~2..HEAD", "--", "dir with space"]),
    (["HEAD~2", "--", "*.py"], ["HEAD~2", "--", "*.py"]),
    (["feature...main", "--", "a.py", "new.py"], ["feature...main", "--", "a.py", "new.py"]),
]


@pytest.mark.parametrize(("argv", "git_args"), FORMS, ids=[" ".join(f[0]) or "(none)" for f in FORMS])
def test_every_form_matches_git(history: Path, argv: list[str], git_args: list[str]) -> None:
    expected = expected_from_git(history, git_args)
    assert expected, "each form must show some change, or the comparison proves nothing"
    assert ours(history, argv) == expected


@pytest.mark.parametrize(("argv", "old_rev"), [
    ([], "HEAD"),
    (["HEAD~2"], "HEAD~2"),
    (["--staged"], "HEAD"),
    (["HEAD~2..HEAD"], "HEAD~2"),
    (["feature...main"], "MERGE-BASE"),
    (["HEAD^!"], "HEAD~1"),
])
def test_line_numbers_point_at_the_right_text(history: Path, argv: list[str], old_rev: str) -> None:
    """Every context/added line is the new file's line at new_lineno, and every
    context/removed line is the old file's line at old_lineno."""
    if old_rev == "MERGE-BASE":
        old_rev = git(history, "merge-base", "feature", "main").strip()
    repo, spec = open_repo(history), parse_diff_args(argv)
    checked = 0
    for f in collect_diff(repo, spec):
        new_text = new_side_text(repo, spec, f.path)
        new_lines = text_lines(new_text) if new_text is not None else []
        old_lines = old_text(history, old_rev, f.old_path) if f.old_path else []
        for hunk in f.hunks:
            for ln in hunk.lines:
                if ln.new_lineno is not None:
                    assert new_lines[ln.new_lineno - 1] == ln.text, (f.path, ln)
                if ln.old_lineno is not None:
                    assert old_lines[ln.old_lineno - 1] == ln.text, (f.path, ln)
                checked += 1
    assert checked > 0


def test_two_dots_and_three_dots_differ(history: Path) -> None:
    two, three = ours(history, ["feature..main"]), ours(history, ["feature...main"])
    # feature..main also undoes the branch's own work; feature...main shows only main's.
    assert "feat.py" in two and "feat.py" not in three
    assert "b.txt" in two and "b.txt" not in three


def test_no_argument_includes_staged_and_unstaged_but_not_untracked(history: Path) -> None:
    files = by_path(collect_diff(open_repo(history), parse_diff_args([])))
    assert files["a.py"].added_lines == (12,)  # unstaged
    assert files["b.txt"].added_lines == (1,)  # staged
    assert files["staged.py"].status == "added"
    assert "untracked.py" not in files


def test_statuses_of_a_commit(history: Path) -> None:
    files = by_path(collect_diff(open_repo(history), parse_diff_args(["HEAD~1..HEAD"])))
    renamed = files["new_name.py"]
    assert (renamed.status, renamed.old_path, renamed.added_lines) == ("renamed", "old_name.py", (5,))
    gone = files["gone.txt"]
    assert (gone.status, gone.old_path, gone.new_mode, gone.added_lines) == ("deleted", "gone.txt", None, ())
    assert [ln.kind for h in gone.hunks for ln in h.lines] == ["-", "-"]
    assert gone.hunks[0].new_range == (1, 1)  # git says +0,0: clamped to a real line
    mode = files["run.sh"]
    assert (mode.status, mode.old_mode, mode.new_mode, mode.hunks) == ("mode", "100644", "100755", ())
    assert files[SPACED].status == "modified"
    assert files[SPACED].hunks[0].new_range == (1, 3)

    added = by_path(collect_diff(open_repo(history), parse_diff_args(["HEAD~2..HEAD~1"])))["new.py"]
    assert (added.status, added.old_path, added.old_mode, added.new_mode) == ("added", None, None, "100644")
    assert added.added_lines == (1, 2)


def test_pure_rename_has_no_hunks(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    write(root, "one.py", lines(*(f"line {i}" for i in range(30))))
    commit(root, "c1")
    git(root, "mv", "one.py", "two.py")
    commit(root, "c2")
    (f,) = collect_diff(open_repo(root), parse_diff_args(["HEAD~1..HEAD"]))
    assert (f.path, f.old_path, f.status, f.hunks) == ("two.py", "one.py", "renamed", ())


def test_binary_files(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    write(root, "img.bin", b"\x89PNG\0\0\x01")
    write(root, "t.py", lines("a"))
    commit(root, "c1")
    write(root, "img.bin", b"\x89PNG\0\0\x02")
    write(root, "new.bin", b"\0\1\2")
    commit(root, "c2")
    repo, spec = open_repo(root), parse_diff_args(["HEAD~1..HEAD"])
    files = by_path(collect_diff(repo, spec))
    assert set(files) == set(expected_from_git(root, ["HEAD~1..HEAD"])) == {"img.bin", "new.bin"}
    for f in files.values():
        assert f.is_binary and f.status == "binary" and f.hunks == ()
    assert files["new.bin"].old_path is None
    assert new_side_text(repo, spec, "img.bin") is None


def test_merge_commit_is_reviewed_against_its_first_parent(history: Path) -> None:
    git(history, "stash", "-q", "--include-untracked")
    first_parent = git(history, "rev-parse", "HEAD").strip()
    git(history, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    expected = expected_from_git(history, [first_parent, "HEAD"])
    assert set(expected) == {"b.txt", "feat.py"}
    assert ours(history, ["HEAD^!"]) == expected
    assert ours(history, [f"{first_parent}..HEAD"]) == expected
    assert ours(history, ["HEAD^-1"]) == expected
    # Against the second parent it is main's side that arrives.
    assert "new.py" in ours(history, ["HEAD^-2"])


def test_root_commit_is_reviewed_against_the_empty_tree(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    write(root, "a.py", lines("x", "y"))
    commit(root, "root")
    files = collect_diff(open_repo(root), parse_diff_args(["HEAD^!"]))
    assert [(f.path, f.status, f.added_lines) for f in files] == [("a.py", "added", (1, 2))]


def test_crlf_lines_lose_their_cr(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    write(root, "win.py", b"one\r\ntwo\r\nthree\r\n")
    commit(root, "c1")
    write(root, "win.py", b"one\r\nTWO\r\nthree\r\nfour\r\n")
    (f,) = collect_diff(open_repo(root), parse_diff_args([]))
    assert f.added_lines == expected_from_git(root, ["HEAD"])["win.py"] == (2, 4)
    texts = [ln.text for h in f.hunks for ln in h.lines]
    assert texts == ["one", "two", "TWO", "three", "four"]
    assert not any("\r" in t for t in texts)


def test_latin1_text_does_not_crash(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    write(root, "legacy.txt", "café\nna\xefve\n".encode("latin-1"))
    commit(root, "c1")
    write(root, "legacy.txt", "café\nna\xefve\nd\xe9j\xe0\n".encode("latin-1"))
    repo, spec = open_repo(root), parse_diff_args([])
    (f,) = collect_diff(repo, spec)
    assert f.added_lines == expected_from_git(root, ["HEAD"])["legacy.txt"] == (3,)
    added = [ln.text for h in f.hunks for ln in h.lines if ln.kind == "+"]
    assert added == ["d\ufffdj\ufffd"]
    text = new_side_text(repo, spec, "legacy.txt")
    assert text is not None and text_lines(text)[2] == "d\ufffdj\ufffd"


def test_awkward_file_names(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    names = ["sp ace.py", "naïve/ünïcode.py", "tab\tname.py", 'quo"te.py', "back\\slash.py"]
    for name in names:
        write(root, name, lines("one"))
    commit(root, "c1")
    for name in names:
        write(root, name, lines("one", "two"))
    repo, spec = open_repo(root), parse_diff_args([])
    files = by_path(collect_diff(repo, spec))
    assert set(files) == set(names)
    assert all(f.added_lines == (2,) for f in files.values())
    assert all(new_side_text(repo, spec, name) == "one\ntwo\n" for name in names)
    # Names git would not quote are also checked against git's own reading.
    plain = ["sp ace.py", "naïve/ünïcode.py"]
    assert ours(root, ["--", *plain]) == expected_from_git(root, ["HEAD", "--", *plain])


def test_type_change_to_symlink(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    write(root, "target.py", lines("t"))
    write(root, "link.py", lines("was a file"))
    commit(root, "c1")
    (root / "link.py").unlink()
    (root / "link.py").symlink_to("target.py")
    repo, spec = open_repo(root), parse_diff_args([])
    (f,) = collect_diff(repo, spec)
    assert (f.path, f.status, f.old_mode, f.new_mode, f.is_symlink) == (
        "link.py", "modified", "100644", "120000", True)
    assert [ln.kind for h in f.hunks for ln in h.lines] == ["-", "+"]
    assert new_side_text(repo, spec, "link.py") is None


# ---------------------------------------------------------------- errors


def test_unknown_revision(history: Path) -> None:
    repo = open_repo(history)
    for argv in (["nope"], ["HEAD..nope"], ["nope...HEAD"], ["--staged", "nope"], ["nope^!"]):
        with pytest.raises(UnknownRevision) as info:
            collect_diff(repo, parse_diff_args(argv))
        assert "unknown revision 'nope" in info.value.message
        assert info.value.exit_code == 2
        assert info.value.hint and "git log" in info.value.hint


def test_file_name_given_as_revision_suggests_double_dash(history: Path) -> None:
    with pytest.raises(UnknownRevision) as info:
        collect_diff(open_repo(history), parse_diff_args(["a.py"]))
    assert info.value.hint is not None and "-- a.py" in info.value.hint


def test_shallow_clone_missing_the_revision(history: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{history}", str(clone)],
                   check=True, capture_output=True)
    repo = open_repo(clone)
    for argv in (["HEAD~1"], ["HEAD^!"]):  # HEAD^! must not turn into "everything is new"
        with pytest.raises(UnknownRevision) as info:
            collect_diff(repo, parse_diff_args(argv))
        hint = info.value.hint or ""
        assert "--deepen" in hint and "--unshallow" in hint
    assert collect_diff(repo, parse_diff_args([])) == ()  # what it has still works


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NotARepository) as info:
        open_repo(plain)
    assert info.value.exit_code == 2 and info.value.hint
    with pytest.raises(NotARepository):
        open_repo(tmp_path / "missing")


def test_bare_repository(history: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(history), str(bare)], check=True, capture_output=True)
    with pytest.raises(BadInput) as info:
        open_repo(bare)
    assert "bare" in info.value.message and info.value.exit_code == 2


def test_empty_repository(tmp_path: Path) -> None:
    root = init(tmp_path / "empty")
    repo = open_repo(root)
    assert collect_diff(repo, parse_diff_args(["--staged"])) == ()
    write(root, "first.py", lines("a", "b", "c"))
    git(root, "add", "first.py")
    (f,) = collect_diff(repo, parse_diff_args(["--staged"]))
    assert (f.path, f.status, f.added_lines) == ("first.py", "added", (1, 2, 3))
    assert f.added_lines == expected_from_git(root, ["--staged"])["first.py"]
    assert new_side_text(repo, parse_diff_args(["--staged"]), "first.py") == "a\nb\nc\n"
    assert [g.path for g in collect_diff(repo, parse_diff_args([]))] == ["first.py"]
    with pytest.raises(UnknownRevision) as info:
        collect_diff(repo, parse_diff_args(["HEAD"]))
    assert info.value.hint is not None and "--staged" in info.value.hint


def test_empty_diff_is_not_an_error(tmp_path: Path) -> None:
    root = init(tmp_path / "r")
    write(root, "a.py", lines("a"))
    commit(root, "c1")
    repo = open_repo(root)
    for argv in ([], ["--staged"], ["HEAD"], ["HEAD..HEAD"], ["--", "missing.py"]):
        assert collect_diff(repo, parse_diff_args(argv)) == ()


def test_pathspec_outside_the_repository_is_bad_input(history: Path) -> None:
    with pytest.raises(BadInput) as info:
        collect_diff(open_repo(history), parse_diff_args(["--", "../elsewhere"]))
    assert info.value.exit_code == 2 and "outside" in info.value.message


# ---------------------------------------------------------------- robustness


def test_hostile_user_config_does_not_change_the_result(history: Path) -> None:
    forms = [([], ["HEAD"]), (["HEAD~2..HEAD"], ["HEAD~2..HEAD"]), (["--staged"], ["--staged"])]
    expected = [expected_from_git(history, g) for _, g in forms]
    write(history, ".gitattributes", "*.py diff=shout\n")
    git(history, "add", ".gitattributes")
    for key, value in {
        "diff.noprefix": "true",
        "diff.mnemonicPrefix": "true",
        "color.ui": "always",
        "color.diff": "always",
        "diff.external": "false",
        "diff.context": "0",
        "diff.relative": "true",
        "diff.suppressBlankEmpty": "true",
        "diff.submodule": "log",
        "diff.renames": "false",
        "core.quotepath": "true",
        "diff.shout.textconv": "tr a-z A-Z",
    }.items():
        git(history, "config", key, value)
    for (argv, _), want in zip(forms, expected, strict=True):
        got = ours(history, argv)
        got.pop(".gitattributes", None)
        assert got == want
    files = by_path(collect_diff(open_repo(history), parse_diff_args(["HEAD~1..HEAD"])))
    assert files["new_name.py"].status == "renamed"  # -M is explicit
    assert files[SPACED].hunks[0].lines[0].text == "x = 1"  # no textconv, three lines of context


def test_pathspecs_are_relative_to_cwd(history: Path) -> None:
    write(history, "sub/a.py", lines("inner"))
    write(history, "sub/deeper/x.py", lines("deep"))
    git(history, "add", "sub")
    spec = parse_diff_args(["--", "a.py"])
    assert [f.path for f in collect_diff(open_repo(history), spec, cwd=history / "sub")] == ["sub/a.py"]
    assert [f.path for f in collect_diff(open_repo(history), spec)] == ["a.py"]


def test_open_repo_from_a_subdirectory(history: Path) -> None:
    (history / "deep" / "er").mkdir(parents=True)
    assert repo_root(open_repo(history / "deep" / "er")) == repo_root(open_repo(history))


def test_new_side_text_per_form(history: Path) -> None:
    repo = open_repo(history)
    assert new_side_text(repo, parse_diff_args([]), "a.py") == lines(
        "a1", "A2", "a3", "a4", "a5", "a6", "a7", "inserted", "a8", "a9", "a10", "a11").decode()
    staged = parse_diff_args(["--staged"])
    write(history, "b.txt", "worktree only\n")
    assert new_side_text(repo, staged, "b.txt") == lines("B1", "b2", "b3", "b4", "b5").decode()
    assert new_side_text(repo, parse_diff_args(["HEAD~2..HEAD~1"]), "new_name.py") is None
    assert new_side_text(repo, parse_diff_args(["main...feature"]), "feat.py") == "feature = True\n"
    assert new_side_text(repo, parse_diff_args(["HEAD~1..HEAD"]), "gone.txt") is None  # deleted
    assert new_side_text(repo, parse_diff_args([]), "gone.txt") is None


# ---------------------------------------------------------------- arguments and small parts


def test_parse_diff_args_forms() -> None:
    spec = parse_diff_args(["--cached", "HEAD~1", "--", "src", "a b.py"])
    assert spec == DiffSpec(("--cached", "HEAD~1"), ("src", "a b.py"), True,
                            "staged changes against HEAD~1, limited to src, a b.py", old_rev="HEAD~1")
    assert parse_diff_args([]).description == "working tree against HEAD"
    assert parse_diff_args(["HEAD~1"]).description == "working tree against HEAD~1"
    three = parse_diff_args(["a..."])
    assert (three.old_rev, three.new_rev, three.base) == ("a", "HEAD", "merge-base")
    two = parse_diff_args(["..b"])
    assert (two.old_rev, two.new_rev, two.base) == ("HEAD", "b", "rev")
    merge = parse_diff_args(["M^!"])
    assert (merge.new_rev, merge.base, merge.description) == ("M", "first-parent",
                                                             "commit M against its first parent")
    assert parse_diff_args(["--", "--staged"]).paths == ("--staged",)  # after --, only paths


@pytest.mark.parametrize("argv", [
    ["--stat"], ["-w"], ["-R", "HEAD"], ["a", "b", "c"], ["--staged", "a..b"], ["--staged", "a", "b"],
    ["a..b", "c"], [""], ["--", ""], ["--staged", "HEAD^!"],
])
def test_parse_diff_args_rejects(argv: list[str]) -> None:
    with pytest.raises(BadInput) as info:
        parse_diff_args(argv)
    assert info.value.exit_code == 2 and info.value.hint


def test_text_lines_splits_like_git() -> None:
    assert text_lines("a\r\nb\x0cc\u2028d\nlast") == ["a", "b\x0cc\u2028d", "last"]
    assert text_lines("one\n") == ["one"]
    assert text_lines("") == []
