"""Where a process may connect, decided once for every entry point (review, index, doctor, MCP).

Loopback always; beyond it only the hosts the user configured for the model and the store, and
a host off this machine only with the explicit opt-in. A remote model host only ever sees
prompts with secrets redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from reviewer.config import Config, ollama_host_env

if TYPE_CHECKING:
    from reviewer.backends.base import Backend


def allowed_hosts_for(config: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Loopback always; beyond it only the hosts the user configured for the model and store."""
    hosts: list[str] = []
    for url in (config.host, config.store_url, ollama_host_env(config, environ)):
        if not url:
            continue
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.hostname:
            hosts.append(parsed.hostname)
    return hosts


def enforce(config: Config) -> None:
    """Refuse a remote host without the opt-in, then start the audit-hook guard."""
    from reviewer.policy import privacy
    from reviewer.policy.redact import require_remote_opt_in

    require_remote_opt_in(config)
    privacy.install(allowed_hosts_for(config))


def prepare_backend(config: Config, *, log: Callable[[str], None],
                    factory: Callable[[Config], Backend] | None = None) -> Backend:
    """The backend a review talks to, behind the privacy rules."""
    from reviewer.policy.redact import RedactingBackend, remote_model_host

    enforce(config)
    if factory is not None:
        backend = factory(config)
    else:
        from reviewer.backends.select import make_backend

        backend = make_backend(config, log=log)
    if remote_model_host(config) is not None:
        return RedactingBackend(backend)
    return backend
