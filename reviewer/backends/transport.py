"""One translation of transport failures (httpx's, and the builtin ``ConnectionError``)
into this tool's errors, for every backend that talks HTTP. Each backend adds only what it
alone knows: its server's name and how to start it."""

from __future__ import annotations

import httpx

from reviewer.errors import BackendTimeout, BackendUnavailable, LocalReviewError


def transport_error(exc: Exception, *, server: str, what: str, timeout: float, unreachable: str, start_hint: str,
                    unexpected_hint: str) -> LocalReviewError:
    """``server`` names it in messages ("Ollama at http://…"); ``unreachable`` is what to say when
    nothing listens there."""
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(
            f"{server} did not answer {what} within {timeout:g} s",
            hint="raise --timeout (LOCALREVIEW_TIMEOUT), or use a smaller model or --num-ctx",
        )
    # The builtin ConnectionError too: a socket-level refusal raised outside httpx's own types.
    if isinstance(exc, (httpx.ConnectError, ConnectionError)):
        return BackendUnavailable(unreachable, hint=start_hint)
    if isinstance(exc, httpx.HTTPError):
        return BackendUnavailable(
            f"the connection to {server} dropped during {what} ({type(exc).__name__}: {exc})",
            hint="the server may have crashed (out of memory?); see its log, then retry",
        )
    return BackendUnavailable(f"{server} sent an unexpected answer to {what}: {exc}", hint=unexpected_hint)


def error_text(resp: httpx.Response) -> str:
    """The server's own words, from the shapes OpenAI, FastAPI, llama.cpp and Ollama use."""
    try:
        data = resp.json()
    except ValueError:
        return resp.text.strip()[:500] or resp.reason_phrase
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return str(err)[:500]
    return str(data)[:500]
