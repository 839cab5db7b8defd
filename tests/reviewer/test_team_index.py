"""The team's shared index on a real `chroma run`: a second clone or CI runner reads what the first
one indexed (symbol table, chunk metadata, embedding cache) and embeds only what differs; branches
and concurrent writers share one index; a server restart loses nothing it acknowledged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from index.chunk import analyze_file
from index.embed import SentenceTransformerEmbedder
from tests.conftest import git, make_repo, write_files
from tests.reviewer.test_shared_index import FILES, QUERY, ChromaServer, chroma, localreview, store_count

__all__ = ["chroma"]  # the fixture, shared with test_shared_index

HELPER = "def shout(word):\n    return word.upper() + '!'\n"
BIG = {f"pkg/mod{i}.py": (f"def f{i}(x):\n    total = x * {i}\n    return total + {i}\n\n\n"
                          f"class C{i}:\n    def run(self, y):\n        return f{i}(y) - {i}\n")
       for i in range(400)}  # two write groups of 200 files (one chunk each)


def _origin(tmp_path: Path) -> Path:
    origin = make_repo(tmp_path / "origin", {**FILES, "util/text.py": HELPER})
    write_files(origin, {"db/orders.py": QUERY.format(name="find_orders", table="orders")})
    git(origin, "commit", "-qam", "orders query")
    return origin


def _clone(tmp_path: Path, origin: Path, name: str) -> Path:
    git(tmp_path, "clone", "-q", str(origin), str(tmp_path / name))
    return tmp_path / name


def _index(repo: Path, url: str, *args: str) -> dict[str, Any]:
    stats: dict[str, Any] = json.loads(localreview(repo, "index", "--format", "json", *args, store_url=url).stdout)
    return stats


def _context(repo: Path, url: str, rev: str = "HEAD~1") -> list[dict[str, Any]]:
    plan = json.loads(localreview(repo, "diff", rev, "--dry-run", "--format", "json", store_url=url).stdout)
    assert not any("skipped" in n for n in plan["notes"]), plan["notes"]
    return [c for b in plan["batches"] for c in b["context"]]


def _changed_chunks(embedder: SentenceTransformerEmbedder, path: str, old: str, new: str) -> int:
    limit = min(256, embedder.max_tokens)
    before = {c.content_hash for c in analyze_file(path, old, embedder.count_tokens, limit).chunks}
    return sum(1 for c in analyze_file(path, new, embedder.count_tokens, limit).chunks if c.content_hash not in before)


@pytest.mark.slow
def test_fresh_clone_embeds_nothing_plans_the_same_and_a_later_commit_embeds_one_files_change(
        tmp_path: Path, chroma: ChromaServer, embedder: SentenceTransformerEmbedder) -> None:
    origin = _origin(tmp_path)
    a = _clone(tmp_path, origin, "a")
    first = _index(a, chroma.url)
    assert first["embedded"] == first["chunks"] > 0
    context_a = _context(a, chroma.url)
    assert any(c["reason"] == "similar" and c["path"] == "db/users.py" for c in context_a), context_a

    # A restart of the server between the two clones: what it acknowledged is still there.
    chroma.stop()
    chroma.start()

    b = _clone(tmp_path, origin, "b")
    second = _index(b, chroma.url)
    assert (second["embedded"], second["chunks"], second["files"]) == (0, first["chunks"], first["files"])
    assert _context(b, chroma.url) == context_a
    assert not (b / ".localreview" / "chroma").exists()

    # A CI runner that never ran `localreview index`: the plan reads the shared index by itself.
    c = _clone(tmp_path, origin, "c")
    assert _context(c, chroma.url) == context_a

    # One commit later, one file changed: B embeds exactly that file's new chunks.
    old = (origin / "app" / "main.py").read_text()
    new = old + "\n\ndef stop(conn):\n    conn.rollback()\n    return conn.close()\n"
    write_files(origin, {"app/main.py": new})
    git(origin, "commit", "-qam", "stop")
    git(b, "pull", "-q")
    third = _index(b, chroma.url)
    expected = _changed_chunks(embedder, "app/main.py", old, new)
    assert 0 < expected < third["chunks"]
    assert third["embedded"] == expected, (third, expected)
    assert third["files"] == first["files"]


@pytest.mark.slow
def test_two_branches_indexed_at_once_end_consistent(tmp_path: Path, chroma: ChromaServer) -> None:
    origin = _origin(tmp_path)
    git(origin, "checkout", "-qb", "feature")
    write_files(origin, {"util/text.py": HELPER + "\n\ndef whisper(word):\n    return word.lower()\n",
                         "db/orders.py": "def count(xs):\n    return sum(1 for _ in xs)\n"})
    git(origin, "commit", "-qam", "feature work")
    git(origin, "checkout", "-q", "main")
    a = _clone(tmp_path, origin, "a")
    f = _clone(tmp_path, origin, "f")
    git(f, "checkout", "-q", "feature")

    # Two CI jobs, on two branches, writing one shared index at the same time.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALREVIEW_")}
    env.update(LOCALREVIEW_CACHE_DIR=os.environ["LOCALREVIEW_CACHE_DIR"], LOCALREVIEW_STORE_URL=chroma.url,
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    jobs = [subprocess.Popen([sys.executable, "-c", "from reviewer.cli import main; main()", "index", "--format",
                              "json"], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for repo in (a, f)]
    outs = [job.communicate(timeout=900) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], [err[-2000:] for _, err in outs]
    main_stats, feature_stats = (json.loads(out) for out, _ in outs)

    # Fresh clones of each branch find all they need, and see only their own branch's code.
    for branch, stats in (("main", main_stats), ("feature", feature_stats)):
        fresh = _clone(tmp_path, origin, f"fresh-{branch}")
        git(fresh, "checkout", "-q", branch)
        got = _index(fresh, chroma.url)
        assert (got["embedded"], got["chunks"], got["files"]) == (0, stats["chunks"], stats["files"]), branch
    # Two versions of two files: one record per file version, none overwritten.
    assert store_count(chroma.url, a, "-files") == main_stats["files"] + 2


@pytest.mark.slow
def test_server_killed_mid_index_keeps_what_it_acknowledged(tmp_path: Path, chroma: ChromaServer) -> None:
    origin = make_repo(tmp_path / "origin", BIG)
    a = _clone(tmp_path, origin, "a")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALREVIEW_")}
    env.update(LOCALREVIEW_CACHE_DIR=os.environ["LOCALREVIEW_CACHE_DIR"], LOCALREVIEW_STORE_URL=chroma.url,
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    job = subprocess.Popen([sys.executable, "-c", "from reviewer.cli import main; main()", "index", "--quiet"],
                           cwd=a, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        acknowledged = 0
        while acknowledged == 0 and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                acknowledged = store_count(chroma.url, a)
            except Exception:  # the collection is not created yet
                acknowledged = 0
        assert job.poll() is None, "the index finished before the server could be killed"
        assert chroma.proc is not None
        chroma.proc.send_signal(signal.SIGKILL)
        chroma.stop()
        _out, err = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 3, err[-2000:]
    assert "Traceback" not in err and "Chroma" in err, err[-2000:]

    chroma.start()
    assert store_count(chroma.url, a) >= acknowledged > 0
    resumed = _index(a, chroma.url)
    assert 0 < resumed["embedded"] <= resumed["chunks"] - acknowledged
    b = _clone(tmp_path, origin, "b")
    assert _index(b, chroma.url)["embedded"] == 0


@pytest.mark.slow
def test_the_token_reaches_the_proxy_in_front_of_chroma(tmp_path: Path, chroma: ChromaServer) -> None:
    from tests.reviewer.token_proxy import TokenProxy

    origin = _origin(tmp_path)
    a = _clone(tmp_path, origin, "a")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALREVIEW_")}
    env.update(LOCALREVIEW_CACHE_DIR=os.environ["LOCALREVIEW_CACHE_DIR"],
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    with TokenProxy(chroma.url, "s3cret-team-token") as proxy:
        argv = [sys.executable, "-c", "from reviewer.cli import main; main()", "index", "--quiet"]
        env["LOCALREVIEW_STORE_URL"] = proxy.url
        refused = subprocess.run(argv, cwd=a, env=env, capture_output=True, text=True, timeout=600)
        assert refused.returncode == 3, refused.stderr[-2000:]
        assert "Traceback" not in refused.stderr and proxy.refused > 0
        env["LOCALREVIEW_STORE_TOKEN"] = "s3cret-team-token"
        ok = subprocess.run(argv, cwd=a, env=env, capture_output=True, text=True, timeout=600)
        assert ok.returncode == 0, ok.stderr[-2000:]
        assert proxy.passed > 0
    assert store_count(chroma.url, a) > 0
