"""The bodies of the review commands, typed and testable without click: each returns an
exit code and writes through the ``echo``/``log`` callables it is given."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reviewer.backends.base import Backend
from reviewer.config import Config, load_config
from reviewer.diff import DiffSpec, open_repo, parse_diff_args, repo_root, resolve_sides
from reviewer.errors import BadInput
from reviewer.findings import exit_code_for
from reviewer.report import render
from reviewer.result import ReviewResult

_FLAG_KEYS = ("backend", "model", "host", "num_ctx", "fmt", "fail_on", "include_docs")


def flags_from(options: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: options.get(k) for k in _FLAG_KEYS}
    out["format"] = out.pop("fmt")
    return out


def _write(text: str, output: Path | None, echo: Callable[[str], None]) -> None:
    if output is None:
        echo(text)
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}", hint="choose a writable --output path") from exc


def _color(output: Path | None) -> bool:
    return output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def diff_command(cwd: Path, argv: Sequence[str], options: Mapping[str, Any], *,
                 echo: Callable[[str], None], log: Callable[[str], None]) -> int:
    spec = parse_diff_args(argv)
    repo = open_repo(cwd)
    root = repo_root(repo)
    resolve_sides(repo, spec)  # a bad revision is bad input (exit 2) before any model is sought
    config = load_config(root, flags_from(options))
    return review_and_report(repo, root, spec, config, options, echo=echo, log=log)


def prepare_backend(config: Config, *, log: Callable[[str], None],
                    factory: Callable[[Config], Backend] | None = None) -> Backend:
    """The backend a review talks to, behind the privacy rules: a host beyond loopback needs an
    explicit opt-in, the audit-hook guard allows only loopback and configured hosts, and a
    remote model host only ever sees prompts with secrets redacted."""
    from reviewer import privacy
    from reviewer.backends.select import make_backend
    from reviewer.redact import RedactingBackend, remote_model_host, require_remote_opt_in

    require_remote_opt_in(config)
    privacy.install(allowed_hosts_for(config))
    backend = factory(config) if factory is not None else make_backend(config, log=log)
    if remote_model_host(config) is not None:
        return RedactingBackend(backend)
    return backend


def run_review(repo: Any, root: Path, spec: DiffSpec, config: Config, backend: Backend, *,
               log: Callable[[str], None], cwd: Path | None = None) -> ReviewResult:
    """Review, then apply what the team decided: ignore globs, inline suppressions, the baseline."""
    from reviewer.redact import RedactingBackend
    from reviewer.review import review
    from reviewer.suppress import filter_findings

    _plan, result = review(repo, root, spec, config, backend, log=log, cwd=cwd)
    if isinstance(backend, RedactingBackend):
        result = dataclasses.replace(result, redacted_secrets=backend.redacted)
    return filter_findings(result, config, root)


def review_and_report(repo: Any, root: Path, spec: DiffSpec, config: Config, options: Mapping[str, Any], *,
                      echo: Callable[[str], None], log: Callable[[str], None]) -> int:
    from reviewer.review import build_plan, counter_for

    backend = prepare_backend(config, log=log)
    output: Path | None = options.get("output")
    if options.get("dry_run") or options.get("show_prompt"):
        plan = build_plan(repo, root, spec, config, backend, counter_for(backend), cwd=Path.cwd())
        if options.get("show_prompt"):
            from reviewer.redact import RedactingBackend, redact_batch

            chunks = []
            for i, b in enumerate(plan.batches, 1):
                system, user = b.system, b.user
                if isinstance(backend, RedactingBackend):  # show exactly what would be sent
                    system, user, _n = redact_batch(system, user)
                chunks.append(f"===== batch {i}: system prompt =====\n{system}\n"
                              f"===== batch {i}: user prompt ({b.prompt_tokens} tokens in all) =====\n{user}")
            _write("\n".join(chunks) if chunks else "nothing to review", output, echo)
        else:
            import json

            from reviewer.plan_text import render_plan

            text = json.dumps(plan.to_json(), indent=2) if config.format == "json" else render_plan(plan)
            _write(text, output, echo)
        return 0
    result = run_review(repo, root, spec, config, backend, log=log, cwd=Path.cwd())
    _write(render(result, config.format, color=_color(output)), output, echo)
    return exit_code_for(result.findings, config.fail_on)


def allowed_hosts_for(config: Config) -> list[str]:
    """Loopback always; beyond it only the hosts the user configured for the model and store."""
    from urllib.parse import urlparse

    hosts: list[str] = []
    for url in (config.host, config.store_url, os.environ.get("OLLAMA_HOST")):
        if not url:
            continue
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.hostname:
            hosts.append(parsed.hostname)
    return hosts
