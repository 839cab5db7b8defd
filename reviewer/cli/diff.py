"""``localreview diff``: options → a ``ReviewRequest``; the result → a report and an exit code."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reviewer.cli._common import (
    analyzer_options,
    finish,
    git_args,
    model_options,
    report_options,
    use_color,
    write_output,
)


@click.command("diff", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True})
@model_options
@report_options
@analyzer_options
@click.option("--dry-run", is_flag=True, help="Build and print the review plan; call no model.")
@click.option("--show-prompt", is_flag=True, help="Print the rendered prompts; call no model.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def diff_cmd(args: tuple[str, ...], backend: str | None, model: str | None, host: str | None, num_ctx: int | None,
             fmt: str | None, output: Path | None, fail_on: str | None, analyzers: bool | None,
             analyzers_only: bool | None, dry_run: bool, show_prompt: bool) -> None:
    """Review what `git diff ARGS` shows: REV, A..B, A...B, --staged, -- PATHS."""
    from reviewer.api import ReviewRequest, exit_code, open_session
    from reviewer.cli._common import err

    def run() -> int:
        request = ReviewRequest(diff_args=tuple(git_args(args)), cwd=Path.cwd(), backend=backend, model=model,
                                host=host, num_ctx=num_ctx, fail_on=fail_on, format=fmt, analyzers=analyzers,
                                analyzers_only=analyzers_only, log=err)
        session = open_session(request)
        if show_prompt:
            previews = session.prompts()
            text = "\n".join(
                f"===== batch {i}: system prompt =====\n{p.system}\n"
                f"===== batch {i}: user prompt ({p.prompt_tokens} tokens in all) =====\n{p.user}"
                for i, p in enumerate(previews, 1))
            write_output(text or "nothing to review", output)
            return 0
        if dry_run:
            from reviewer.report.plan import render_plan

            plan = session.plan()
            write_output(json.dumps(plan.to_json(), indent=2) if session.config.format == "json"
                         else render_plan(plan), output)
            return 0
        from reviewer.report import render

        result = session.review()
        write_output(render(result, session.config.format, color=use_color(output)), output)
        return exit_code(result, session.config.fail_on)

    finish(run)
