"""Start-up benchmark: a cold ``localreview diff HEAD~1 --dry-run`` in a >= 1,000-file repository,
and a cached ``localreview hook`` run, each in a fresh process, this checkout beside a baseline
checkout (default: the commit before the "One house" layout), alternated in the same run.

    python -m bench.startup_bench [--runs 7] [--baseline REV] [--size 1k|full]

The change is a ~100-line run of definitions of Django's source, removed in one commit and put
back in the next, so HEAD~1 adds it. "Cold" means a fresh interpreter (the OS file cache is
warm, as it is for a developer). No index: the first review of a repository plans at once. The
cached hook run answers from the result cache filled by one review through a loopback Ollama
REST fake (tests/reviewer/ollama_fake.py); the time is the whole process, as pre-commit sees it.
Targets (issue 11): dry run <= 1.5 s, cached hook <= 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import add_size_args, git, load_average, make_repo, setup_env, verdict
from bench.plan_bench import Source, hundred_line_change

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "71b5b45"  # main before issue 8's layout, 11's start-up work and 10's analyzer stage


def _cli(tree: Path, cwd: Path, *args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", "from reviewer.cli import main; main()", *args], cwd=cwd,
                          env={**env, "PYTHONPATH": str(tree)}, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    # Both runs must succeed: a tree that fails fast (a module its venv lacks) would look quick.
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} in {tree} exited {proc.returncode}: {proc.stderr[-1500:]}")
    return seconds


def _checkout(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(where), rev], check=True)
    return where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE)
    add_size_args(parser)
    args = parser.parse_args(argv)
    setup_env()
    from tests.reviewer.ollama_fake import FakeOllama

    repo = make_repo(args.size)
    tmp = Path(tempfile.mkdtemp(prefix="localreview-startup-"))
    old = _checkout(args.baseline, tmp / "baseline")
    try:
        src = Source(repo.root)
        path, (start, end) = hundred_line_change(src)
        full = (repo.root / path).read_text(encoding="utf-8")
        lines = full.split("\n")
        (repo.root / path).write_text("\n".join(lines[: start - 1] + lines[end:]), encoding="utf-8")
        git(repo.root, "commit", "-qam", "remove a run of definitions")
        (repo.root / path).write_text(full, encoding="utf-8")
        git(repo.root, "commit", "-qam", "put it back")
        env = {**os.environ, "HOME": str(tmp / "home"), "NO_COLOR": "1", "HF_HUB_OFFLINE": "1",
               "TRANSFORMERS_OFFLINE": "1"}
        env.pop("OLLAMA_HOST", None)
        print(f"repository: {repo.files} files; change: {end - start + 1} lines of {path}; load {load_average()}")
        trees = {"this checkout": ROOT, f"baseline {args.baseline}": old}
        dry: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                dry[name].append(_cli(tree, repo.root, "diff", "HEAD~1", "--dry-run", "--format", "json",
                                      "--backend", "ollama", "--host", "http://127.0.0.1:9", env=env))
        # The hook: stage the change again (HEAD~1's tree in the index) and fill each cache once.
        git(repo.root, "reset", "-q", "--soft", "HEAD~1")
        hooked: dict[str, list[float]] = {name: [] for name in trees}
        with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
            hook = ["hook", "--backend", "ollama", "--host", fake.url, "--model", "qwen2.5-coder:7b",
                    "--fail-on", "none"]
            for tree in trees.values():
                _cli(tree, repo.root, *hook, env=env)
            for _ in range(args.runs):
                for name, tree in trees.items():
                    hooked[name].append(_cli(tree, repo.root, *hook, env=env))
        new_dry, old_dry = statistics.median(dry["this checkout"]), statistics.median(dry[f"baseline {args.baseline}"])
        new_hook = statistics.median(hooked["this checkout"])
        old_hook = statistics.median(hooked[f"baseline {args.baseline}"])
        print(f"cold dry run:     {new_dry:.2f} s (baseline {old_dry:.2f} s, ratio {new_dry / old_dry:.2f})"
              f"  target <= 1.5 s: {verdict(new_dry <= 1.5)}")
        print(f"cached hook run:  {new_hook:.2f} s (baseline {old_hook:.2f} s, ratio {new_hook / old_hook:.2f})"
              f"  target <= 0.3 s: {verdict(new_hook <= 0.3)}")
        print(f"medians of {args.runs} runs each, alternated; load after: {load_average()}")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
        repo.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
