"""Telling a truncated prompt from an honest one, by the server's own prompt-token count.

Shared by the server backends: Ollama truncates silently, and an OpenAI-compatible server may too.
"""

from __future__ import annotations

from reviewer.errors import ServerTruncatedPrompt

# Our token estimates overestimate by 10-25%, so an honest server count sits at 0.75-0.9 of the
# estimate; below 0.6 the server must have dropped part of the prompt. The absolute gap keeps
# tiny prompts (where a chat template's few tokens swing the ratio) from tripping the rule.
TRUNCATION_RATIO = 0.6
TRUNCATION_MIN_GAP = 64



def check_truncation(
    *,
    server: str,
    expected: int | None,
    server_count: int | None,
    num_ctx: int,
    cached_count: int | None = None,
    cacheable_prefix: int | None = None,
    max_tokens: int,
    window_rule: bool = True,
) -> None:
    """Raise :class:`ServerTruncatedPrompt` when the server's prompt count betrays truncation.

    Two rules, because Ollama's truncation leaves two different traces:
    - window rule: the kept prompt plus the output reserve overflows ``num_ctx`` -- the prompt
      filled the window (mild overflow: Ollama cut it down to about ``num_ctx``);
    - ratio rule: the server counted less than ``TRUNCATION_RATIO`` of our (over)estimate -- a
      large piece went missing (heavy overflow: older runners keep about half the window).
    A missing or zero count says nothing (old Ollama versions omitted it for cached prompts).

    Tokens served from the server's prompt cache are part of the prompt: newer Ollama builds
    report them apart (``cached_count``, prompt_eval_cached_count) and they are added back. Some
    builds (0.30 up to ollama/ollama#16428) leave them out without saying so: when the request's
    prefix was just sent (``cacheable_prefix``), a count short by about that prefix is a cache hit,
    not a truncation, so the ratio rule allows for it.
    """
    if not server_count and not cached_count:
        return
    server_count = (server_count or 0) + (cached_count or 0)
    hint = "raise --num-ctx (up to the model's context length) or review fewer files at once"
    if window_rule and server_count + max_tokens > num_ctx:
        raise ServerTruncatedPrompt(
            f"{server} filled the whole context window: {server_count} prompt tokens + {max_tokens} "
            f"reserved for the answer > num_ctx {num_ctx}; the prompt was probably truncated"
            + (f" (the plan estimated {expected} tokens)" if expected else ""),
            hint=hint,
            sent_estimate=expected,
            server_count=server_count,
            num_ctx=num_ctx,
        )
    gap = (expected or 0) - server_count
    if cached_count is None and cacheable_prefix:
        # Unreported cache hit: the uncached part alone was counted.
        gap -= cacheable_prefix
        server_count_with_cache = server_count + cacheable_prefix
    else:
        server_count_with_cache = server_count
    if expected and server_count_with_cache < TRUNCATION_RATIO * expected and gap >= TRUNCATION_MIN_GAP:
        raise ServerTruncatedPrompt(
            f"{server} evaluated only {server_count} prompt tokens where about {expected} were sent: "
            f"it truncated the prompt (num_ctx {num_ctx})",
            hint=hint,
            sent_estimate=expected,
            server_count=server_count,
            num_ctx=num_ctx,
        )
