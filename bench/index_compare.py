"""Old vs new indexing, side by side in one run, on the same Django files; int8 vs fp32 cosine on
every chunk; and (``--scale``) a 10k-file repository.

    python -m bench.index_compare [--files 200] [--old-rev 71b5b45] [--no-cosine]
    python -m bench.index_compare --scale [--scale-files 10000]

The old code is ``git archive``d from this repository at ``--old-rev`` into a temporary folder and
run in a subprocess (``bench/index_run.py`` with PYTHONPATH set to the checkout), alternating with
the new code (old, new on the tuning part; new, old on the held-out part). Each run builds the
index from scratch with the model loaded beforehand (its load is reported apart).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import bench_cache, git, load_average, make_repo, setup_env, verdict

HERE = Path(__file__).resolve().parent
TREE = HERE.parent
TARGET_RATIO = 1.5
TARGET_COSINE = 0.98
TARGET_PEAK_MB = 1536.0


def _split(root: Path, per_part: int) -> dict[str, list[str]]:
    """Two disjoint parts of the repository's files, by a hash of the path: 'tuning' (looked at
    while tuning the batching) and 'held-out' (never looked at)."""
    files = sorted(git(root, "ls-files").split())
    parts: dict[str, list[str]] = {"tuning": [], "held-out": []}
    for f in sorted(files, key=lambda p: hashlib.sha1(p.encode()).hexdigest()):
        part = "tuning" if int(hashlib.sha1(f.encode()).hexdigest()[-1], 16) % 2 == 0 else "held-out"
        if len(parts[part]) < per_part:
            parts[part].append(f)
    return parts


def _repo_of(src: Path, files: list[str], dest: Path) -> Path:
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "bench")
    return dest


def _old_tree(rev: str, tmp: Path) -> Path:
    dest = tmp / f"localreview-{rev}"
    dest.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=TREE, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def _run(tree: Path, root: Path, cache: Path, *extra: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree), "LOCALREVIEW_CACHE_DIR": str(cache)}
    proc = subprocess.run([sys.executable, str(HERE / "index_run.py"), str(root), *extra],
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"index run failed ({tree}):\n{proc.stderr[-3000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _cosine(dumps: list[Path]) -> None:
    from sentence_transformers import SentenceTransformer

    from index.embed import default_model_dir

    print(f"\n## int8 (index vectors) vs sentence-transformers fp32 (torch), every chunk  ({load_average()})")
    model = SentenceTransformer(str(default_model_dir()), device="cpu", local_files_only=True)
    for dump in dumps:
        data = np.load(dump, allow_pickle=True)
        texts = [str(t) for t in data["texts"]]
        fp32 = np.asarray(model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True))
        cos = np.sum(fp32 * data["vectors"], axis=1)
        below = int(np.sum(cos < TARGET_COSINE))
        print(f"  {dump.stem}: {len(texts)} chunks, min {cos.min():.4f}, mean {cos.mean():.4f}, {below} below"
              f" {TARGET_COSINE}  (target min ≥ {TARGET_COSINE}: {verdict(float(cos.min()) >= TARGET_COSINE)})")
        for i in np.argsort(cos)[:3]:
            print(f"    {float(cos[i]):.4f}  {texts[int(i)].splitlines()[0][:90]}")


def compare(args: argparse.Namespace) -> None:
    repo = make_repo("1k")
    tmp = Path(tempfile.mkdtemp(prefix="localreview-compare-"))
    try:
        old = _old_tree(args.old_rev, tmp)
        parts = _split(repo.root, args.files)
        caches = {"old": bench_cache() / f"cache-{args.old_rev}", "new": bench_cache() / "localreview-cache"}
        trees = {"old": old, "new": TREE}
        orders = {"tuning": ("old", "new"), "held-out": ("new", "old")}
        results: dict[tuple[str, str], dict[str, object]] = {}
        dumps: list[Path] = []
        for part, files in parts.items():
            for which in orders[part]:
                root = _repo_of(repo.root, files, tmp / f"{part}-{which}")
                extra = ["--raw-every", str(args.raw_every)]
                if which == "new":
                    dumps.append(tmp / f"{part}.npz")
                    extra += ["--dump", str(dumps[-1]), "--threads"]
                print(f"  {part} / {which}: indexing {len(files)} files  ({load_average()})", flush=True)
                results[(part, which)] = _run(trees[which], root, caches[which], *extra)
                print(f"    {json.dumps(results[(part, which)])}", flush=True)
        print(f"\n## old ({args.old_rev}) vs new, full index with the model loaded (chunks/s)")
        print("| part | files | chunks | old pipeline | new pipeline | new ÷ old | old raw | new raw |"
              " old pipeline ÷ raw | new pipeline ÷ raw | peak RSS old / new |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for part in parts:
            o, n = results[(part, "old")], results[(part, "new")]
            ratio = float(n["pipeline_rate"]) / float(o["pipeline_rate"])  # type: ignore[arg-type]
            print(f"| {part} | {n['files']} | {n['chunks']} | {o['pipeline_rate']} | {n['pipeline_rate']} |"
                  f" **{ratio:.2f}×** ({verdict(ratio >= TARGET_RATIO)}) | {o['raw_rate']} | {n['raw_rate']} |"
                  f" {float(o['pipeline_rate']) / float(o['raw_rate']):.2f} |"  # type: ignore[arg-type]
                  f" {float(n['pipeline_rate']) / float(n['raw_rate']):.2f} |"  # type: ignore[arg-type]
                  f" {o['peak_rss_mb']} / {n['peak_rss_mb']} MB |")
        for part in parts:
            print(f"  onnxruntime threads, new model, {part}: {results[(part, 'new')].get('threads')} chunks/s")
        if not args.no_cosine:
            _cosine(dumps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        repo.cleanup()


def _small_files(src: Path, n: int, dest: Path, lines: int) -> int:
    """``n`` small files cut from the release's Python files at blank lines (about ``lines`` lines
    each), so that a 10k-file repository stays within a bounded run on 2 cores."""
    made = 0
    for path in sorted(src.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        piece: list[str] = []
        k = 0
        for line in text:
            piece.append(line)
            if len(piece) >= lines and not line.strip():
                out = dest / path.relative_to(src).with_suffix("") / f"part{k}.py"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text("".join(piece), encoding="utf-8")
                made, k, piece = made + 1, k + 1, []
                if made >= n:
                    return made
    return made


def scale(args: argparse.Namespace) -> None:
    repo = make_repo("full")
    tmp = Path(tempfile.mkdtemp(prefix="localreview-scale-"))
    try:
        root = tmp / "scale"
        made = _small_files(repo.root, args.scale_files, root, args.scale_lines)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "scale")
        print(f"## scale: {made} files of ~{args.scale_lines} lines cut from Django's source  ({load_average()})",
              flush=True)
        started = time.perf_counter()
        r = _run(TREE, root, bench_cache() / "localreview-cache", "--raw-every", "50", "--update")
        print(f"  {json.dumps(r)}")
        print(f"  full index {r['index_s']} s ({r['chunks']} chunks, {r['pipeline_rate']} chunks/s), no-op update"
              f" {r['noop_update_s']} s, peak RSS {r['peak_rss_mb']} MB (target ≤ {TARGET_PEAK_MB:.0f}:"
              f" {verdict(float(r['peak_rss_mb']) <= TARGET_PEAK_MB)}); wall {time.perf_counter() - started:.0f} s"  # type: ignore[arg-type]
              f"  ({load_average()})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        repo.cleanup()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=200, help="files per part (tuning, held-out)")
    p.add_argument("--old-rev", default="71b5b45", help="the commit measured as 'old'")
    p.add_argument("--raw-every", type=int, default=4, help="raw embedder on every N-th group of 32")
    p.add_argument("--no-cosine", action="store_true", help="skip the fp32 cosine check (needs the torch extra)")
    p.add_argument("--scale", action="store_true", help="instead: one 10k-file repository, new code only")
    p.add_argument("--scale-files", type=int, default=10000)
    p.add_argument("--scale-lines", type=int, default=12, help="lines per generated file (about one chunk)")
    args = p.parse_args()
    setup_env()
    print(f"localreview index_compare  ({load_average()})", flush=True)
    (scale if args.scale else compare)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
