"""A team's shared index: a real `chroma run` server on loopback, indexed from one clone and
used by the review of a second clone of the same repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import git, make_repo
from tests.helpers import stop_process
from tests.reviewer.ollama_fake import free_port

QUERY = ("import sqlite3\n\n\ndef {name}(conn, key):\n    cur = conn.cursor()\n"
         "    cur.execute(\"SELECT * FROM {table} WHERE key = '\" + key + \"'\")\n"
         "    rows = cur.fetchall()\n    cur.close()\n    return rows\n")
FILES = {
    "db/users.py": QUERY.format(name="find_users", table="users"),
    "db/orders.py": "def count(xs):\n    return len(xs)\n",
    "app/main.py": "from db.users import find_users\n\n\ndef run(conn):\n    return find_users(conn, 'x')\n",
}


class ChromaServer:
    """`chroma run` on loopback, persisting to ``path``; ``kill`` and ``start`` again at will."""

    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        if not Path(exe).exists():
            pytest.fail("the `chroma` CLI (from chromadb) must be installed for this test")
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.proc = proc = subprocess.Popen([exe, "run", "--path", str(self.path), "--host", "127.0.0.1",
                                             "--port", str(self.port)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.fail(f"chroma run did not start: {err[-2000:]}")
            time.sleep(0.2)

    def stop(self, *, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        stop_process(proc, kill=kill)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "server-data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def chroma_server(chroma: ChromaServer) -> str:
    return chroma.url


def localreview(cwd: Path, *args: str, store_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALREVIEW_")}
    env["LOCALREVIEW_CACHE_DIR"] = os.environ["LOCALREVIEW_CACHE_DIR"]
    env["LOCALREVIEW_STORE_URL"] = store_url
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this checkout, not the installed one
    proc = subprocess.run([sys.executable, "-c", "from reviewer.cli import main; main()", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def store_count(url: str, root: Path, suffix: str = "") -> int:
    """Records in the repository's collection on the server (chunk vectors; ``-files``: file records)."""
    import chromadb
    from chromadb.config import Settings

    from index.indexer import collection_name

    client = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]),
                                 settings=Settings(anonymized_telemetry=False))
    prefix = collection_name(root, url)
    names = [c.name if hasattr(c, "name") else str(c) for c in client.list_collections()]
    mine = [n for n in names if n.startswith(prefix) and n.endswith("-files") == (suffix == "-files")]
    assert len(mine) == 1, names
    return int(client.get_collection(mine[0], embedding_function=None).count())


@pytest.mark.slow
def test_index_from_one_clone_review_from_another(tmp_path: Path, chroma_server: str) -> None:
    origin = make_repo(tmp_path / "origin", FILES)
    one = tmp_path / "one"
    two = tmp_path / "two"
    git(tmp_path, "clone", "-q", str(origin), str(one))
    git(tmp_path, "clone", "-q", str(origin), str(two))

    # Clone one fills the server; no vectors stay on its disk.
    out = localreview(one, "index", "--store-url", chroma_server, "--format", "json", store_url="")
    assert json.loads(out.stdout)["chunks"] > 0
    assert not (one / ".localreview" / "chroma").exists()
    shared = store_count(chroma_server, one)
    assert shared > 0

    # Clone two adds a query like the one in db/users.py and reviews it against the server.
    (two / "db" / "orders.py").write_text(QUERY.format(name="find_orders", table="orders"))
    git(two, "commit", "-qam", "orders query")
    localreview(two, "index", "--quiet", store_url=chroma_server)
    plan = json.loads(localreview(two, "diff", "HEAD~1", "--dry-run", "--format", "json",
                                  store_url=chroma_server).stdout)
    context = [c for b in plan["batches"] for c in b["context"]]
    similar = [c for c in context if c["reason"] == "similar"]
    assert any(c["path"] == "db/users.py" for c in similar), context
    assert not any("similarity search skipped" in n for n in plan["notes"]), plan["notes"]
    assert not (two / ".localreview" / "chroma").exists()
    # Both clones write one collection on the server: the same repository, the same name.
    assert store_count(chroma_server, two) >= shared
