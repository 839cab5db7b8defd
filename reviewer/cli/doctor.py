"""``localreview doctor``: what a review would use and what is missing, without reviewing."""

from __future__ import annotations

from pathlib import Path

import click

from reviewer.cli._common import finish, model_options


@click.command("doctor")
@model_options
def doctor_cmd(backend: str | None, model: str | None, host: str | None, num_ctx: int | None) -> None:
    """Say what a review would use and what is missing, without reviewing anything."""
    from reviewer.config import load_config, root_or_none
    from reviewer.doctor.check import EXIT_CANNOT_REVIEW
    from reviewer.doctor.run import run_doctor
    from reviewer.errors import ConfigError
    from reviewer.policy import privacy
    from reviewer.policy.guard import allowed_hosts_for
    from reviewer.policy.redact import remote_hosts

    def run() -> int:
        cwd = Path.cwd()
        flags = {"backend": backend, "model": model, "host": host, "num_ctx": num_ctx}
        try:
            config = load_config(root_or_none(cwd), flags)
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

    finish(run)
