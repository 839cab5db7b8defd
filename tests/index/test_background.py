"""``localreview index --background`` on a real repository, through the real CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from index.embed import SentenceTransformerEmbedder
from index.paths import index_dir
from index.state import State
from tests.conftest import make_repo
from tests.index.samples import FILES

CLI = [sys.executable, "-c", "from reviewer.cli import main; main()"]


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=root, capture_output=True, text=True, timeout=600)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished


def _dry_run(root: Path) -> dict[str, object]:
    proc = _cli(root, "diff", "--dry-run", "--backend", "ollama", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    plan: dict[str, object] = json.loads(proc.stdout)
    return plan


@pytest.mark.slow
def test_background_index_returns_at_once_and_builds_the_index(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    files = dict(FILES)
    for i in range(30):
        files[f"gen/m{i}.py"] = f"def g{i}(x):\n    return x * {i}\n"
    root = make_repo(tmp_path / "r", files)
    (root / "gen/m1.py").write_text("def g1(x):\n    return x * 100\n")  # a change to review

    # While another run holds the writer lock, --background starts nothing, and a review plans.
    index_dir(root).mkdir(exist_ok=True)
    with FileLock(str(index_dir(root) / "index.lock")):
        busy = _cli(root, "index", "--background")
        assert busy.returncode == 0, busy.stderr
        assert "already in progress" in busy.stdout
        assert not (index_dir(root) / "index.pid").exists()
        assert _dry_run(root)

    started = _cli(root, "index", "--background")
    assert started.returncode == 0, started.stderr
    m = re.search(r"pid (\d+), log (\S+)", started.stdout)
    assert m, started.stdout
    pid, log = int(m.group(1)), Path(m.group(2))
    assert log == index_dir(root) / "index.log"
    assert (index_dir(root) / "index.pid").read_text().strip() == str(pid)
    assert _dry_run(root)  # planning does not wait for the background run

    deadline = time.monotonic() + 600
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(pid)
    text = log.read_text()
    assert re.search(r"indexed \d+ files: \d+ chunks", text), text
    state = State(index_dir(root) / "state.sqlite", create=False)
    try:
        assert len(state.file_digests()) == len(files)
        assert state.get_meta("dirty") is None
    finally:
        state.close()
    # The index is complete: a foreground run finds nothing to embed.
    again = _cli(root, "index", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["embedded"] == 0
