"""One full index of a repository by whichever localreview is on PYTHONPATH, as a JSON line.

Run by ``bench.index_compare`` as a script (not a module) so that an old checkout, which has no
copy of this file, can be measured with the same code:

    PYTHONPATH=/tmp/old python bench/index_run.py ROOT [--raw-every 4] [--dump vectors.npz] [--threads]

Uses only the API that both old and new code have (``make_embedder``, ``Indexer.run``, ``walk``,
``analyze_file``). Prints one JSON object: model load seconds, full-index seconds, chunks, peak RSS,
the raw embedder rate on a sample of the same chunk texts, and (new code, ``--threads``) the model
rate with 1 and 2 onnxruntime threads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("root", type=Path)
    p.add_argument("--raw-every", type=int, default=4, help="measure the raw embedder on every N-th group of 32")
    p.add_argument("--dump", type=Path, help="write the distinct chunk texts and their index vectors here (.npz)")
    p.add_argument("--threads", action="store_true", help="also time the model with 1 and 2 threads")
    p.add_argument("--update", action="store_true", help="also time a no-op update after the full index")
    args = p.parse_args()
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ[var] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import numpy as np

    from index.chunk import analyze_file
    from index.indexer import Indexer, make_embedder
    from index.paths import index_dir
    from index.state import State
    from index.walk import walk
    from reviewer.config import Config

    config = Config()
    emb = make_embedder(config)
    started = time.perf_counter()
    emb.embed(["def warm_up():\n    return 1\n"])  # loads (or first builds) the model
    load_s = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    stats = Indexer(args.root, config, embedder=emb).run(full=True)
    out: dict[str, object] = {
        "load_s": round(load_s, 2),
        "index_s": round(stats.seconds, 2),
        "files": stats.files,
        "chunks": stats.chunks,
        "embedded": stats.embedded,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_load_mb": round(rss_before, 1),
        "model_id": emb.model_id,
    }
    if args.update:
        noop = Indexer(args.root, config, embedder=emb).run()
        out["noop_update_s"] = round(noop.seconds, 3)

    # The same chunk texts, in file order, in plain groups of 32: the embedder's own rate.
    limit = min(config.chunk_tokens, emb.max_tokens)
    seen: dict[str, str] = {}
    for f in walk(args.root).files:
        for c in analyze_file(f.path, f.text, emb.count_tokens, limit).chunks:
            seen.setdefault(c.content_hash, c.embed_text)
    texts = list(seen.values())
    groups = [texts[i : i + 32] for i in range(0, len(texts), 32)][:: max(1, args.raw_every)]
    started = time.perf_counter()
    for g in groups:
        emb.embed(g)
    raw_s = time.perf_counter() - started
    n_raw = sum(len(g) for g in groups)
    out["raw_texts"] = n_raw
    out["raw_rate"] = round(n_raw / raw_s, 2)
    out["pipeline_rate"] = round(stats.chunks / stats.seconds, 2)

    if args.threads:
        out["threads"] = _threads(emb, groups)
    if args.dump:
        state = State(index_dir(args.root) / "state.sqlite", create=False)
        try:
            vectors = state.cached_vectors(emb.model_id, list(seen))
        finally:
            state.close()
        hashes = [h for h in seen if h in vectors]
        np.savez(args.dump, texts=np.array([seen[h] for h in hashes], dtype=object),
                 vectors=np.stack([vectors[h] for h in hashes]))
    print(json.dumps(out), flush=True)
    return 0


def _threads(emb: object, groups: list[list[str]]) -> dict[str, float]:
    """Model rate with 1 and 2 intra-op threads on the same groups, alternated (ABBA)."""
    from index.embed import _load_int8  # new code only
    from index.ort_model import OrtSentenceModel

    model_dir = getattr(emb, "model_dir")  # noqa: B009 - the embedder's type differs by checkout
    models: dict[str, OrtSentenceModel] = {}
    for n in ("1", "2"):
        os.environ["LOCALREVIEW_EMBED_THREADS"] = n
        models[n] = _load_int8(model_dir)
    os.environ.pop("LOCALREVIEW_EMBED_THREADS")
    seconds = {"1": 0.0, "2": 0.0}
    texts = {"1": 0, "2": 0}
    for k, g in enumerate(groups):
        for n in (("1", "2") if k % 2 == 0 else ("2", "1")):
            started = time.perf_counter()
            models[n].encode(g)
            seconds[n] += time.perf_counter() - started
            texts[n] += len(g)
    return {f"intra_{n}": round(texts[n] / seconds[n], 2) for n in seconds}


if __name__ == "__main__":
    sys.exit(main())
