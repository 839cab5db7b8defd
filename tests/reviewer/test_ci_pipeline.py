"""scripts/ci-review.sh end to end: a clone of an "origin" with a feature branch, the embedded
model, the SARIF and Code Quality reports, the index cache, exit codes and the egress check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, make_repo
from tests.reviewer.ollama_fake import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ci-review.sh"

APP = {
    "app/db.py": "import sqlite3\n\n\ndef find(cur, name):\n    return cur.fetchone()\n",
    "app/api.py": "from app.db import find\n\n\ndef get(cur, name):\n    return find(cur, name)\n",
}


def clone_with_branch(tmp_path: Path, name: str) -> Path:
    """A CI checkout: origin/main fetched, HEAD on a feature branch one commit ahead."""
    origin = tmp_path / "origin"
    if not origin.exists():
        make_repo(origin, APP)
    work = tmp_path / name
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "feature")
    (work / "app" / "db.py").write_text(
        "import sqlite3\n\n\ndef find(cur, name):\n    cur.execute(\"SELECT * FROM t WHERE n = '\" + name + \"'\")\n"
        "    return cur.fetchone()\n")
    git(work, "commit", "-qam", "query by name")
    return work


def run_script(work: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CI_REVIEW_", "OLLAMA_"))}
    # The venv's localreview first on PATH, as an installed tool would be.
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full['PATH']}"
    full.update(env)
    return subprocess.run(["sh", str(SCRIPT)], cwd=work, env=full, capture_output=True, text=True, timeout=1500)


@pytest.mark.slow
def test_plain_shell_pipeline_end_to_end(tmp_path: Path) -> None:
    work = clone_with_branch(tmp_path, "ci1")
    cache = tmp_path / "cache"
    env = {
        "LOCALREVIEW_BACKEND": "embedded",
        "LOCALREVIEW_NUM_CTX": "4096",
        "LOCALREVIEW_OUTPUT_RESERVE": "512",
        "LOCALREVIEW_FAIL_ON": "none",
        "CI_REVIEW_CACHE": str(cache),
        "CI_REVIEW_OUT": "reports",
    }
    if shutil.which("strace"):
        env["CI_REVIEW_TRACE"] = "1"
    proc = run_script(work, **env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    sarif = json.loads((work / "reports" / "localreview.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "localreview"
    quality = json.loads((work / "reports" / "gl-code-quality-report.json").read_text())
    assert isinstance(quality, list)
    assert (cache / ".localreview" / "state.sqlite").is_file()
    if shutil.which("strace"):
        assert "egress check: no connection beyond loopback" in proc.stderr

    # A second runner: the index comes from the cache, so nothing is embedded again. No review
    # formats: the model runs above are what cost time.
    again = clone_with_branch(tmp_path, "ci2")
    proc = run_script(again, **{**env, "CI_REVIEW_FORMATS": "", "CI_REVIEW_TRACE": "0"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "index restored from" in proc.stderr
    assert "(0 embedded" in proc.stdout, proc.stdout


def test_pipeline_exit_codes_without_a_model(tmp_path: Path) -> None:
    work = clone_with_branch(tmp_path, "ci")
    proc = run_script(work, CI_REVIEW_BASE="origin/release")
    assert proc.returncode == 2 and "origin/release is not in this clone" in proc.stderr
    assert "git fetch" in proc.stderr

    proc = run_script(work, LOCALREVIEW="/nonexistent/localreview")
    assert proc.returncode == 3 and "pip install --no-index" in proc.stderr

    proc = run_script(work, CI_REVIEW_FORMATS="pdf")
    assert proc.returncode == 2 and "unknown format 'pdf'" in proc.stderr

    down = {"LOCALREVIEW_BACKEND": "ollama", "LOCALREVIEW_HOST": f"http://127.0.0.1:{free_port()}",
            "CI_REVIEW_FORMATS": "sarif"}
    proc = run_script(work, **down)
    assert proc.returncode == 3 and "localreview doctor" in proc.stderr
    assert "no Ollama server answers" in proc.stderr
    proc = run_script(work, **down, CI_REVIEW_FAIL_OPEN="1")
    assert proc.returncode == 0 and "passing because CI_REVIEW_FAIL_OPEN=1" in proc.stderr
