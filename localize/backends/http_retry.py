"""HTTP helpers for the server client: when to retry, how long to wait, how
much of an answer to read, and the `--backend auto` probe."""

from __future__ import annotations

import email.utils
import json
import random
import time

from localize.backends.redaction import resolve_api_key

MAX_BACKOFF = 30.0  # seconds; caps exponential growth
MAX_RETRY_AFTER = 60.0  # a server asking for an hour's pause is not waited for


def retryable(status: int) -> bool:
    """429 and 5xx: the server is busy or broken now and may answer later."""
    return status == 429 or status >= 500


def retry_after_seconds(value: str) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110)."""
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when.timestamp() - time.time()


def backoff_delay(attempt: int, base: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based)."""
    # Jitter spreads out the hundreds of requests that failed together; it is
    # only ever added to a server's Retry-After, which is a minimum.
    asked = retry_after_seconds(retry_after) if retry_after is not None else None
    if asked is not None and asked >= 0:
        return min(asked * random.uniform(1.0, 1.2), MAX_RETRY_AFTER)
    return min(MAX_BACKOFF, base * 2**attempt) * random.uniform(0.5, 1.5)


async def read_bounded(resp, limit: int) -> tuple[bytes, bool]:
    """(body, complete): at most `limit` bytes of an aiohttp response. A longer
    body is cut off and its connection closed, never read to the end: a
    server streaming gigabytes must not fill the client's memory."""
    if resp.content_length is not None and resp.content_length > limit:
        resp.close()
        return b"", False
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            resp.close()
            return b"".join(chunks), False
        chunks.append(chunk)
    return b"".join(chunks), True


def raise_fd_limit(needed: int) -> None:
    """Hundreds of sockets can exceed a 1024 soft limit; EMFILE would then look
    exactly like a server that refuses connections."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            pass


def probe(endpoint: str, timeout: float = 1.0, *, api_key: str | None = None) -> bool:
    """True when GET {endpoint}/models answers 200 with JSON. Never raises.

    Plain urllib: `--backend auto` calls this before any engine is chosen, so
    it needs neither aiohttp nor an event loop. Proxies are bypassed, as the
    aiohttp session does (trust_env=False), so both see the same server.
    """
    import urllib.request

    try:
        req = urllib.request.Request(endpoint.rstrip("/") + "/models")
        key = resolve_api_key(api_key)
        if key:  # a vLLM started with --api-key answers 401 without it
            req.add_header("Authorization", f"Bearer {key}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=timeout) as resp:
            if resp.status != 200:
                return False
            json.loads(resp.read(1024 * 1024 + 1))
            return True
    except Exception:
        return False
