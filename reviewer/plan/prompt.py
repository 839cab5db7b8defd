"""Rendering the prompts in ``prompts/*.j2``.

Code under review is data: it reaches the templates only as variables, which jinja2 prints
verbatim — a ``{{ }}`` or ``{% %}`` inside the code is never evaluated. Each block of code is
fenced by markers carrying a nonce derived from the content, so code cannot close its own
fence by quoting the marker.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2

from reviewer.diff.records import Hunk, removal_runs

MAX_FINDINGS = 20


@dataclass(frozen=True)
class DiffPart:
    """The part of one file's diff that a batch reviews (all its hunks, or a group of them)."""

    path: str
    old_path: str | None
    status: str
    hunks: tuple[Hunk, ...]
    # Per hunk, header lines of its enclosing definitions shown above it (``reviewer.plan.leads``).
    leads: tuple[tuple[tuple[int, str], ...], ...] = ()

    @property
    def added(self) -> frozenset[int]:
        return frozenset(n for h in self.hunks for n in h.added_lines)

    @property
    def anchors(self) -> frozenset[int]:
        """New-side lines where lines were removed: a finding about a removed guard points there."""
        return frozenset(anchor for h in self.hunks for anchor, _run in removal_runs(h))

    @property
    def text(self) -> str:
        return render_hunks(self.hunks, self.leads)


@dataclass(frozen=True)
class ContextText:
    path: str
    start_line: int
    end_line: int
    symbol: str
    reason: str
    text: str


def render_hunks(hunks: Sequence[Hunk], leads: Sequence[Sequence[tuple[int, str]]] = ()) -> str:
    """The diff with new-side line numbers in a left column; removed lines have none. ``leads``:
    per hunk, lines above it shown as unchanged context (an elided run between them as ``...``)."""
    out: list[str] = []
    for i, h in enumerate(hunks):
        out.append(f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@ {h.header}".rstrip())
        rows = leads[i] if i < len(leads) else ()
        for k, (n, line) in enumerate(rows):
            out.append(f"{n:>6}   {line}")
            if (rows[k + 1][0] if k + 1 < len(rows) else h.new_start) > n + 1:
                out.append(f"{'...':>6}")
        for ln in h.lines:
            number = "" if ln.new_lineno is None else str(ln.new_lineno)
            out.append(f"{number:>6} {ln.kind} {ln.text}")
    return "\n".join(out)


def number_lines(text_lines: Sequence[str], start: int) -> str:
    return "\n".join(f"{start + i:>6}   {line}" for i, line in enumerate(text_lines))


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=False,  # prompts are plain text, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _load(name: str) -> str:
    return resources.files("prompts").joinpath(name).read_text(encoding="utf-8")




def nonce_for(files: Sequence[DiffPart], context: Sequence[ContextText]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.path.encode() + b"\0" + f.text.encode("utf-8", "surrogatepass"))
    for c in context:
        h.update(c.path.encode() + b"\0" + c.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class HintText:
    """An analyzer's hit as the prompt shows it: untrusted data, like the code."""

    path: str
    line: int
    rule: str
    cwe: str | None
    message: str


# Below this window the review template is the compact one. The whole template (system prompt,
# checklist, answer format) is ~1,260 tokens, which at 2k left a batch 100-300 tokens for the
# diff's context; the compact checklist names the same problem classes in a few lines (~850 in
# all) and keeps every rule of the system prompt and the answer format.
COMPACT_BELOW = 8192


def compact_prompt(num_ctx: int) -> bool:
    return num_ctx < COMPACT_BELOW


def render(files: Sequence[DiffPart], context: Sequence[ContextText],
           hints: Sequence[HintText] = (), *, compact: bool = False) -> tuple[str, str]:
    """(system prompt, user prompt) for one batch; ``compact`` for a small window (``compact_prompt``)."""
    env = _env()
    system = env.get_template("system.j2").render().strip()
    user = env.get_template("review.j2").render(
        compact=compact,
        files=[{"path": f.path, "old_path": f.old_path, "status": f.status, "text": f.text} for f in files],
        context=[c.__dict__ for c in context],
        hints=[h.__dict__ for h in hints],
        paths=[f.path for f in files],
        nonce=nonce_for(files, context),
        max_findings=MAX_FINDINGS,
    ).strip()
    return system, user


def render_verify(review_prompt: str, findings: Sequence[Mapping[str, Any]]) -> str:
    """The verification prompt: the batch's own prompt first (a cacheable prefix), then the
    model's findings as data."""
    h = hashlib.sha256(review_prompt.encode("utf-8", "surrogatepass"))
    for f in findings:
        h.update(repr(sorted(f.items())).encode("utf-8", "surrogatepass"))
    return _env().get_template("verify.j2").render(
        review=review_prompt, findings=list(findings), nonce=h.hexdigest()[:12]).strip()
