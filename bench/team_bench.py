"""The shared index at scale: a full index through a real `chroma run`, a one-file update, and a plan
from a second clone, on a repository of 10k+ real files.

The repository is Django's pinned source release (see bench/common.py: downloaded from PyPI at run
time, never committed here), replicated into ``copy0/ .. copyN/`` until it holds >= 10,000 files. The
copies' paths differ, so their chunks are distinct: the server holds N times the chunks of one copy.

Embedding is the one cost that does not depend on the design (the model's chunks per second). On 2
shared cores it runs at ~20-40 chunks/s, so embedding every chunk of 10k files would take hours. The
benchmark therefore says plainly what it does:

1. measures the real model's throughput on a sample of the repository's chunks;
2. runs the full-scale index with a *stand-in embedder* (the real tokenizer, so chunking is identical,
   and deterministic 384-d vectors at no cost) and measures everything else at full scale: walking,
   parsing, the server's upserts, the file records, the clone's view;
3. extrapolates a real full index as (2) + chunks / (1), and checks that extrapolation against a real
   index of a bounded subset through the same server;
4. measures a one-file update and a second clone (0 embeddings, then a plan) at full scale.

Each step runs in a fresh process, so its peak RSS is its own. Run:
``python -m bench.team_bench [--copies N] [--size 1k|full] [--sample 512] [--subset-files 200]``.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import DJANGO_VERSION, add_size_args, git, load_average, make_repo, setup_env

MIN_FILES = 10_000
STANDIN_SUFFIX = "-standin"


# --- the stand-in embedder (step 2) ---------------------------------------------------------------
def _install_standin() -> None:
    """Every make_embedder() in this process returns an embedder that chunks exactly like the real
    one (same tokenizer, same limits) and returns deterministic unit vectors without a model."""
    from index.embed import SentenceTransformerEmbedder
    from index.indexer import _EMBEDDERS
    from reviewer.config import Config

    class StandIn(SentenceTransformerEmbedder):
        def embed(self, texts: Any) -> np.ndarray:
            out = np.empty((len(texts), 384), dtype=np.float32)
            for i, t in enumerate(texts):
                seed = int.from_bytes(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:8], "little")
                v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
                out[i] = v / np.linalg.norm(v)
            return out

    cfg = Config()
    real = StandIn(cfg.embedding_model, backend=cfg.embed_backend, batch_size=cfg.embed_batch_size)
    real.model_id += STANDIN_SUFFIX  # its own collections on the server: never mixed with real vectors
    _EMBEDDERS[(cfg.embedding_model, cfg.embed_backend, cfg.embed_batch_size)] = real


# --- steps, each in a fresh process -------------------------------------------------------------
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step_index(repo: str, standin: bool) -> dict[str, Any]:
    from index.indexer import Indexer
    from reviewer.config import load_config

    if standin:
        _install_standin()
    root = Path(repo)
    started = time.perf_counter()
    stats = Indexer(root, load_config(root)).run()
    return {"seconds": time.perf_counter() - started, **stats.to_json()}


def _step_plan(repo: str, standin: bool) -> dict[str, Any]:
    from reviewer.api import ReviewRequest, plan

    if standin:
        _install_standin()
    root = Path(repo)
    os.chdir(root)  # the command resolves pathspecs against where the user stands
    started = time.perf_counter()
    built = plan(ReviewRequest(diff_args=("HEAD~1",), cwd=root)).to_json()
    seconds = time.perf_counter() - started
    context = [c for b in built.get("batches", []) for c in b["context"]]
    return {"seconds": seconds, "exit": 0, "context": len(context),
            "similar": sum(1 for c in context if c["reason"] == "similar"), "notes": built.get("notes", [])}


def _step_throughput(repo: str, sample: int) -> dict[str, Any]:
    """The real model's chunks per second on ``sample`` chunks of the repository (model load excluded)."""
    from index.chunk import analyze_file
    from index.indexer import make_embedder
    from index.walk import walk
    from reviewer.config import Config

    embedder = make_embedder(Config())
    limit = min(256, embedder.max_tokens)
    texts: list[str] = []
    for f in walk(Path(repo)).files:
        texts += [c.embed_text for c in analyze_file(f.path, f.text, embedder.count_tokens, limit).chunks]
        if len(texts) >= sample + 32:
            break
    embedder.embed(texts[:32])  # loads the model
    started = time.perf_counter()
    embedder.embed(texts[32 : 32 + sample])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "chunks": min(sample, len(texts) - 32),
            "rate": min(sample, len(texts) - 32) / seconds, "model_id": embedder.model_id}


def _child(fn_name: str, args: tuple[Any, ...], queue: Any) -> None:
    setup_env()
    try:
        result = globals()[fn_name](*args)
        result["peak_rss_mb"] = _peak_mb()
        queue.put(result)
    except BaseException as exc:
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def run_step(fn_name: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn_name, args, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    if "error" in result:
        raise RuntimeError(f"{fn_name} failed: {result['error']}")
    return result


# --- the server and the repository ---------------------------------------------------------------
class Chroma:
    def __init__(self, path: Path) -> None:
        import httpx

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.path, self.url = path, f"http://127.0.0.1:{self.port}"
        exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        self.proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port",
                                      str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("chroma run did not start")

    def rss_mb(self) -> float:
        import psutil

        return float(psutil.Process(self.proc.pid).memory_info().rss) / 2**20

    def disk_mb(self) -> float:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file()) / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def replicate(src: Path, dest: Path, min_files: int) -> int:
    """``copy0/ .. copyN/`` of the release's files in one new repository, >= ``min_files`` files."""
    files = [p for p in src.rglob("*") if p.is_file() and ".git" not in p.relative_to(src).parts]
    copies = -(-min_files // len(files))
    dest.mkdir(parents=True)
    for k in range(copies):
        for p in files:
            target = dest / f"copy{k}" / p.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", f"Django {DJANGO_VERSION} x{copies}")
    return copies * len(files)


def one_file_change(root: Path) -> str:
    rel = "copy0/django/utils/text.py"
    path = root / rel
    path.write_text(path.read_text(encoding="utf-8") + "\n\ndef shout(value):\n    return str(value).upper() + '!'\n",
                    encoding="utf-8")
    git(root, "commit", "-qam", "one-file change")
    return rel


def subset(src: Path, dest: Path, n: int) -> int:
    """A real, bounded repository: the first ``n`` files (sorted) of the release."""
    files = sorted(p for p in src.rglob("*.py") if ".git" not in p.relative_to(src).parts)[:n]
    for p in files:
        target = dest / "sub" / p.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "subset")
    return len(files)


# --- the report ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_args(parser)
    parser.add_argument("--files", type=int, default=MIN_FILES, help="at least this many files (default 10000)")
    parser.add_argument("--sample", type=int, default=512, help="chunks for the real model's throughput")
    parser.add_argument("--subset-files", type=int, default=200, help="files of the real-model check (0: skip)")
    args = parser.parse_args(argv)
    setup_env()
    tmp = Path(tempfile.mkdtemp(prefix="localreview-team-bench-"))
    base = make_repo(args.size, args.min_files)
    server = Chroma(tmp / "chroma-data")
    try:
        print(f"localreview team bench: Django {DJANGO_VERSION} ({args.size}: {base.files} files), {load_average()}")
        a = tmp / "a"
        t0 = time.perf_counter()
        n_files = replicate(base.root, a, args.files)
        base.cleanup()  # everything below reads the copies in this run's own directory
        print(f"repository: {n_files} files ({n_files // base.files} copies) built in"
              f" {time.perf_counter() - t0:.0f} s; chroma run at {server.url}")
        os.environ["LOCALREVIEW_STORE_URL"] = server.url

        rate = run_step("_step_throughput", str(a), args.sample)
        print(f"[1] real model: {rate['rate']:.1f} chunks/s on {rate['chunks']} chunks ({rate['model_id']}),"
              f" peak RSS {rate['peak_rss_mb']:.0f} MB")

        full = run_step("_step_index", str(a), True)
        embed_real = full["embedded"] / rate["rate"]
        print(f"[2] full index through the server, stand-in embedder: {full['files']} files,"
              f" {full['chunks']} chunks in {full['seconds']:.1f} s"
              f" ({full['chunks'] / full['seconds']:.0f} chunks/s of everything but the model),"
              f" peak RSS {full['peak_rss_mb']:.0f} MB; server RSS {server.rss_mb():.0f} MB,"
              f" disk {server.disk_mb():.0f} MB")
        print(f"    extrapolated real full index: {full['seconds']:.0f} s + {full['embedded']} chunks /"
              f" {rate['rate']:.1f} chunks/s = {(full['seconds'] + embed_real) / 3600:.2f} h")

        if args.subset_files:
            s_root = tmp / "subset"
            n_sub = subset(a / "copy0", s_root, args.subset_files)
            real = run_step("_step_index", str(s_root), False)
            plumbing = full["seconds"] / max(full["chunks"], 1)
            predicted = real["chunks"] * (plumbing + 1 / rate["rate"])
            print(f"[3] check, real model through the server: {n_sub} files, {real['chunks']} chunks in"
                  f" {real['seconds']:.1f} s (incl. model load); the extrapolation predicts {predicted:.1f} s"
                  f" (ratio measured/predicted {real['seconds'] / predicted:.2f}), peak RSS"
                  f" {real['peak_rss_mb']:.0f} MB")

        rel = one_file_change(a)
        upd = run_step("_step_index", str(a), True)
        print(f"[4] one-file update ({rel}): {upd['embedded']} chunks embedded, {upd['reused']} reused, in"
              f" {upd['seconds']:.1f} s (stand-in; the real model adds {upd['embedded'] / rate['rate']:.1f} s),"
              f" peak RSS {upd['peak_rss_mb']:.0f} MB")

        b = tmp / "b"
        git(tmp, "clone", "-q", str(a), str(b))
        view = run_step("_step_index", str(b), True)
        print(f"[5] second clone, `index`: {view['embedded']} embedded, {view['chunks']} chunks of"
              f" {view['files']} files read from the server in {view['seconds']:.1f} s, peak RSS"
              f" {view['peak_rss_mb']:.0f} MB; baseline, this run: a clone that indexes again (the old"
              f" shared mode) ~{full['seconds'] + embed_real:.0f} s,"
              f" x{(full['seconds'] + embed_real) / view['seconds']:.0f}")
        plan = run_step("_step_plan", str(b), True)
        print(f"    then `diff HEAD~1 --dry-run`: {plan['seconds']:.1f} s, {plan['context']} context items"
              f" ({plan['similar']} similar), exit {plan['exit']}, peak RSS {plan['peak_rss_mb']:.0f} MB")
        c = tmp / "c"
        git(tmp, "clone", "-q", str(a), str(c))
        cold = run_step("_step_plan", str(c), True)
        print(f"[6] fresh runner, no `index` step, `diff HEAD~1 --dry-run`: {cold['seconds']:.1f} s (its view"
              f" fetched inside), {cold['context']} context items, peak RSS {cold['peak_rss_mb']:.0f} MB")
        print(f"server at the end: RSS {server.rss_mb():.0f} MB, disk {server.disk_mb():.0f} MB; {load_average()}")

        k = 100_000 / full["files"]
        print(f"for a 100k-file repository (x{k:.1f}, linear in files and chunks): full index"
              f" ~{(full['seconds'] + embed_real) * k / 3600:.1f} h at this machine's model throughput"
              f" (~{embed_real * k / 3600:.1f} h of it embedding; once per team, not per clone), server disk"
              f" ~{server.disk_mb() * k / 1024:.1f} GB, a second clone's view ~{view['seconds'] * k / 60:.1f} min"
              f" (0 embeddings), a one-file update ~{upd['seconds'] * k:.0f} s if it scales with the walk"
              f" (it reads and hashes every file), the plan's own share stays per-diff")
    finally:
        server.stop()
        base.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
