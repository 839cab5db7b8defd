"""The ``config``, ``doctor`` and ``baseline`` commands: thin click wrappers over typed cores.

Registered on the main group in ``reviewer/cli.py``. Nothing here is imported from ``cli`` at
module level: ``cli`` imports this module at its end, so a top-level import back would be circular.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from reviewer.config import Config, config_keys, load_config
from reviewer.errors import ConfigError, LocalReviewError

# What an unset (None) value means, for the keys whose default is decided elsewhere.
_UNSET = {
    "backend": "auto",
    "model": "auto",
    "host": "auto: OLLAMA_HOST or 127.0.0.1:11434",
    "output_reserve": "auto: num_ctx/8, 256-1024",
    "store_url": "none: <repo>/.localreview/",
    "embedding_model": "bundled all-MiniLM-L6-v2",
    "baseline": ".localreview-baseline.json",
}


def _finish(run: Callable[[], int]) -> None:
    from reviewer.cli import _finish as finish

    finish(run)


def _root(cwd: Path) -> Path | None:
    from index.walk import git_root

    try:
        return git_root(cwd)
    except LocalReviewError:
        return None  # outside a repository only the environment and flags apply


def effective_config(config: Config, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Each key with its value, a readable form of it, and where it came from."""
    env = os.environ if environ is None else environ
    rows: list[dict[str, Any]] = []
    for key in config_keys():
        value: Any = getattr(config, key)
        source = config.source_of(key)
        if key == "host" and value is None and env.get("OLLAMA_HOST") and config.backend in (None, "ollama"):
            value, source = env["OLLAMA_HOST"], "env OLLAMA_HOST"  # the Ollama backend honours it
        if isinstance(value, tuple):
            value = list(value)
        if value is None:
            shown = _UNSET.get(key, "none")
        elif isinstance(value, list):
            shown = ", ".join(value) if value else "none"
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        else:
            shown = str(value)
        rows.append({"key": key, "value": value, "shown": shown, "source": source})
    return rows


@click.command("config")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def config_cmd(fmt: str) -> None:
    """Print the effective configuration and where each value came from."""

    def run() -> int:
        root = _root(Path.cwd())
        config = load_config(root)
        rows = effective_config(config)
        files = sorted({r["source"] for r in rows if not r["source"].startswith(("env ", "flag ", "default"))})
        if fmt == "json":
            click.echo(json.dumps({
                "root": str(root) if root else None,
                "files": files,
                "settings": {r["key"]: {"value": r["value"], "source": r["source"]} for r in rows},
            }, indent=2))
            return 0
        where = str(root) if root else "no git repository here: only LOCALREVIEW_* variables apply"
        click.echo(f"configuration for {where}" + (f" (from {', '.join(files)})" if files else ""))
        width = max(len(r["key"]) for r in rows) + 2
        value_width = min(max(len(r["shown"]) for r in rows), 40)
        for r in rows:
            click.echo(f"{r['key']:<{width}}{r['shown']:<{value_width}}  {r['source']}")
        return 0

    _finish(run)


@click.command("doctor")
@click.option("--backend", type=click.Choice(["ollama", "openai", "embedded"]), help="Check this backend.")
@click.option("--model", help="Check this model.")
@click.option("--host", help="Check the model server at this URL.")
@click.option("--num-ctx", type=click.IntRange(min=512), help="Check this context window.")
def doctor_cmd(**flags: Any) -> None:
    """Say what a review would use and what is missing, without reviewing anything."""

    def run() -> int:
        from reviewer import privacy
        from reviewer.commands import allowed_hosts_for
        from reviewer.doctor import EXIT_CANNOT_REVIEW, run_doctor
        from reviewer.redact import remote_hosts

        cwd = Path.cwd()
        try:
            config = load_config(_root(cwd), flags)
        except ConfigError as exc:
            click.echo(f"{'missing':<8}{'config':<10}{exc.message}")
            if exc.hint:
                click.echo(f"{'':<18}fix: {exc.hint}")
            click.echo("no review can run: fix the configuration, then run `localreview doctor` again")
            return EXIT_CANNOT_REVIEW
        # Doctor obeys the same guard as a review; a remote host without the opt-in stays blocked.
        opted_out = bool(remote_hosts(config)) and not config.allow_remote_host
        privacy.install([] if opted_out else allowed_hosts_for(config))
        return run_doctor(cwd, config, echo=click.echo)

    _finish(run)


@click.command("baseline", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True})
@click.option("--backend", type=click.Choice(["ollama", "openai", "embedded"]), help="Model backend.")
@click.option("--model", help="Model name (Ollama / OpenAI-compatible) or a .gguf path (embedded).")
@click.option("--host", help="Model server URL.")
@click.option("--num-ctx", type=click.IntRange(min=512), help="Context window in tokens (default 8192).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the baseline here (default: config `baseline`, else .localreview-baseline.json).")
@click.argument("git_args", nargs=-1, type=click.UNPROCESSED)
def baseline_cmd(git_args: tuple[str, ...], output: Path | None, **options: Any) -> None:
    """Review like `diff GIT_ARGS` and accept every finding: later runs report only new ones."""

    def run() -> int:
        from reviewer.cli import _PATHS_MARKER, _err

        argv = ["--" if a == _PATHS_MARKER else a for a in git_args]
        return baseline_command(Path.cwd(), argv, options, output, echo=click.echo, log=_err)

    _finish(run)


def baseline_command(cwd: Path, argv: list[str], options: Mapping[str, Any], output: Path | None, *,
                     echo: Callable[[str], None], log: Callable[[str], None]) -> int:
    """Run the review, drop what is ignored or suppressed inline, and write the rest as accepted."""
    from reviewer.commands import prepare_backend
    from reviewer.diff import open_repo, parse_diff_args, repo_root
    from reviewer.review import review
    from reviewer.suppress import baseline_path, filter_findings, write_baseline

    spec = parse_diff_args(argv)
    repo = open_repo(cwd)
    root = repo_root(repo)
    config = load_config(root, {k: options.get(k) for k in ("backend", "model", "host", "num_ctx")})
    # The same guard, opt-in and redaction as a review.
    backend = prepare_backend(config, log=log)
    _plan, result = review(repo, root, spec, config, backend, log=log, cwd=cwd)
    # The old baseline is replaced, not consulted: accepted findings that are gone drop out of it.
    result = filter_findings(result, config, root, baseline=False)
    default = baseline_path(config, root)
    path = output if output is not None else default
    count = write_baseline(result, path)
    for warning in result.stats.warnings:
        log(f"warning: {warning}")
    if result.smoke_test_model:
        log("warning: this baseline comes from the SmolLM2 smoke-test model; "
            "re-create it with a real coder model before relying on it")
    noun = "finding" if count == 1 else "findings"
    hint = ""
    if path.resolve() != default.resolve():
        hint = f" once the config says baseline = \"{os.path.relpath(path.resolve(), root)}\" (reviews read {default})"
    echo(f"wrote {count} accepted {noun} to {path}; later reviews report only new findings{hint}")
    return 0


__all__ = ["baseline_cmd", "baseline_command", "config_cmd", "doctor_cmd", "effective_config"]
