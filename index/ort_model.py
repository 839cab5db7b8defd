"""A sentence-transformers ONNX model run with onnxruntime and tokenizers alone.

Importing torch and sentence-transformers costs seconds; a pre-commit hook pays that on every
commit that changes code. Once the int8 model is exported, embedding needs neither: tokenize,
run the graph, mean-pool over the attention mask, normalise — what the model's own modules
(Transformer → Pooling(mean) → Normalize) do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class OrtSentenceModel:
    def __init__(self, model_dir: Path, onnx_file: Path, max_seq_length: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        pooling = model_dir / "1_Pooling" / "config.json"
        if pooling.is_file() and json.loads(pooling.read_text()).get("pooling_mode", "mean") != "mean":
            raise ValueError("only mean pooling is supported by the onnxruntime path")
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.log_severity_level = 3  # errors only: the CLI owns stderr
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(max_length=max_seq_length)
        tok.enable_padding()
        self.tokenizer = tok

    def encode(self, texts: Sequence[str], batch_size: int = 32, **_ignored: Any) -> np.ndarray:
        result: np.ndarray | None = None
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
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
        return result if result is not None else np.zeros((0, 0), dtype=np.float32)
