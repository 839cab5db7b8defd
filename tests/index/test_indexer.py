"""The indexer against real parts: git repositories, the real embedding model, a real Chroma store."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.chunk import analyze_file
from index.embed import SentenceTransformerEmbedder
from index.indexer import Indexer, open_store
from index.paths import index_dir
from index.state import State
from reviewer.config import Config
from reviewer.errors import IndexUnreadable
from tests.conftest import git, make_repo, write_files
from tests.index.samples import FILES, PY_UTIL


def run(root: Path, emb: SentenceTransformerEmbedder, **kw: object) -> dict[str, int | float]:
    return Indexer(root, Config(), embedder=emb).run(**kw).to_json()  # type: ignore[arg-type]


def chunk_hashes(emb: SentenceTransformerEmbedder, path: str, text: str) -> set[str]:
    return {c.content_hash for c in analyze_file(path, text, emb.count_tokens, emb.max_tokens).chunks}


def consistent(root: Path, emb: SentenceTransformerEmbedder) -> set[str]:
    """Chroma and SQLite agree on the chunk ids; returns them."""
    state = State(index_dir(root) / "state.sqlite", create=False)
    try:
        ids = state.chunk_ids()
    finally:
        state.close()
    store_ids = open_store(root, Config(), emb.model_id).all_ids()
    assert store_ids == ids
    return ids


def test_first_run_then_noop(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    root = make_repo(tmp_path / "r", FILES)
    first = run(root, embedder)
    assert first["files"] == len(FILES)  # the empty __init__.py too: it has no chunk, but is indexed
    assert first["chunks"] >= 5  # small files are one chunk each (cAST merges small siblings)
    assert first["embedded"] == first["chunks"]
    assert (root / ".localreview" / ".gitignore").read_text() == "*\n"
    assert git(root, "status", "--porcelain") == ""
    second = run(root, embedder)
    assert second["embedded"] == 0
    assert second["reused"] == second["chunks"] == first["chunks"]
    assert second["removed"] == 0
    assert len(consistent(root, embedder)) == first["chunks"]


def test_edit_add_delete_rename(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    root = make_repo(tmp_path / "r", FILES)
    run(root, embedder)
    edited = PY_UTIL.replace("return hashlib.sha256(data).hexdigest()", "return hashlib.sha1(data).hexdigest()")
    (root / "pkg/util.py").write_text(edited)
    changed = chunk_hashes(embedder, "pkg/util.py", edited) - chunk_hashes(embedder, "pkg/util.py", PY_UTIL)
    assert changed  # the edit must change at least one chunk, or the test proves nothing
    stats = run(root, embedder)
    assert stats["embedded"] == len(changed)

    write_files(root, {"pkg/extra.py": "def extra(x):\n    return x * 2\n"})
    added = chunk_hashes(embedder, "pkg/extra.py", "def extra(x):\n    return x * 2\n")
    assert run(root, embedder)["embedded"] == len(added)

    before = run(root, embedder)["chunks"]
    (root / "web/api.ts").unlink()
    stats = run(root, embedder)
    assert stats["embedded"] == 0
    assert stats["removed"] > 0
    assert stats["chunks"] == before - stats["removed"]

    git(root, "add", "-A")
    git(root, "commit", "-qm", "edits")
    git(root, "mv", "cmd/main.go", "cmd/app.go")
    stats = run(root, embedder)
    ids = consistent(root, embedder)
    state = State(index_dir(root) / "state.sqlite")
    rows = state.chunks_by_ids(sorted(ids))
    state.close()
    paths = {r.path for r in rows.values()}
    assert "cmd/app.go" in paths and "cmd/main.go" not in paths
    # The embedded text names its path, so a renamed file's chunks are new texts.
    assert stats["embedded"] == len(chunk_hashes(embedder, "cmd/app.go", (root / "cmd/app.go").read_text()))


def test_branch_switch_reembeds_nothing(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    root = make_repo(tmp_path / "r", FILES)
    run(root, embedder)
    git(root, "checkout", "-qb", "feature")
    write_files(root, {"pkg/util.py": PY_UTIL + "\n\ndef extra():\n    return digest(b'x')\n"})
    git(root, "commit", "-qam", "feature")
    assert run(root, embedder)["embedded"] > 0
    git(root, "checkout", "-q", "main")
    assert run(root, embedder)["embedded"] == 0
    git(root, "checkout", "-q", "feature")
    assert run(root, embedder)["embedded"] == 0
    consistent(root, embedder)


_KILL_SCRIPT = r"""
import os, signal, sys
from pathlib import Path
from index.indexer import Indexer
from index.embed import SentenceTransformerEmbedder
from index.state import State
from reviewer.config import Config

where = sys.argv[2]
calls = {"n": 0}
# "first-write": after the first window's vectors are in Chroma, before SQLite records any file.
die_at = 1 if where == "first-write" else 2

def die_on_call(fn):
    def wrapper(*a, **k):
        calls["n"] += 1
        if calls["n"] == die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*a, **k)
    return wrapper

emb = SentenceTransformerEmbedder()
if where == "embed":
    emb.embed = die_on_call(emb.embed)
else:
    State.replace_files = die_on_call(State.replace_files)
Indexer(Path(sys.argv[1]), Config(), embedder=emb).run()
"""


@pytest.mark.parametrize("where", ["embed", "write", "first-write"])
def test_killed_run_leaves_consistent_index(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = dict(FILES)
    # Enough files and chunks to need several embed groups and write groups.
    for i in range(260):
        files[f"gen/m{i}.py"] = "".join(f"def f{i}_{j}(x):\n    return x + {i * j}\n\n\n" for j in range(2))
    root = make_repo(tmp_path / "r", files)
    monkeypatch.setattr("index.indexer.WRITE_GROUP", 200)
    proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(root), where], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    if where == "first-write":
        # The vectors of the old text are orphans no later write replaces: the next run must sweep them.
        files["gen/m0.py"] = "def changed_since(x):\n    return -x\n"
        write_files(root, {"gen/m0.py": files["gen/m0.py"]})
    # Whatever the interrupted run recorded is served consistently, and the next run completes it.
    stats = run(root, embedder)
    ids = consistent(root, embedder)
    assert stats["chunks"] == len(ids)
    fresh = make_repo(tmp_path / "fresh", files)
    assert run(fresh, embedder)["chunks"] == stats["chunks"]
    assert run(root, embedder)["embedded"] == 0


def test_two_concurrent_runs(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    files = dict(FILES)
    for i in range(40):
        files[f"gen/m{i}.py"] = f"def g{i}(x):\n    return x * {i}\n"
    root = make_repo(tmp_path / "r", files)
    cmd = [sys.executable, "-m", "reviewer.cli", "index", str(root), "--format", "json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    results = [json.loads(o[0]) for o in outs]
    # One run did the work; the other waited for the lock and found nothing left to embed.
    assert sorted(r["embedded"] for r in results)[0] == 0
    assert results[0]["chunks"] == results[1]["chunks"] == len(consistent(root, embedder))


def test_model_change_rebuilds_and_says_so(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    root = make_repo(tmp_path / "r", FILES)
    run(root, embedder)

    class Renamed(SentenceTransformerEmbedder):
        pass

    other = Renamed()
    other.model_id = embedder.model_id + "-v2"
    other._model = embedder._load()  # same weights: only the identity differs
    stats = Indexer(root, Config(), embedder=other).run()
    assert any("embedding model changed" in n for n in stats.notes)
    assert stats.embedded == stats.chunks > 0


def test_corrupted_and_old_schema_store(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    root = make_repo(tmp_path / "r", FILES)
    run(root, embedder)
    db = index_dir(root) / "state.sqlite"
    for extra in ("state.sqlite-wal", "state.sqlite-shm"):
        (index_dir(root) / extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexUnreadable, match="corrupted"):
        run(root, embedder)
    stats = run(root, embedder, full=True)
    assert stats["chunks"] > 0
    state = State(db)
    state.set_meta("schema_version", "0")
    state.close()
    again = Indexer(root, Config(), embedder=embedder).run()
    assert any("another version" in n for n in again.notes)
    assert again.chunks == stats["chunks"]


def test_chroma_server_mode(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    chroma = Path(sys.executable).parent / "chroma"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "srv"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        root = make_repo(tmp_path / "r", FILES)
        config = Config(store_url=f"http://127.0.0.1:{port}")
        stats = Indexer(root, config, embedder=embedder).run()
        assert stats.chunks > 0 and stats.embedded == stats.chunks
        store = open_store(root, config, embedder.model_id)
        assert store.count() == stats.chunks
        assert not (index_dir(root) / "chroma").exists()
        assert Indexer(root, config, embedder=embedder).run().embedded == 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_indexing_makes_no_connection_beyond_loopback(tmp_path: Path) -> None:
    """A fresh process (model loaded from scratch) with an audit hook recording every
    connect and name look-up: only loopback or none at all."""
    root = make_repo(tmp_path / "r", FILES)
    script = r"""
import socket, sys, json
seen = []
def hook(event, args):
    if event == "socket.connect":
        seen.append(("connect", repr(args[1])))
    elif event == "socket.getaddrinfo":
        seen.append(("getaddrinfo", repr(args[0])))
sys.addaudithook(hook)
from reviewer.cli import main
try:
    main(["index", sys.argv[1], "--format", "json"])
except SystemExit as e:
    print(json.dumps({"code": e.code, "seen": seen}), file=sys.stderr)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    proc = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, env=env)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    for kind, target in report["seen"]:
        assert any(h in target for h in ("127.0.0.1", "localhost", "::1", "/")), (kind, target)
    assert json.loads(proc.stdout)["chunks"] > 0


def test_cli_bad_inputs(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    cmd = [sys.executable, "-m", "reviewer.cli", "index"]
    proc = subprocess.run([*cmd, str(plain)], capture_output=True, text=True)
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr
    assert "Traceback" not in proc.stderr
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    proc = subprocess.run([*cmd, str(bare)], capture_output=True, text=True)
    assert proc.returncode == 2 and "bare repository" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    proc = subprocess.run([*cmd, str(empty), "--format", "json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"] == 0
    proc = subprocess.run([*cmd, str(tmp_path / "missing")], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
