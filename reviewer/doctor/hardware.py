"""Hardware sizing: memory, GPUs, and which model size fits them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from reviewer.doctor.check import Check, _ok, _warn


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_gb: float


@dataclass(frozen=True)
class Tier:
    params_b: float
    label: str
    model: str
    low_gb: float
    high_gb: float


# About 0.5 byte per parameter at 4-bit quantisation, plus the KV cache of an 8k-32k window.
TIERS = (
    Tier(32, "32-34B", "qwen2.5-coder:32b", 20, 24),
    Tier(14, "14B", "qwen2.5-coder:14b", 9, 12),
    Tier(7, "7B", "qwen2.5-coder:7b", 4, 6),
    Tier(3, "3B", "qwen2.5-coder:3b", 2, 3),
    Tier(1.5, "1.5B", "qwen2.5-coder:1.5b", 1, 2),
)


RULE_OF_THUMB = "4-bit: about 0.5 byte/parameter, so 7B needs 4-6 GB and 34B 20-24 GB with an 8k-32k window"


CPU_SHARE = 0.75  # of RAM a model may take when there is no GPU: the OS and the editor need the rest


def ram_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (AttributeError, ValueError, OSError):
        return None  # not a POSIX system that reports it


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """Rows of ``nvidia-smi --query-gpu=name,memory.total --format=csv,noheader``."""
    gpus: list[Gpu] = []
    for row in text.splitlines():
        name, _, memory = row.rpartition(",")
        m = re.match(r"\s*(\d+(?:\.\d+)?)\s*(MiB|GiB|MB|GB)?", memory)
        if not name.strip() or m is None:
            continue
        size = float(m.group(1))
        gpus.append(Gpu(name.strip(), size if (m.group(2) or "").startswith("G") else size / 1024))
    return gpus


def visible_gpus() -> tuple[list[Gpu], str | None]:
    """NVIDIA GPUs through nvidia-smi, and why none were found when that is so."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], "nvidia-smi not on PATH"
    try:
        proc = subprocess.run([exe, "--query-gpu=name,memory.total", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"nvidia-smi failed: {exc}"
    if proc.returncode != 0:
        return [], f"nvidia-smi failed: {(proc.stderr or proc.stdout).strip()[:120]}"
    gpus = parse_nvidia_smi(proc.stdout)
    return gpus, None if gpus else "nvidia-smi lists no GPU"


def params_of(model: str) -> float | None:
    """Billions of parameters from a model tag such as ``qwen2.5-coder:7b`` or ``...-34b-...``."""
    m = re.search(r"(?<![\d.])(\d+(?:\.\d+)?)b(?![a-z])", model.lower().rpartition("/")[2])
    return float(m.group(1)) if m else None


def tier_for(params_b: float) -> Tier:
    return min(TIERS, key=lambda t: abs(t.params_b - params_b))


def recommend(budget_gb: float) -> Tier | None:
    """The largest tier whose upper estimate fits the memory budget."""
    return next((t for t in TIERS if t.high_gb <= budget_gb), None)


def _machine(backend_name: str | None, model: str | None) -> list[Check]:
    ram = ram_gb()
    gpus, why_none = visible_gpus()
    cpus = os.cpu_count() or 1
    ram_text = f"{ram:.1f} GB RAM" if ram else "RAM unknown"
    if gpus:
        gpu_text = ", ".join(f"{g.name} ({g.memory_gb:.0f} GB)" for g in gpus)
        budget = sum(g.memory_gb for g in gpus)  # Ollama spreads layers over every GPU
    else:
        gpu_text = f"no GPU visible ({why_none})"
        budget = (ram or 0) * CPU_SHARE
    out = [_ok("machine", f"{cpus} CPUs, {ram_text}, {gpu_text}")]
    best = recommend(budget)
    where = "of GPU memory" if gpus else "of RAM (CPU only: minutes per review)"
    if best is None:
        out.append(_warn("fits", f"{budget:.1f} GB {where} is too little for a coder model; rule of thumb at "
                         + RULE_OF_THUMB, "use a machine with 6 GB or more, or an on-premises GPU server"))
    else:
        out.append(_ok("fits", f"{best.model} ({best.label}, {best.low_gb:g}-{best.high_gb:g} GB) in {budget:.0f} GB"
                       f" {where}; rule of thumb at {RULE_OF_THUMB}"))
    params = params_of(model) if model and backend_name in ("ollama", "openai") else None
    if params is not None and best is not None and params > best.params_b * 1.2:
        need = tier_for(params)
        out.append(_warn("size", f"{model} ({params:g}B) needs about {need.low_gb:g}-{need.high_gb:g} GB, more than"
                         f" the {budget:.0f} GB here: it will be slow or fail to load",
                         f"ollama pull {best.model} and pass --model {best.model}"))
    return out
