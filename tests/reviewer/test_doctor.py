"""`localreview doctor`: a missing server, a missing model, the index's freshness, the machine
and the model that fits it — each explained on one screen with the command that fixes it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from index.embed import SentenceTransformerEmbedder
from index.indexer import Indexer
from reviewer.backends.embedded import default_model_path
from reviewer.backends.gguf import gguf_context_length
from reviewer.cli import cli
from reviewer.config import Config
from reviewer.doctor.hardware import params_of, parse_nvidia_smi, recommend
from reviewer.doctor.run import run_doctor
from reviewer.policy import privacy
from tests.conftest import make_repo
from tests.reviewer.ollama_fake import FakeOllama, free_port

SCREEN = 24  # lines


def doctor(root: Path, config: Config) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_doctor(root, config, echo=lines.append)
    return code, lines


def line_for(lines: list[str], what: str) -> str:
    found = [line for line in lines if line.split()[1:2] == [what]]
    assert found, f"no '{what}' line in:\n" + "\n".join(lines)
    return found[0]


def fix_after(lines: list[str], what: str) -> str:
    i = lines.index(line_for(lines, what))
    assert lines[i + 1].lstrip().startswith("fix:"), lines[i + 1]
    return lines[i + 1].strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "r", {
        "app/db.py": "def find(cur, name):\n    return cur.fetchone()\n",
        "app/api.py": "from app.db import find\n\n\ndef get(c, n):\n    return find(c, n)\n",
    })


@pytest.fixture
def no_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH without nvidia-smi, so the machine section does not depend on the test host."""
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                               if not (Path(p) / "nvidia-smi").exists()))


def fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


# --- the model server -----------------------------------------------------------------------------


def test_missing_ollama_server_is_explained_on_one_screen(repo: Path, no_gpu: None) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    code, lines = doctor(repo, Config(backend="ollama", host=host, model="qwen2.5-coder:7b"))
    assert code == 3
    assert len(lines) <= SCREEN, "\n".join(lines)
    backend = line_for(lines, "backend")
    assert backend.startswith("missing") and f"no Ollama server answers at {host}" in backend
    assert "ollama serve" in fix_after(lines, "backend")
    assert lines[-1].startswith("no review can run")
    for line in lines:
        assert line.split()[0] in ("ok", "warn", "missing", "fix:", "no")


def test_doctor_command_exit_code(repo: Path, no_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    host = f"http://127.0.0.1:{free_port()}"
    try:
        result = CliRunner().invoke(cli, ["doctor", "--backend", "ollama", "--host", host])
    finally:
        privacy.suspend()
    assert result.exit_code == 3, result.output
    assert f"no Ollama server answers at {host}" in result.output and "Traceback" not in result.output


def test_model_present_with_its_context_length(repo: Path, no_gpu: None) -> None:
    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        code, lines = doctor(repo, Config(backend="ollama", host=fake.url, model="qwen2.5-coder:7b"))
    assert code == 0, "\n".join(lines)
    assert line_for(lines, "backend").startswith("ok") and fake.url in line_for(lines, "backend")
    assert "qwen2.5-coder:7b is present, context length 32768" in line_for(lines, "model")
    assert line_for(lines, "window").startswith("ok")
    assert lines[-1] == "a review would run with ollama (qwen2.5-coder:7b), num_ctx 8192"
    assert not fake.bodies("/api/chat"), "doctor must not review anything"


def test_model_missing_gives_the_pull_command(repo: Path, no_gpu: None) -> None:
    with FakeOllama({"llama3:8b": 8192}) as fake:
        code, lines = doctor(repo, Config(backend="ollama", host=fake.url, model="qwen2.5-coder:7b"))
    assert code == 3
    assert line_for(lines, "backend").startswith("ok")
    assert line_for(lines, "model").startswith("missing") and "llama3:8b" in line_for(lines, "model")
    assert fix_after(lines, "model") == "fix: ollama pull qwen2.5-coder:7b"


def test_a_window_larger_than_the_model_is_a_warning(repo: Path, no_gpu: None) -> None:
    with FakeOllama({"qwen2.5-coder:7b": 4096}) as fake:
        code, lines = doctor(repo, Config(backend="ollama", host=fake.url, model="qwen2.5-coder:7b"))
    assert code == 0
    assert line_for(lines, "window").startswith("warn") and "num_ctx = 4096" in fix_after(lines, "window")


def test_auto_detection_falls_back_to_the_smoke_test_model_and_says_why(
        repo: Path, no_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    code, lines = doctor(repo, Config())
    assert code == 0, "\n".join(lines)  # a review can run: with the embedded model
    assert line_for(lines, "ollama").startswith("warn") and "ollama serve" in fix_after(lines, "ollama")
    assert "smoke-test" in line_for(lines, "backend") and "ollama pull" in fix_after(lines, "backend")
    assert "context length 8192" in line_for(lines, "model")


def test_gguf_context_length_is_read_from_the_header() -> None:
    path = default_model_path()
    assert path is not None
    assert gguf_context_length(Path(path)) == 8192


def test_a_broken_gguf_is_missing(repo: Path, tmp_path: Path, no_gpu: None) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00")
    code, lines = doctor(repo, Config(backend="embedded", model=str(bad)))
    assert code == 3 and line_for(lines, "model").startswith("missing") and "--model" in fix_after(lines, "model")


# --- the index ------------------------------------------------------------------------------------


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama({"qwen2.5-coder:7b": 32768}) as fake:
        yield fake


def test_index_missing_fresh_stale(repo: Path, no_gpu: None, ollama: FakeOllama,
                                   embedder: SentenceTransformerEmbedder) -> None:
    config = Config(backend="ollama", host=ollama.url, model="qwen2.5-coder:7b")
    code, lines = doctor(repo, config)
    assert code == 0 and line_for(lines, "index").startswith("warn") and "none at" in line_for(lines, "index")
    assert fix_after(lines, "index") == "fix: localreview index"

    Indexer(repo, config, embedder=embedder).run()
    code, lines = doctor(repo, config)
    assert code == 0 and line_for(lines, "index").startswith("ok") and "2 files" in line_for(lines, "index")
    assert "fresh" in line_for(lines, "index")

    (repo / "app" / "db.py").write_text("def find(cur, name):\n    return None\n")
    (repo / "app" / "new.py").write_text("X = 1\n")
    code, lines = doctor(repo, config)
    index = line_for(lines, "index")
    assert code == 0 and index.startswith("warn") and "1 changed, 1 new, 0 deleted" in index
    assert fix_after(lines, "index") == "fix: localreview index"


def test_unreadable_index_blocks(repo: Path, no_gpu: None, ollama: FakeOllama) -> None:
    (repo / ".localreview").mkdir()
    (repo / ".localreview" / "state.sqlite").write_bytes(b"this is not sqlite" * 100)
    code, lines = doctor(repo, Config(backend="ollama", host=ollama.url, model="qwen2.5-coder:7b"))
    assert code == 3 and line_for(lines, "index").startswith("missing")
    assert "localreview index --full" in fix_after(lines, "index")


def test_outside_a_repository(tmp_path: Path, no_gpu: None, ollama: FakeOllama) -> None:
    code, lines = doctor(tmp_path, Config(backend="ollama", host=ollama.url, model="qwen2.5-coder:7b"))
    assert code == 3 and line_for(lines, "repo").startswith("missing") and "git" in fix_after(lines, "repo")


# --- privacy and offline settings -----------------------------------------------------------------


def test_offline_settings_and_allowed_hosts(repo: Path, no_gpu: None, ollama: FakeOllama) -> None:
    _code, lines = doctor(repo, Config(backend="ollama", host=ollama.url, model="qwen2.5-coder:7b"))
    offline = line_for(lines, "offline")
    assert offline.startswith("ok"), offline
    for flag in ("HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", "ORT_DISABLE_TELEMETRY=1"):
        assert flag in offline
    assert "loopback and 127.0.0.1" in offline


def test_a_remote_host_without_opt_in_is_blocked_not_contacted(
        repo: Path, no_gpu: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)
    try:
        result = CliRunner().invoke(cli, ["doctor", "--backend", "ollama", "--host", "http://gpu01.corp.invalid:11434"])
        blocked = privacy.blocked_hosts()
    finally:
        privacy.suspend()
        privacy.reset_blocked()
    assert result.exit_code == 3, result.output
    assert "blocked a network connection to gpu01.corp.invalid" in result.output
    assert "allow_remote_host is not set" in result.output
    assert blocked == ["gpu01.corp.invalid"]


def test_a_proxy_without_no_proxy_is_a_warning(repo: Path, no_gpu: None, ollama: FakeOllama,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    _code, lines = doctor(repo, Config(backend="ollama", host=ollama.url, model="qwen2.5-coder:7b"))
    assert "NO_PROXY=127.0.0.1" in fix_after(lines, "proxy")


# --- the machine ----------------------------------------------------------------------------------


def test_gpu_and_recommendation(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                ollama: FakeOllama) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, "NVIDIA RTX A6000, 49140 MiB")
    code, lines = doctor(repo, Config(backend="ollama", host=ollama.url, model="qwen2.5-coder:7b"))
    assert code == 0
    assert "NVIDIA RTX A6000 (48 GB)" in line_for(lines, "machine")
    fits = line_for(lines, "fits")
    assert "qwen2.5-coder:32b" in fits and "0.5 byte/parameter" in fits and "20-24 GB" in fits


def test_a_model_too_big_for_the_gpu(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, "NVIDIA GeForce RTX 3070, 8192 MiB")
    with FakeOllama({"qwen2.5-coder:32b": 32768}) as fake:
        _code, lines = doctor(repo, Config(backend="ollama", host=fake.url, model="qwen2.5-coder:32b"))
    assert "qwen2.5-coder:7b" in line_for(lines, "fits")
    assert line_for(lines, "size").startswith("warn") and "20-24 GB" in line_for(lines, "size")
    assert "ollama pull qwen2.5-coder:7b" in fix_after(lines, "size")


def test_parse_nvidia_smi() -> None:
    gpus = parse_nvidia_smi("NVIDIA A100-SXM4-80GB, 81920 MiB\nTesla T4, 15360 MiB\n\ngarbage\n")
    assert [(g.name, round(g.memory_gb)) for g in gpus] == [("NVIDIA A100-SXM4-80GB", 80), ("Tesla T4", 15)]


@pytest.mark.parametrize(
    ("budget", "model"),
    [(80, "qwen2.5-coder:32b"), (24, "qwen2.5-coder:32b"), (16, "qwen2.5-coder:14b"), (6, "qwen2.5-coder:7b"),
     (5.9, "qwen2.5-coder:3b"), (2, "qwen2.5-coder:1.5b"), (0.5, None)],
)
def test_recommendation_follows_the_rule_of_thumb(budget: float, model: str | None) -> None:
    tier = recommend(budget)
    assert (tier.model if tier else None) == model


@pytest.mark.parametrize(("name", "params"), [("qwen2.5-coder:7b", 7), ("codellama:34b-instruct-q4_K_M", 34),
                                             ("deepseek-coder-v2:16b", 16), ("qwen2.5-coder:1.5b", 1.5),
                                             ("llama3", None), ("org/Qwen2.5-Coder-32B-Instruct", 32)])
def test_params_of(name: str, params: float | None) -> None:
    assert params_of(name) == params
