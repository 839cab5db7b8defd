"""A sentence-transformers ONNX model run with onnxruntime and tokenizers alone.

Importing torch and sentence-transformers costs seconds (and their install ~1 GB); reviewing and
indexing need neither: tokenize, run the graph, mean-pool over the attention mask, normalise —
what the model's own modules (Transformer → Pooling(mean) → Normalize) do.

Batching is by length: texts are tokenized once, sorted by token count and cut into batches
of similar length, so little work goes into padding; a batch of short texts holds more of them
(up to a token budget), a batch of long ones fewer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

TOKEN_BUDGET = 2048  # padded tokens per onnxruntime call, past the batch size: more texts when they are short
MAX_BATCH = 128
THREADS_ENV = "LOCALREVIEW_EMBED_THREADS"


def session_threads() -> int:
    """Threads for one onnxruntime session: ``LOCALREVIEW_EMBED_THREADS``, else every core.

    On an idle 2-core machine two intra-op threads embed 1.85x faster than one (57 vs 31 chunks/s,
    alternated; bench/README.md); with another process holding a core, two were ~13 % slower than
    one. An index someone waits for gets every core; the background build (index/background.py)
    asks for one core less and runs at a lower priority. Spinning is off (see ``OrtSentenceModel``)."""
    raw = os.environ.get(THREADS_ENV, "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return max(1, os.cpu_count() or 1)


class OrtSentenceModel:
    def __init__(self, model_dir: Path, onnx_file: Path, max_seq_length: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        pooling = model_dir / "1_Pooling" / "config.json"
        if pooling.is_file() and json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", True) is not True:
            raise ValueError("only mean pooling is supported by the onnxruntime path")
        options = ort.SessionOptions()
        options.intra_op_num_threads = session_threads()
        # The graph is one chain of ops: parallel execution only adds scheduling (measured slower).
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Busy-waiting worker threads stall every op when another process holds a core.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: the CLI owns stderr
        # Every batch has its own shape, and the memory-pattern cache keeps one plan per shape: RSS
        # grew by ~400 MB per 90 texts with it, and stays flat (the arena's high-water mark) without.
        options.enable_mem_pattern = False
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=max_seq_length)
        tok.no_padding()  # padded here, per batch, to the batch's own longest text
        self.tokenizer = tok
        self.pad_id = 0

    def batches(self, lengths: Sequence[int], batch_size: int) -> list[list[int]]:
        """Indices of the texts, shortest first, cut into batches of at most ``TOKEN_BUDGET`` padded
        tokens (and at least ``batch_size`` texts when they are long, at most ``MAX_BATCH``)."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        out: list[list[int]] = []
        cur: list[int] = []
        for i in order:
            longest = lengths[i]  # sorted: the newest is the longest of the batch
            room = max(batch_size, TOKEN_BUDGET // max(longest, 1))
            if cur and (len(cur) + 1 > min(room, MAX_BATCH)):
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 32, **_ignored: Any) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids_list = [e.ids for e in encodings]
        result: np.ndarray | None = None
        for idx in self.batches([len(x) for x in ids_list], batch_size):
            width = max(len(ids_list[i]) for i in idx)
            ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(ids_list[i])
                ids[row, :n] = ids_list[i]
                mask[row, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = np.asarray(self.session.run(None, feed)[0], dtype=np.float32)
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if result is None:
                result = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            result[idx] = pooled
        assert result is not None
        return result
