"""Shared fixtures: an isolated home, isolated git config, offline model settings, and the
real embedding model loaded once per session."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.embed import SentenceTransformerEmbedder

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.pop("OLLAMA_HOST", None)

_SESSION_CACHE: Path | None = None


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder (the int8 ONNX export) for the whole session: exporting costs seconds."""
    return tmp_path_factory.mktemp("lr-cache")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, session_cache: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No test writes to the real home directory or reads the user's git or tool config."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("LOCALREVIEW_CACHE_DIR", str(session_cache))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.invalid")
    monkeypatch.setenv("NO_COLOR", "1")
    for key in list(os.environ):
        if key.startswith("LOCALREVIEW_") and key not in ("LOCALREVIEW_CACHE_DIR", "LOCALREVIEW_TEST_OLLAMA_HOST",
                                                          "LOCALREVIEW_TEST_OLLAMA_MODEL"):
            monkeypatch.delenv(key)
    yield home


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout


def make_repo(root: Path, files: dict[str, str], message: str = "initial") -> Path:
    """A real git repository with ``files`` committed."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return root


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


@pytest.fixture(scope="session")
def embedder(session_cache: Path) -> SentenceTransformerEmbedder:
    """The real default embedding model, loaded once (loading costs seconds)."""
    os.environ["LOCALREVIEW_CACHE_DIR"] = str(session_cache)
    return SentenceTransformerEmbedder()
