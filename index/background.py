"""``localreview index --background``: the index built by a detached process of its own.

The child is the ordinary ``localreview index`` command (same config, privacy guard and writer
lock), started in a new session with no terminal, its output going to ``.localreview/index.log``.
The caller returns at once. A review meanwhile plans with the index as it is: the planner's own
refresh takes the lock with no wait and skips it when a run holds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from index.indexer import ensure_index_dir
from index.ort_model import THREADS_ENV

LOG_NAME = "index.log"
PID_NAME = "index.pid"


@dataclass(frozen=True)
class BackgroundRun:
    pid: int | None  # None: a run already held the lock, nothing was started
    log: Path
    already_running: bool = False


def index_in_progress(root: Path) -> bool:
    """Whether some localreview run holds the writer lock of ``root``'s index right now."""
    lock = FileLock(str(ensure_index_dir(root) / "index.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def child_command(root: Path, *, full: bool = False, store_url: str | None = None) -> list[str]:
    # `-c` rather than `-m reviewer.cli`: the entry point's module path is not part of the contract.
    cmd = [sys.executable, "-c", "from reviewer.cli import main; main()", "index", str(root), "--quiet"]
    if full:
        cmd.append("--full")
    if store_url:
        cmd += ["--store-url", store_url]
    return cmd


def start_background(root: Path, *, full: bool = False, store_url: str | None = None) -> BackgroundRun:
    """Start ``localreview index`` on ``root`` detached and return without waiting for it."""
    d = ensure_index_dir(root)
    log = d / LOG_NAME
    if index_in_progress(root):
        return BackgroundRun(None, log, already_running=True)
    with log.open("ab") as out:
        out.write(f"--- localreview index started {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        out.flush()
        cmd = child_command(root, full=full, store_url=store_url)
        # Nobody waits for it: it leaves a core (THREADS_ENV) and the scheduler's favour to the developer.
        nice = shutil.which("nice")
        proc = subprocess.Popen(
            [nice, "-n", "10", *cmd] if nice else cmd,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # no terminal: the user's Ctrl-C or closed shell does not stop it
            close_fds=True,
            env={THREADS_ENV: str(max(1, (os.cpu_count() or 1) - 1)), **os.environ, "NO_COLOR": "1"},
        )
    (d / PID_NAME).write_text(f"{proc.pid}\n", encoding="utf-8")
    return BackgroundRun(proc.pid, log)
