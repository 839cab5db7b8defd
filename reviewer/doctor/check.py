"""One doctor check line (ok / warn / missing) and how it prints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

EXIT_OK = 0


EXIT_CANNOT_REVIEW = 3


# Doctor waits seconds, not a review's minutes, for a server to answer.
DOCTOR_TIMEOUT = 5.0


SMALL_WINDOW = 8192  # below this a review of a real change rarely fits with its context


# Variables that keep model libraries off the network: the hub look-ups of transformers and
# huggingface_hub, and ONNX Runtime's telemetry (which its native code sends, unseen by the guard).
OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ORT_DISABLE_TELEMETRY")


Echo = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    status: str  # ok | warn | missing
    what: str
    detail: str
    fix: str | None = None
    blocking: bool = False  # True: a review cannot run until this is fixed


def _ok(what: str, detail: str) -> Check:
    return Check("ok", what, detail)


def _warn(what: str, detail: str, fix: str | None = None) -> Check:
    return Check("warn", what, detail, fix)


def _missing(what: str, detail: str, fix: str | None, *, blocking: bool = True) -> Check:
    return Check("missing", what, detail, fix, blocking)


def _lines(checks: list[Check]) -> Iterator[str]:
    for c in checks:
        yield f"{c.status:<8}{c.what:<10}{c.detail}"
        if c.fix:
            yield f"{'':<18}fix: {c.fix}"
