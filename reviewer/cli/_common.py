"""What every command shares: error translation to exit codes, the review options, output.

Core errors are translated here and only here: a ``LocalReviewError`` becomes one line on
stderr and its exit code; click's usage errors exit 2; nothing prints a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from reviewer.config import BACKENDS, FAIL_ON, FORMATS
from reviewer.errors import BadInput, LocalReviewError

# click drops the "--" that separates revisions from paths; main() swaps it for this marker
# so `localreview diff HEAD -- src/` means what it means to git.
PATHS_MARKER = "--localreview-paths-follow"


def err(message: str) -> None:
    # Core log lines may already name the tool; say it once.
    prefix = "" if message.startswith("localreview:") else "localreview: "
    click.echo(f"{prefix}{message}", err=True)


def finish(run: Callable[[], int]) -> None:
    """Run a command body and exit with its code, translating our errors to one clean line."""
    try:
        code = run()
    except LocalReviewError as exc:
        err(f"error: {exc}")
        code = exc.exit_code
    except KeyboardInterrupt:
        err("interrupted")
        code = 130
    sys.exit(code)


def git_args(args: Sequence[str]) -> list[str]:
    return ["--" if a == PATHS_MARKER else a for a in args]


def use_color(output: Path | None) -> bool:
    return output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text)
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {output}: {exc.strerror}", hint="choose a writable --output path") from exc


Decorator = Callable[[Callable[..., None]], Callable[..., None]]


def _apply(options: Sequence[Decorator]) -> Decorator:
    def decorate(f: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


MODEL_OPTIONS: list[Decorator] = [
    click.option("--backend", type=click.Choice(BACKENDS), help="Model backend."),
    click.option("--model", help="Model name (Ollama / OpenAI-compatible) or a .gguf path (embedded)."),
    click.option("--host", help="Model server URL, e.g. http://127.0.0.1:11434 or http://127.0.0.1:8080/v1."),
    click.option("--num-ctx", type=click.IntRange(min=512), help="Context window in tokens (default 8192)."),
]
REPORT_OPTIONS: list[Decorator] = [
    click.option("--format", "fmt", type=click.Choice(FORMATS), help="Report format (default text)."),
    click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."),
    click.option("--fail-on", type=click.Choice(FAIL_ON),
                 help="Exit 1 when a finding is at or above this severity (default high)."),
]

ANALYZER_OPTIONS: list[Decorator] = [
    click.option("--analyzers/--no-analyzers", default=None,
                 help="Run bandit, the secret scanner and the rule pack on the changed lines (default on)."),
    click.option("--analyzers-only", is_flag=True, default=None,
                 help="Findings from the analyzers alone: no model is sought or called."),
]

model_options = _apply(MODEL_OPTIONS)
analyzer_options = _apply(ANALYZER_OPTIONS)
report_options = _apply(REPORT_OPTIONS)
