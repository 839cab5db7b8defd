"""Configuration: the four layers and their precedence, errors that name the file and the key,
and `localreview config` explaining where each value came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reviewer.cli import cli
from reviewer.config import Config, config_keys, load_config
from reviewer.errors import ConfigError
from tests.conftest import make_repo, write_files

PYPROJECT = '[project]\nname = "x"\n\n[tool.localreview]\nnum_ctx = 16384\nfail_on = "medium"\nmodel = "a"\n'


def test_defaults_without_any_layer(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={})
    assert config == Config()
    assert all(config.source_of(k) == "default" for k in config_keys())


def test_pyproject_then_env_then_flags(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": PYPROJECT})
    env = {"LOCALREVIEW_FAIL_ON": "critical", "LOCALREVIEW_MODEL": "b"}
    config = load_config(tmp_path, {"model": "c", "backend": None}, environ=env)
    assert config.num_ctx == 16384 and config.source_of("num_ctx") == "pyproject.toml"
    assert config.fail_on == "critical" and config.source_of("fail_on") == "env LOCALREVIEW_FAIL_ON"
    assert config.model == "c" and config.source_of("model") == "flag --model"
    # A flag not given (None) leaves the lower layers alone.
    assert config.backend is None and config.source_of("backend") == "default"


def test_dedicated_file_wins_over_pyproject(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": PYPROJECT, ".localreview.toml": "num_ctx = 4096\n"})
    config = load_config(tmp_path, environ={})
    assert config.num_ctx == 4096
    assert config.source_of("num_ctx") == ".localreview.toml"


def test_pyproject_without_our_table_is_ignored(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n[tool.black]\nline-length = 100\n'})
    assert load_config(tmp_path, environ={}) == Config()


def test_lists_from_toml_and_from_env(tmp_path: Path) -> None:
    write_files(tmp_path, {".localreview.toml": 'ignore = ["vendor/**", "*.min.js"]\n'})
    assert load_config(tmp_path, environ={}).ignore == ("vendor/**", "*.min.js")
    env = {"LOCALREVIEW_IGNORE": "a/**, b.py"}
    assert load_config(tmp_path, environ=env).ignore == ("a/**", "b.py")


def test_env_booleans(tmp_path: Path) -> None:
    for raw, want in (("1", True), ("true", True), ("YES", True), ("0", False), ("off", False)):
        assert load_config(tmp_path, environ={"LOCALREVIEW_ALLOW_REMOTE_HOST": raw}).allow_remote_host is want


@pytest.mark.parametrize("name", ["pyproject.toml", ".localreview.toml"])
def test_unknown_key_names_the_file_and_the_key(tmp_path: Path, name: str) -> None:
    text = "[tool.localreview]\nnum_ctxx = 4096\n" if name == "pyproject.toml" else "num_ctxx = 4096\n"
    write_files(tmp_path, {name: text})
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={})
    assert name in err.value.message and "num_ctxx" in err.value.message
    assert err.value.hint is not None and "num_ctx" in err.value.hint and err.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('num_ctx = "big"\n', ["num_ctx", "'big'", ".localreview.toml"]),
        ("num_ctx = -5\n", ["num_ctx", "positive", ".localreview.toml"]),
        ('fail_on = "severe"\n', ["fail_on", "severe", "critical"]),
        ('backend = "gpt"\n', ["backend", "ollama, openai, embedded"]),
        ('allow_remote_host = "maybe"\n', ["allow_remote_host", "maybe"]),
        ("ignore = 3\n", ["ignore"]),
    ],
)
def test_bad_values_say_what_and_where(tmp_path: Path, text: str, words: list[str]) -> None:
    write_files(tmp_path, {".localreview.toml": text})
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={})
    message = str(err.value)
    for word in words:
        assert word in message
    assert "hint:" in message


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={"LOCALREVIEW_NUM_CTX": "lots"})
    assert "LOCALREVIEW_NUM_CTX" in err.value.message


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    write_files(tmp_path, {".localreview.toml": "num_ctx = = 3\n"})
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path, environ={})
    assert ".localreview.toml" in err.value.message


# --- localreview config -------------------------------------------------------------------------


def test_config_command_shows_values_and_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path / "r", {"pyproject.toml": PYPROJECT, "a.py": "x = 1\n"})
    monkeypatch.chdir(root)
    monkeypatch.setenv("LOCALREVIEW_FAIL_ON", "low")
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:] if line.strip()}
    assert set(lines) == set(config_keys())
    assert "16384" in lines["num_ctx"] and lines["num_ctx"].endswith("pyproject.toml")
    assert " low " in lines["fail_on"] and lines["fail_on"].endswith("env LOCALREVIEW_FAIL_ON")
    assert lines["seed"].endswith("default")
    assert "pyproject.toml" in result.output.splitlines()[0]


def test_config_command_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path / "r", {".localreview.toml": 'ignore = ["gen/**"]\n', "a.py": "x = 1\n"})
    monkeypatch.chdir(root)
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11500")
    result = CliRunner().invoke(cli, ["config", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["root"] == str(root) and data["files"] == [".localreview.toml"]
    settings = data["settings"]
    assert settings["ignore"] == {"value": ["gen/**"], "source": ".localreview.toml"}
    assert settings["num_ctx"] == {"value": 8192, "source": "default"}
    # The host a review would really use, and why.
    assert settings["host"] == {"value": "127.0.0.1:11500", "source": "env OLLAMA_HOST"}


def test_config_command_reports_an_unknown_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path / "r", {".localreview.toml": "modle = 'x'\n", "a.py": "x = 1\n"})
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 2
    assert ".localreview.toml: unknown key 'modle'" in result.output
    assert "Traceback" not in result.output


def test_config_command_outside_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOCALREVIEW_NUM_CTX", "4096")
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 0, result.output
    assert "no git repository" in result.output.splitlines()[0]
    assert "env LOCALREVIEW_NUM_CTX" in result.output
