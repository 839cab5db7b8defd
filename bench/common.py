"""Shared helpers of the benchmarks: a pinned third-party code base in a throwaway git repository,
an index of it (built once and cached), and small measuring tools.

The code base is Django's source release, downloaded from PyPI at run time with pip and cached in
``$LOCALREVIEW_BENCH_CACHE`` (default ``~/.cache/localreview-bench``). It is unpacked into a temporary
directory and committed there: third-party code never enters this repository.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

DJANGO_VERSION = os.environ.get("LOCALREVIEW_BENCH_DJANGO", "5.1.4")
SIZES = ("1k", "full")
DEFAULT_SIZE = os.environ.get("LOCALREVIEW_BENCH_SIZE", "1k")
MIN_FILES = 1000

# The "1k" subset: Django's core packages that everything else builds on, then the test apps with
# the smallest mean file size until the repository holds MIN_FILES files. Embedding costs per
# chunk, not per file: this keeps >= 1,000 files at ~5.5k chunks, which a shared 2-core machine
# indexes in minutes (all 2,788 files are ~38k chunks: use --size full on a bigger machine).
CORE = (
    "django/__init__.py",
    "django/__main__.py",
    "django/shortcuts.py",
    *(f"django/{d}/" for d in ("apps", "conf", "core", "dispatch", "http", "middleware", "urls", "utils",
                              "views", "templatetags")),
    *(f"django/contrib/{d}/" for d in ("sessions", "messages", "sites", "flatpages", "redirects", "sitemaps",
                                      "syndication", "humanize", "contenttypes")),
)
GIT_IDENTITY = ("-c", "user.name=localreview-bench", "-c", "user.email=bench@localreview.invalid",
                "-c", "commit.gpgsign=false")


def bench_cache() -> Path:
    d = Path(os.environ.get("LOCALREVIEW_BENCH_CACHE") or Path.home() / ".cache" / "localreview-bench")
    d.mkdir(parents=True, exist_ok=True)
    return d


def setup_env() -> None:
    """Offline model loading, and localreview's own cache (the int8 ONNX export) kept in the bench
    cache so a re-run does not export the model again."""
    os.environ.setdefault("LOCALREVIEW_CACHE_DIR", str(bench_cache() / "localreview-cache"))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ[var] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def sdist() -> Path:
    """Django's pinned sdist, from the cache or downloaded with pip (the ordinary client)."""
    name = f"Django-{DJANGO_VERSION}.tar.gz"
    cached = bench_cache() / name
    if cached.is_file():
        return cached
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"django=={DJANGO_VERSION}", "-d", tmp, "--quiet"],
            check=True,
        )
        got = sorted(Path(tmp).glob("*.tar.gz"))
        if not got:
            raise RuntimeError(f"pip download of django=={DJANGO_VERSION} gave no sdist")
        shutil.move(str(got[0]), cached)
    return cached


def select_files(sizes: dict[str, int], size: str, min_files: int = MIN_FILES) -> list[str]:
    """Which .py files of the release go into the repository (``sizes``: path -> bytes)."""
    py = sorted(p for p in sizes if p.endswith(".py"))
    if size == "full":
        return py
    if size != "1k":
        raise ValueError(f"unknown size {size!r}: use one of {SIZES}")
    chosen = [p for p in py if any(p == c or (c.endswith("/") and p.startswith(c)) for c in CORE)]
    groups: dict[str, list[str]] = defaultdict(list)
    for p in py:
        parts = p.split("/")
        if parts[0] == "tests" and len(parts) > 2:
            groups[parts[1]].append(p)
    order = sorted(groups, key=lambda g: (sum(sizes[p] for p in groups[g]) / len(groups[g]), g))
    for g in order:
        if len(chosen) >= min_files:
            break
        chosen.extend(groups[g])
    return sorted(chosen)


@dataclass
class BenchRepo:
    root: Path
    files: int
    size: str
    base: str  # the commit holding the pristine source
    tmp: Path

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout


def make_repo(size: str = DEFAULT_SIZE, min_files: int = MIN_FILES) -> BenchRepo:
    """Unpack the selected files of the pinned release into a new temporary git repository."""
    archive = sdist()
    tmp = Path(tempfile.mkdtemp(prefix="localreview-bench-"))
    root = tmp / "django"
    root.mkdir()
    with tarfile.open(archive) as tf:
        members = {m.name.split("/", 1)[1]: m for m in tf.getmembers() if m.isfile() and "/" in m.name}
        selected = select_files({p: m.size for p, m in members.items()}, size, min_files)
        for rel in selected:
            src = tf.extractfile(members[rel])
            assert src is not None
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read())
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"Django {DJANGO_VERSION} ({size})")
    base = git(root, "rev-parse", "HEAD").strip()
    return BenchRepo(root, len(selected), size, base, tmp)


def add_size_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", choices=SIZES, default=DEFAULT_SIZE,
                        help="which files of Django to use (env LOCALREVIEW_BENCH_SIZE; default %(default)s)")
    parser.add_argument("--min-files", type=int, default=MIN_FILES, help="files in the 1k subset (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository and print its path")


# --- the index, built once per (release, subset, embedding model) ----------------------------------

def _index_key(repo: BenchRepo, model_id: str) -> str:
    return f"django-{DJANGO_VERSION}-{repo.size}-{repo.files}-{model_id}"


def save_index(repo: BenchRepo, model_id: str) -> None:
    """Keep a copy of the repository's index (built on the pristine tree) for the other benchmarks."""
    from index.paths import index_dir

    dest = bench_cache() / "index" / _index_key(repo, model_id)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(index_dir(repo.root), dest, ignore=shutil.ignore_patterns("index.lock"))


def restore_or_build_index(repo: BenchRepo, log: Callable[[str], None]) -> float:
    """An up-to-date index of the pristine tree. A cached copy is restored and every file re-read
    by the current code (chunks, definitions and references as this checkout makes them; only
    chunks never embedded before cost the model), then checked: the store holds every chunk.
    Without a cached copy the index is built now and cached. Returns the seconds spent."""
    from index.indexer import Indexer, make_embedder, open_store
    from index.paths import index_dir
    from index.state import State
    from reviewer.config import Config

    started = time.perf_counter()
    config = Config()
    model_id = make_embedder(config).model_id
    cached = bench_cache() / "index" / _index_key(repo, model_id)
    if cached.is_dir():
        shutil.copytree(cached, index_dir(repo.root), dirs_exist_ok=True)
        state = State(index_dir(repo.root) / "state.sqlite", create=False)
        try:
            state.forget_digests(list(state.file_digests()))
        finally:
            state.close()
        stats = Indexer(repo.root, config).run()
        state = State(index_dir(repo.root) / "state.sqlite", create=False)
        try:
            chunks = state.chunk_count()
        finally:
            state.close()
        in_store = open_store(repo.root, config, model_id).count()
        if in_store == chunks:
            log(f"index restored from {cached} and refreshed by this checkout's code ({chunks} chunks,"
                f" {stats.embedded} newly embedded) in {time.perf_counter() - started:.1f} s")
            if stats.embedded or stats.removed:
                save_index(repo, model_id)
            return time.perf_counter() - started
        log(f"the cached index did not match ({in_store} vectors for {chunks} chunks): rebuilding it")
    log("building the index (embeds every chunk; minutes on 2 cores) ...")
    stats = Indexer(repo.root, config).run(full=True)
    log(f"index built: {stats.files} files, {stats.chunks} chunks in {stats.seconds:.1f} s")
    save_index(repo, model_id)
    return time.perf_counter() - started


# --- measuring ---------------------------------------------------------------------------------------

def peak_rss_mb() -> tuple[float, float]:
    """High-water resident set size of this process and of its largest waited-for child, in MB
    (``ru_maxrss`` is in KiB on Linux). A forked child starts with its parent's high-water mark,
    so a ``git`` child reports the parent's size at the fork: the peak of any one process is
    ``max(self, children)``, never their sum."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def rss_report() -> str:
    own, children = peak_rss_mb()
    return (f"peak RSS {own:.0f} MB (this process), {children:.0f} MB (largest child; a forked child"
            f" inherits the parent's high-water mark)")


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min) on {os.cpu_count()} cores"


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` holds the seconds."""
    box = [0.0]
    started = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - started


def profiled(fn: Callable[[], T], top: int = 15) -> tuple[T, str]:
    """Run ``fn`` under cProfile; the result and its hot spots: the top functions by cumulative
    time (where the time goes, callers included) and by own time (the leaves that burn it)."""
    prof = cProfile.Profile()
    result = prof.runcall(fn)
    report: list[str] = []
    for key, title in (("cumulative", "by cumulative time"), ("tottime", "by own time")):
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(top)
        lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
        # Drop pstats' preamble (totals, ordering) but keep the table.
        start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
        report.append(f"    -- {title}")
        report.extend("    " + ln for ln in lines[start:])
    return result, "\n".join(report)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
