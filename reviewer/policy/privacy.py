"""The privacy guard: inside this process, no connection and no DNS look-up may go anywhere
but loopback and the hosts the user configured (model server, Chroma server).

It is an audit hook on ``socket.connect`` and ``socket.getaddrinfo`` (PEP 578), so it sees the
traffic of every library that goes through Python's socket module — transformers, chromadb,
httpx, ollama — not only ours. Native threads (a C++ library's own telemetry) bypass it: those
are switched off by environment (``index.embed.force_offline``) and checked with strace in the
tests. Audit hooks cannot be removed; ``install`` is idempotent and widens the allowed set.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reviewer.errors import PrivacyViolation

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


@dataclass
class _Guard:
    installed: bool = False
    enforcing: bool = False
    allowed: set[str] = field(default_factory=set)
    blocked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_GUARD = _Guard()


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _host_of(address: Any) -> str | None:
    """The host part of a socket address; None for Unix sockets and other non-IP families."""
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None


def _permitted(host: str) -> bool:
    return host == "" or is_loopback(host) or host.lower() in _GUARD.allowed


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _GUARD.enforcing:
        return
    if event == "socket.connect":
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
            return
        host = _host_of(address)
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else args[0]
        if host is None:
            return
    else:
        return
    if host is not None and not _permitted(str(host)):
        with _GUARD.lock:
            _GUARD.blocked.append(str(host))
        raise PrivacyViolation(
            f"blocked a network connection to {host}: localreview only talks to loopback and configured hosts",
            hint="if this is your own model or Chroma server, configure it (host / store_url) and set"
            " allow_remote_host = true; otherwise something tried to send data off this machine",
        )


def install(allowed_hosts: Iterable[str] = ()) -> None:
    """Start enforcing. Hosts may be names or IP addresses (both are checked as given)."""
    with _GUARD.lock:
        _GUARD.allowed.update(h.lower().strip("[]") for h in allowed_hosts if h)
        if not _GUARD.installed:
            sys.addaudithook(_hook)
            _GUARD.installed = True
        _GUARD.enforcing = True


def suspend() -> None:
    """Stop enforcing (tests; the hook itself stays installed, as audit hooks must)."""
    _GUARD.enforcing = False


def blocked_hosts() -> list[str]:
    with _GUARD.lock:
        return list(_GUARD.blocked)


def reset_blocked() -> None:
    with _GUARD.lock:
        _GUARD.blocked.clear()
