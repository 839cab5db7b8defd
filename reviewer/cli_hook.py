"""The ``localreview hook`` command: what ``.pre-commit-hooks.yaml`` runs.

Thin, like the rest of the CLI: options in, ``run_hook`` (reviewer/hook.py) does the work.
The options are declared here rather than borrowed from ``reviewer.cli``, which imports this
module to register the command: borrowing would make the import circular.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click


@click.command("hook", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--backend", type=click.Choice(["ollama", "openai", "embedded"]), help="Model backend.")
@click.option("--model", help="Model name (Ollama / OpenAI-compatible) or a .gguf path (embedded).")
@click.option("--host", help="Model server URL, e.g. http://127.0.0.1:11434 or http://127.0.0.1:8080/v1.")
@click.option("--num-ctx", type=click.IntRange(min=512), help="Context window in tokens (default 8192).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "markdown", "codequality"]),
              help="Report format (default text).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--fail-on", type=click.Choice(["none", "low", "medium", "high", "critical"]),
              help="Block when a finding is at or above this severity (default high).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds the whole review may take (config hook_timeout, default 300).")
@click.option("--fail-open/--fail-closed", default=None,
              help="When the model is unreachable or too slow: pass with a warning, or fail (exit 3, the default).")
def hook_cmd(**options: Any) -> None:
    """Review the staged change (pre-commit) or PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF (pre-push).

    Passes at once when nothing reviewable is staged; answers from a cache when the same change
    was reviewed before. SKIP=localreview skips it.
    """
    from reviewer.cli import _finish
    from reviewer.errors import LocalReviewError
    from reviewer.hook import review_in_flight, run_hook

    def log(message: str) -> None:
        # The core's lines carry their own "localreview:" prefix (cli._err would add a second).
        click.echo(message, err=True)

    options["color"] = options.get("output") is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ

    def run() -> int:
        try:
            code = run_hook(Path.cwd(), options, echo=click.echo, log=log)
        except (LocalReviewError, KeyboardInterrupt) as exc:
            if not review_in_flight():
                raise  # _finish reports it, as for every command
            code = exc.exit_code if isinstance(exc, LocalReviewError) else 130
            log(f"localreview: error: {exc}" if isinstance(exc, LocalReviewError) else "localreview: interrupted")
        if review_in_flight():
            # A review abandoned at the time limit may be inside llama.cpp: leave without the
            # interpreter's teardown, which could free the model under its feet.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code

    _finish(run)
