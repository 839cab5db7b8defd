"""One frozen ``Config``: defaults < pyproject ``[tool.localreview]`` / ``.localreview.toml``
< ``LOCALREVIEW_*`` environment < command-line flags.

Every value remembers where it came from so ``localreview config`` can explain itself.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

SEVERITIES = ("low", "medium", "high", "critical")
FAIL_ON = ("none", *SEVERITIES)
BACKENDS = ("ollama", "openai", "embedded")
FORMATS = ("text", "json", "sarif", "markdown", "codequality")
EMBED_BACKENDS = ("auto", "torch", "onnx", "onnx-int8")

_CHOICES: dict[str, tuple[str, ...]] = {
    "fail_on": FAIL_ON,
    "backend": BACKENDS,
    "format": FORMATS,
    "embed_backend": EMBED_BACKENDS,
}


@dataclass(frozen=True)
class Config:
    # --- index ---
    store_url: str | None = None
    embedding_model: str | None = None
    embed_backend: str = "auto"
    embed_batch_size: int = 32
    max_file_bytes: int = 1_000_000
    max_line_length: int = 1_000
    exclude: tuple[str, ...] = ()
    chunk_tokens: int = 256
    # --- review ---
    backend: str | None = None
    model: str | None = None
    host: str | None = None
    num_ctx: int = 8192
    output_reserve: int | None = None  # None: an eighth of the window, 256 to 1024 tokens
    format: str = "text"
    fail_on: str = "high"
    timeout: float = 600.0
    keep_alive: str = "5m"
    seed: int = 42
    # --- where it is used ---
    fail_open: bool = True  # the hook only: a commit is never blocked because no model can run here
    hook_timeout: float = 300.0
    allow_remote_host: bool = False
    ignore: tuple[str, ...] = ()
    baseline: str | None = None
    # --- analyzers (reviewer/analyzers) ---
    analyzers: bool = True  # false: no bandit, secrets or rule pack
    rules_dir: str | None = None  # a folder of the user's own rules, relative to the repository root
    analyzers_only: bool = False  # findings from the analyzers alone: no model is sought or called
    verify: bool | None = None  # a second call per batch checks the model's findings; None: on for real models
    # Where each non-default value came from: key -> "pyproject.toml", "env LOCALREVIEW_X", "flag --x".
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def answer_reserve(self) -> int:
        """Tokens of the window kept for the model's answer. A 2k window cannot spare 1k for
        the answer; an eighth of the window (256 to 1024) leaves room for twenty findings."""
        if self.output_reserve is not None:
            return self.output_reserve
        return max(256, min(1024, self.num_ctx // 8))

    def source_of(self, key: str) -> str:
        return self.sources.get(key, "default")


def config_keys() -> list[str]:
    return [f.name for f in dataclasses.fields(Config) if f.name != "sources"]


def _field_type(name: str) -> Any:
    hints = typing.get_type_hints(Config)
    return hints[name]


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Turn a TOML / env / flag value into the field's type, or say exactly what is wrong."""
    tp = _field_type(name)
    optional = False
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) != len(typing.get_args(tp))
        tp = args[0]
    if value is None and optional:
        return None
    try:
        if tp is bool:
            if isinstance(value, bool):
                out: Any = value
            elif isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                out = True
            elif isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                out = False
            else:
                raise ValueError(value)
        elif tp is int:
            if isinstance(value, bool):
                raise ValueError(value)
            out = int(value)
        elif tp is float:
            out = float(value)
        elif tp is str:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ValueError(value)
            out = str(value)
        elif typing.get_origin(tp) is tuple:
            if isinstance(value, str):
                items = [v.strip() for v in value.split(",") if v.strip()]
            elif isinstance(value, list | tuple):
                items = [str(v) for v in value]
            else:
                raise ValueError(value)
            out = tuple(items)
        else:  # pragma: no cover - every field type is handled above
            out = value
    except (TypeError, ValueError):
        raise ConfigError(
            f"{origin}: {name} = {value!r} is not a valid {getattr(tp, '__name__', tp)}",
            hint=f"fix or remove '{name}' in {origin}",
        ) from None
    if name in _CHOICES and out not in _CHOICES[name]:
        raise ConfigError(
            f"{origin}: {name} = {out!r} is not one of {', '.join(_CHOICES[name])}",
            hint=f"set '{name}' to one of: {', '.join(_CHOICES[name])}",
        )
    positive = ("num_ctx", "output_reserve", "chunk_tokens", "max_file_bytes", "embed_batch_size")
    if name in positive and out is not None and out <= 0:
        raise ConfigError(f"{origin}: {name} must be positive, not {out}", hint=f"fix '{name}' in {origin}")
    return out


def _file_values(root: Path) -> tuple[dict[str, Any], str | None]:
    """Values from ``.localreview.toml`` (preferred) or ``pyproject.toml [tool.localreview]``."""
    dedicated = root / ".localreview.toml"
    pyproject = root / "pyproject.toml"
    for path, table in ((dedicated, None), (pyproject, ("tool", "localreview"))):
        if not path.is_file():
            continue
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}", hint=f"fix the TOML syntax of {path}") from None
        if table is not None:
            for part in table:
                data = data.get(part, {})
            if not data:
                continue
        name = path.name
        for key in data:
            if key not in config_keys():
                raise ConfigError(
                    f"{name}: unknown key '{key}'",
                    hint=f"remove '{key}' from {path}; known keys: {', '.join(config_keys())}",
                )
        return data, name
    return {}, None


def load_config(
    root: Path | None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Merge the four layers. ``flags`` holds only options the user actually gave (None = not given)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if root is not None:
        data, fname = _file_values(root)
        for key, raw in data.items():
            values[key] = _coerce(key, raw, fname or "config")
            sources[key] = fname or "config"
    for key in config_keys():
        var = f"LOCALREVIEW_{key.upper()}"
        if var in env and env[var] != "":
            values[key] = _coerce(key, env[var], f"environment variable {var}")
            sources[key] = f"env {var}"
    for key, raw in (flags or {}).items():
        if raw is None:
            continue
        if key not in config_keys():
            raise ConfigError(f"unknown option {key}")
        flag = "--" + key.replace("_", "-")
        values[key] = _coerce(key, raw, f"option {flag}")
        sources[key] = f"flag {flag}"
    return Config(**values, sources=sources)


def ollama_host_env(config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """OLLAMA_HOST when it decides where code goes: the Ollama backend (chosen, or possibly
    picked by auto-detection) honours it whenever no host is configured. The one place this
    rule is written; the privacy guard, the opt-in check, the cache key and `config` use it."""
    if config.host is not None or config.backend not in (None, "ollama"):
        return None
    env = os.environ if environ is None else environ
    return env.get("OLLAMA_HOST") or None


def root_or_none(cwd: Path) -> Path | None:
    """The repository containing ``cwd``; None outside one (only the environment and flags apply)."""
    from index.walk import git_root
    from reviewer.errors import LocalReviewError

    try:
        return git_root(cwd)
    except LocalReviewError:
        return None


# What an unset (None) value means, for the keys whose default is decided elsewhere.
_UNSET = {
    "backend": "auto",
    "model": "auto",
    "host": "auto: OLLAMA_HOST or 127.0.0.1:11434",
    "output_reserve": "auto: num_ctx/8, 256-1024",
    "store_url": "none: <repo>/.localreview/",
    "embedding_model": "bundled all-MiniLM-L6-v2",
    "baseline": ".localreview-baseline.json",
}


def effective_config(config: Config, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Each key with its value, a readable form of it, and where it came from."""
    env = os.environ if environ is None else environ
    rows: list[dict[str, Any]] = []
    for key in config_keys():
        value: Any = getattr(config, key)
        source = config.source_of(key)
        if key == "host" and value is None and ollama_host_env(config, env):
            value, source = ollama_host_env(config, env), "env OLLAMA_HOST"  # the Ollama backend honours it
        if isinstance(value, tuple):
            value = list(value)
        if value is None:
            shown = _UNSET.get(key, "none")
        elif isinstance(value, list):
            shown = ", ".join(value) if value else "none"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = str(value)
        rows.append({"key": key, "value": value, "shown": shown, "source": source})
    return rows
