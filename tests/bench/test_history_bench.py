"""The history benchmark's machinery on a small real repository: choosing commits, replaying one
so the working tree is its diff, judging what it needs, scoring the plan of the real CLI."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import pytest

from bench.history_baselines import Item
from bench.history_bench import header_hit, plan_room, run_case, score
from bench.history_cases import Case, Project, candidates, is_source, replay, split_of
from bench.history_judge import Judgement, Needed, judge
from tests.conftest import git, make_repo, write_files

UTIL = '''"""Helpers."""


def helper(value):
    """Double it."""
    return value * 2


class Thing:
    """A thing."""

    def __init__(self, size):
        self.size = size

    def grow(self, by):
        return Thing(self.size + by)


def spare():
    return 0
'''

APP_BEFORE = '''from pkg.util import Thing, helper


def run(x):
    return x
'''

APP_AFTER = '''from pkg.util import Thing, helper


def run(x):
    doubled = helper(x)
    thing = Thing(doubled)
    bigger = thing.grow(1)
    total = bigger.size + doubled
    return total
'''


TEST_APP = "from pkg.util import spare\n\n\ndef test_run():\n    assert spare() == 0\n"


@pytest.fixture()
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A project with two commits, cloned bare where the bench looks for fetched mirrors."""
    work = make_repo(tmp_path / "work", {"pkg/__init__.py": "", "pkg/util.py": UTIL, "pkg/app.py": APP_BEFORE,
                                         "README.md": "# demo\n"})
    write_files(work, {"pkg/app.py": APP_AFTER, "tests/test_app.py": TEST_APP,
                       "README.md": "# demo\n\nruns things\n"})
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "run: double, grow and add")
    sha = git(work, "rev-parse", "HEAD").strip()
    mirrors = tmp_path / "mirrors"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirrors / "demo+proj")], check=True)
    monkeypatch.setenv("LOCALREVIEW_BENCH_MIRRORS", str(mirrors))
    return "demo/proj", sha


def test_a_commit_is_chosen_by_its_source_files_only(mirror: tuple[str, str]) -> None:
    repo, sha = mirror
    found = candidates(Project(repo, "python", "2000-01-01"))
    assert [(c.sha, c.files, c.added) for c in found] == [(sha, ("pkg/app.py",), 5)]
    assert is_source("src/pkg/mod.py", "python") and not is_source("tests/test_mod.py", "python")
    assert not is_source("typing_tests/x.py", "python") and not is_source("index.test-d.ts", "typescript")
    assert split_of(sha) in ("tune", "held_aside") and split_of(sha) == split_of(sha)


def test_replay_makes_the_working_tree_the_commits_diff_and_jedi_judges_it(mirror: tuple[str, str]) -> None:
    repo, sha = mirror
    case = Case(repo, "python", sha, split_of(sha), ("pkg/app.py",), 5)
    replayed = replay(case)
    try:
        assert sorted(replayed.changed) == ["README.md", "pkg/app.py", "tests/test_app.py"]
        assert git(replayed.root, "rev-list", "--count", "HEAD").strip() == "1"
        diff = git(replayed.root, "diff", "HEAD", "--stat")
        assert "pkg/app.py" in diff and "tests/test_app.py" in diff and "README.md" in diff
        verdict = judge(replayed.root, "python", replayed.changed)
    finally:
        replayed.cleanup()
    got = {(n.name, n.path, n.head_start, n.head_end, n.start, n.end, n.kind) for n in verdict.needed}
    assert got == {
        ("helper", "pkg/util.py", 4, 4, 4, 6, "function"),
        ("Thing", "pkg/util.py", 9, 9, 9, 16, "class"),
        ("grow", "pkg/util.py", 15, 15, 15, 16, "function"),  # a method reached through an attribute
    }
    # The test's use is judged too, for the "+ tests" row only: ``needed`` is the source files'.
    assert verdict.sources == {"pkg/app.py"}
    assert ("tests/test_app.py", 5, "spare") in {(frm, line, d.name) for frm, line, d in verdict.uses}
    lines = {"pkg/app.py": [[1, 12]], "tests/test_app.py": [[1, 5]]}
    assert {d.name for d in verdict.needed_by(lines)} == {"helper", "Thing", "grow", "spare"}
    assert {d.name for d in verdict.needed_by({"tests/test_app.py": [[1, 5]]})} == {"spare"}
    assert verdict.needed_by({"tests/test_app.py": [[1, 5]]}, tests=False) == []


def test_scoring_counts_the_header_and_the_tokens_that_cover_it() -> None:
    n = Needed("Thing", "pkg/util.py", 9, 17, 9, 9, "class")
    body_only = Item("pkg/util.py", 12, 17, 50)
    header = Item("pkg/util.py", 9, 10, 30, form="skeleton")
    other = Item("pkg/app.py", 1, 9, 20)
    assert not header_hit([body_only, other], n) and header_hit([header], n)
    # A skeleton counts by the lines it shows: the class around the header, its header elided, does not.
    elided = Item("pkg/util.py", 1, 30, 40, form="skeleton", shown=((1, 2), (12, 13)))
    assert not header_hit([elided], n) and header_hit([Item("pkg/util.py", 1, 30, 40, form="skeleton",
                                                              shown=((1, 2), (9, 9)))], n)
    # Per prompt: a batch needs what its own hunks' added lines use and its own hunks do not show.
    j = Judgement([], 0, 0.0, [("pkg/app.py", 3, n), ("pkg/app.py", 40, n)])
    assert j.needed_by({"pkg/app.py": [[1, 5]]}) == [n]
    assert j.needed_by({"pkg/app.py": [[1, 5]], "pkg/util.py": [[8, 12]]}) == []  # its header is in the hunk
    assert j.needed_by({"pkg/app.py": [[10, 20]]}) == []  # the use is another batch's
    s = score([body_only, header, other], [n])
    assert (s.needed, s.hit, s.hit_span, s.tokens, s.useful) == (1, 1, 1, 100, 30)
    plan = {"num_ctx": 2048, "output_reserve": 256,
            "batches": [{"prompt_tokens": 1500, "context": [{"tokens": 300}]}, {"prompt_tokens": 2100, "context": []}]}
    assert plan_room(plan) == (2048 - 256 - 1200) + 0


def test_a_case_is_planned_by_the_cli_at_every_window(mirror: tuple[str, str]) -> None:
    repo, sha = mirror
    case = Case(repo, "python", sha, split_of(sha), ("pkg/app.py",), 5)
    tree = Path(__file__).resolve().parents[2]
    result = run_case(case, argparse.Namespace(tree=tree, with_index=False))
    assert len(result.judgement.needed) == 3
    for window in (2048, 4096, 8192):
        plan = result.scores["localreview", window]
        assert plan.needed == 3 and 0 <= plan.hit <= 3 and plan.tokens > 0
        assert result.room[window] > 0 and result.scores["whole files", window].hit >= 0
