"""The command line: thin. Parse options, call the typed core, render, return an exit code.

Core errors are translated here and only here: a ``LocalReviewError`` becomes one line on
stderr and its exit code; click's usage errors exit 2; nothing prints a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from reviewer.config import load_config
from reviewer.errors import LocalReviewError


def _err(message: str) -> None:
    # Core log lines may already name the tool; say it once.
    prefix = "" if message.startswith("localreview:") else "localreview: "
    click.echo(f"{prefix}{message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="localreview", prog_name="localreview")
def cli() -> None:
    """A private, local code reviewer: AST index + local model. No code leaves the machine."""


@cli.command("index")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--full", is_flag=True, help="Rebuild the index from scratch.")
@click.option("--store-url", help="Chroma server URL for a shared index (default: <repo>/.localreview).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Print only the summary.")
@click.option("--list-skipped", is_flag=True, help="List every skipped file and why.")
@click.option("--background", is_flag=True, help="Build in a detached process; print its pid and log, return at once.")
def index_cmd(
    path: Path | None, full: bool, store_url: str | None, fmt: str, quiet: bool, list_skipped: bool, background: bool
) -> None:
    """Build or update the index of the repository at PATH (default: the current one)."""
    from index.indexer import Indexer
    from index.walk import git_root
    from reviewer.ui import ProgressView

    def run() -> int:
        root = git_root((path or Path.cwd()).resolve())
        config = load_config(root, {"store_url": store_url})
        if background:
            from index.background import start_background

            bg = start_background(root, full=full, store_url=store_url)
            click.echo(f"an index run is already in progress; log: {bg.log}" if bg.already_running
                       else f"indexing in the background: pid {bg.pid}, log {bg.log}")
            return 0
        from reviewer import privacy
        from reviewer.commands import allowed_hosts_for
        from reviewer.redact import require_remote_opt_in

        require_remote_opt_in(config)
        privacy.install(allowed_hosts_for(config))
        with ProgressView(enabled=not quiet and fmt == "text") as on_event:
            stats = Indexer(root, config, on_event=on_event).run(full=full)
        for note in stats.notes:
            _err(note)
        if fmt == "json":
            click.echo(json.dumps(stats.to_json()))
        else:
            click.echo(
                f"indexed {stats.files} files: {stats.chunks} chunks ({stats.embedded} embedded,"
                f" {stats.reused} reused, {stats.removed} removed), {stats.skipped} skipped,"
                f" in {stats.seconds:.1f} s"
            )
        if list_skipped:
            for skip in stats.skipped_files:
                click.echo(f"skipped {skip.path}: {skip.why}", err=fmt == "json")
        return 0

    _finish(run)


# click drops the "--" that separates revisions from paths; main() swaps it for this marker
# so `localreview diff HEAD -- src/` means what it means to git.
_PATHS_MARKER = "--localreview-paths-follow"

_review_options = [
    click.option("--backend", type=click.Choice(["ollama", "openai", "embedded"]), help="Model backend."),
    click.option("--model", help="Model name (Ollama / OpenAI-compatible) or a .gguf path (embedded)."),
    click.option("--host", help="Model server URL, e.g. http://127.0.0.1:11434 or http://127.0.0.1:8080/v1."),
    click.option("--num-ctx", type=click.IntRange(min=512), help="Context window in tokens (default 8192)."),
    click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "markdown", "codequality"]),
                 help="Report format (default text)."),
    click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."),
    click.option("--fail-on", type=click.Choice(["none", "low", "medium", "high", "critical"]),
                 help="Exit 1 when a finding is at or above this severity (default high)."),
    click.option("--dry-run", is_flag=True, help="Build and print the review plan; call no model."),
    click.option("--show-prompt", is_flag=True, help="Print the rendered prompts; call no model."),
]


def review_options(f: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_review_options):
        f = option(f)
    return f


@cli.command("diff", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True})
@review_options
@click.argument("git_args", nargs=-1, type=click.UNPROCESSED)
def diff_cmd(git_args: tuple[str, ...], **options: Any) -> None:
    """Review what `git diff GIT_ARGS` shows: REV, A..B, A...B, --staged, -- PATHS."""
    argv = ["--" if a == _PATHS_MARKER else a for a in git_args]
    _finish(lambda: run_diff(argv, options))


def run_diff(argv: Sequence[str], options: dict[str, Any]) -> int:
    from reviewer.commands import diff_command

    return diff_command(Path.cwd(), argv, options, echo=click.echo, log=_err)


def _finish(run: Callable[[], int]) -> None:
    """Run a command body and exit with its code, translating our errors to one clean line."""
    try:
        code = run()
    except LocalReviewError as exc:
        _err(f"error: {exc}")
        code = exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        code = 130
    sys.exit(code)


def _register_commands() -> None:
    # These modules import cli's helpers lazily, so registering here keeps the import graph acyclic.
    from reviewer.cli_extra import baseline_cmd, config_cmd, doctor_cmd
    from reviewer.cli_hook import hook_cmd

    for command in (hook_cmd, baseline_cmd, config_cmd, doctor_cmd):
        cli.add_command(command)


_register_commands()


def main(argv: Sequence[str] | None = None) -> Any:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" in args:
        args[args.index("--")] = _PATHS_MARKER
    return cli.main(args=args, prog_name="localreview")


if __name__ == "__main__":  # pragma: no cover
    main()
