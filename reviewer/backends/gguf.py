"""The one GGUF header reader: metadata (context length, architecture) without loading weights."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def _read(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack(fmt, data)[0]


def _gguf_value(f: BinaryIO, kind: int) -> Any:
    if kind in _GGUF_SCALARS:
        return _read(f, _GGUF_SCALARS[kind])
    if kind == 8:
        return f.read(_read(f, "<Q")).decode("utf-8", "replace")
    if kind == 9:
        item, count = _read(f, "<I"), _read(f, "<Q")
        for _ in range(count):  # arrays (the vocabulary) are skipped, not kept
            _gguf_value(f, item)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def gguf_metadata(path: Path, wanted: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The key/value header of a GGUF file (v2/v3), stopping early once ``wanted`` is satisfied.
    Loading the model would cost seconds and its memory; the header costs a few reads."""
    meta: dict[str, Any] = {}
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version = _read(f, "<I")
        if version < 2:
            raise ValueError(f"GGUF version {version} is too old")
        _tensors, count = _read(f, "<Q"), _read(f, "<Q")
        for _ in range(count):
            key = f.read(_read(f, "<Q")).decode("utf-8", "replace")
            meta[key] = _gguf_value(f, _read(f, "<I"))
            if wanted is not None and wanted(meta):
                break
    return meta


def gguf_context_length(path: Path) -> int | None:
    def found(meta: dict[str, Any]) -> bool:
        arch = meta.get("general.architecture")
        return bool(arch) and f"{arch}.context_length" in meta

    meta = gguf_metadata(path, found)
    value = meta.get(f"{meta.get('general.architecture')}.context_length")
    return int(value) if isinstance(value, int) else None
