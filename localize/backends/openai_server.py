"""The `vllm` backend: an async client for an OpenAI-compatible server.

vLLM is the production server; llama.cpp's server speaks the same API, which is
what the tests run against. Design choices follow MODELS.md (client-side facts):

- A GPU vLLM server fills its batch only with hundreds of requests in flight,
  and it has no bounded queue and never answers 429: the client must cap its
  own concurrency. Default connection pools cap at 100, so the cap is explicit:
  `TCPConnector(limit=max_in_flight)` plus a semaphore of the same size. The
  semaphore is taken before the request, so no request ever waits inside the
  connector's pool, where the wait would count against its timeout.
- Raw aiohttp and one `json.dumps` per request (~0.2 ms of client CPU against
  ~3 ms for the OpenAI SDK): at 1000 req/s the client must not be the bottleneck.
- Event loop: one private loop in a daemon thread, kept for the backend's life,
  rather than `asyncio.run` per call. The session and its keep-alive
  connections survive between `generate` calls (no reconnect burst of hundreds
  of sockets per batch); `generate` is thread-safe, so a pipeline can submit the
  next batch from another thread while the previous one drains and the server
  stays full, all under one shared in-flight cap; and it works for callers that
  already run an event loop (notebooks), where `asyncio.run` raises.

Faults: every request (discovery included) is retried up to `max_retries`
times on 429, 5xx, resets, truncated bodies and per-request timeouts (a server
that accepts but never answers), with exponential backoff and jitter, waiting
at least what a Retry-After header asks. A request that uses up its retries
becomes a failed Generation (its `attempts` says how many were made); a server
that stays down trips a breaker instead (see `_send`), so the run stops with
BackendUnavailable rather than failing every remaining row.

aiohttp is imported lazily so `localize --help` stays fast.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import threading
import time
from typing import NamedTuple, Sequence

from localize.backends.base import Backend, Generation, GenerationRequest, OnResult
from localize.errors import BackendUnavailable, LocalizeError, MissingDependency

DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"

_MAX_BACKOFF = 30.0  # seconds; caps exponential growth
_MAX_RETRY_AFTER = 60.0  # a server asking for an hour's pause is not waited for
_CONNECT_TIMEOUT = 10.0  # a blackholed host fails in seconds, not `timeout` minutes
_DISCOVERY_TIMEOUT = 10.0


def _import_aiohttp():
    try:
        import aiohttp
    except ImportError:
        raise MissingDependency("aiohttp", "vllm") from None
    return aiohttp


def build_chat_payload(request: GenerationRequest, model: str) -> dict:
    """The JSON body of one chat completion. Pure: same request, same dict."""
    payload = {
        "model": model,
        "messages": list(request.messages),
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        # vLLM reads `repetition_penalty`, llama.cpp's server `repeat_penalty`;
        # each ignores the other's field, so one payload serves both.
        "repetition_penalty": request.repeat_penalty,
        "repeat_penalty": request.repeat_penalty,
    }
    if request.stop:
        payload["stop"] = list(request.stop)
    if request.bad_words:
        payload["bad_words"] = list(request.bad_words)  # vLLM sampling extension: glossary bans
    return payload


# Where API keys come from: the environment only, never a command-line option
# (argv is visible to every user in `ps` and lands in shell history and CI logs).
# Not OPENAI_API_KEY: a real OpenAI key would be sent to whatever endpoint is configured.
# VLLM_API_KEY is what `vllm serve` itself reads for --api-key.
API_KEY_VARS = ("LOCALIZE_API_KEY", "VLLM_API_KEY")


def _resolve_api_key(explicit: str | None) -> str | None:
    if explicit is not None:
        return explicit or None
    return next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)


def redact_api_keys(text: str) -> str:
    """`text` with every API key from the environment replaced by ***."""
    for var in API_KEY_VARS:
        key = os.environ.get(var, "")
        if len(key) >= 4:  # shorter would mangle ordinary words; no real key is that short
            text = text.replace(key, "***")
    return text


def probe(endpoint: str, timeout: float = 1.0, *, api_key: str | None = None) -> bool:
    """True when GET {endpoint}/models answers 200 with JSON. Never raises.

    Plain urllib: `--backend auto` calls this before any engine is chosen, so
    it needs neither aiohttp nor an event loop. Proxies are bypassed, as the
    aiohttp session does (trust_env=False), so both see the same server.
    """
    import urllib.request

    try:
        req = urllib.request.Request(endpoint.rstrip("/") + "/models")
        key = _resolve_api_key(api_key)
        if key:  # a vLLM started with --api-key answers 401 without it
            req.add_header("Authorization", f"Bearer {key}")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=timeout) as resp:
            if resp.status != 200:
                return False
            json.loads(resp.read())
            return True
    except Exception:
        return False


def _retry_after_seconds(value: str) -> float | None:
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
    asked = _retry_after_seconds(retry_after) if retry_after is not None else None
    if asked is not None and asked >= 0:
        return min(asked * random.uniform(1.0, 1.2), _MAX_RETRY_AFTER)
    return min(_MAX_BACKOFF, base * 2**attempt) * random.uniform(0.5, 1.5)


def _http_error(status: int, raw: bytes) -> str:
    """`HTTP 400: <message>` from an OpenAI-style (or older vLLM-style) error body."""
    msg = None
    try:
        data = json.loads(raw)
        err = data.get("error", data) if isinstance(data, dict) else None
        msg = err.get("message") if isinstance(err, dict) else err
    except ValueError:
        pass
    if not isinstance(msg, str) or not msg:
        msg = raw.decode("utf-8", "replace").strip() or "(empty body)"
    return f"HTTP {status}: {msg[:500]}"


def _parse_completion(raw: bytes) -> Generation:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return Generation(None, error=f"malformed response: {raw[:200]!r}")
    usage = data.get("usage") or {}
    return Generation(
        text,
        completion_tokens=usage.get("completion_tokens") or 0,
        prompt_tokens=usage.get("prompt_tokens") or 0,
        finish_reason=choice.get("finish_reason"),
    )


def _raise_fd_limit(needed: int) -> None:
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


class _ServerGone(Exception):
    """The breaker tripped: a request used up its retries while no request succeeded."""


class _Refused(Exception):
    """Nothing accepts connections at the endpoint (discovery does not retry that)."""


class _Reply(NamedTuple):
    status: int | None  # None: every attempt failed with a retryable error
    raw: bytes
    attempts: int
    error: str | None = None


class OpenAIServerBackend(Backend):
    name = "vllm"

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        model: str | None = None,
        *,
        max_in_flight: int = 256,
        timeout: float = 300.0,
        max_retries: int = 5,
        api_key: str | None = None,
        backoff_base: float = 0.5,
    ):
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.endpoint = endpoint.rstrip("/")
        self.max_in_flight = max_in_flight
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        # Failed attempts in a row, with no success between, before the breaker may trip:
        # two requests' worth, so one unlucky request at low concurrency never stops a run.
        self.trip_after = max(10, 2 * (self.max_retries + 1))
        self.backoff_base = backoff_base
        self._model = model
        self._api_key = _resolve_api_key(api_key)  # never in messages or repr
        self._url = self.endpoint + "/chat/completions"
        self._start_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._reset_loop_state()

    def _reset_loop_state(self) -> None:
        # Everything below belongs to one event loop; rebuilt if reopened after close().
        self._aiohttp = None
        self._session = None
        self._sem: asyncio.Semaphore | None = None
        self._ready_lock: asyncio.Lock | None = None
        self._ready = False
        # The breaker's evidence: when a request last succeeded, and how many
        # attempts have failed with a retryable error since.
        self._last_success = 0.0
        self._failed_in_a_row = 0

    def __repr__(self) -> str:
        return (
            f"OpenAIServerBackend(endpoint={self.endpoint!r}, model={self._model!r}, "
            f"max_in_flight={self.max_in_flight})"
        )

    @property
    def model(self) -> str | None:
        return self._model

    @property
    def description(self) -> str:
        if self._model is None:
            try:
                self._run(self._ensure_ready())
            except LocalizeError:
                pass  # generate() will raise it; a summary line should not
        return f"vllm server {self.endpoint} model {self._model or '(unknown)'}"

    @property
    def model_id(self) -> str:
        # The served model name (as given, or as GET /models names it), not the
        # endpoint: the same model behind another URL reuses the translation store.
        if self._model is None:
            self.load()
        return f"vllm:{self._model}"

    # -- sync facade -------------------------------------------------------

    def load(self) -> None:
        self._run(self._ensure_ready())

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: OnResult | None = None
    ) -> list[Generation]:
        requests = list(requests)
        if not requests:
            return []
        return self._run(self._batch(requests, on_result))

    def close(self) -> None:
        with self._start_lock:
            loop, thread, session = self._loop, self._thread, self._session
            self._loop = self._thread = None
        if loop is None:
            return
        if session is not None:
            try:
                asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=5)
            except Exception:
                pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()
        self._reset_loop_state()

    def _run(self, coro):
        """Run `coro` on the private loop and wait for it from the calling thread."""
        try:
            aiohttp = _import_aiohttp()
        except MissingDependency:
            coro.close()
            raise
        with self._start_lock:
            if self._thread is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="localize-vllm-client", daemon=True
                )
                self._thread.start()
            self._aiohttp = aiohttp
            loop = self._loop
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("generate() cannot be called from on_result")
        fut = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return fut.result()
        except BaseException:
            fut.cancel()  # Ctrl-C: stop the batch instead of leaving it running
            raise

    # -- on the loop thread ------------------------------------------------

    def _unavailable(self, reason: str) -> BackendUnavailable:
        return BackendUnavailable(
            self._redact(
                f"cannot reach vLLM server at {self.endpoint}: {reason}; "
                f"start it with: vllm serve {self._model or '<model>'} (see README)"
            )
        )

    def _stopped_answering(self, reason: str) -> BackendUnavailable:
        return BackendUnavailable(
            self._redact(f"vLLM server at {self.endpoint} stopped answering: {reason}; check the server and its log")
        )

    def _redact(self, text: str) -> str:
        # Servers may echo request headers in error bodies.
        return text.replace(self._api_key, "***") if self._api_key else text

    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        if self._ready_lock is None:  # single-threaded loop: no race here
            self._ready_lock = asyncio.Lock()
        async with self._ready_lock:
            if self._ready:
                return
            aiohttp = self._aiohttp
            if self._session is None:
                _raise_fd_limit(self.max_in_flight)
                headers = {"Content-Type": "application/json"}
                if self._api_key:
                    headers["Authorization"] = f"Bearer {self._api_key}"
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=self.max_in_flight),
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(
                        total=self.timeout, sock_connect=min(self.timeout, _CONNECT_TIMEOUT)
                    ),
                )
                self._sem = asyncio.Semaphore(self.max_in_flight)
            await self._discover()
            self._ready = True

    async def _discover(self) -> None:
        """GET /models once: proves the server is up and names the model if unset."""
        aiohttp = self._aiohttp
        limit = min(self.timeout, _DISCOVERY_TIMEOUT)
        try:
            reply = await self._send(
                "GET", self.endpoint + "/models", timeout=aiohttp.ClientTimeout(total=limit, sock_connect=limit),
                refused_is_final=True,
            )
        except (_Refused, _ServerGone) as exc:
            raise self._unavailable(str(exc)) from None
        if reply.status is None:
            raise self._unavailable(reply.error)
        status, raw = reply.status, reply.raw
        if status in (401, 403):
            raise BackendUnavailable(
                self._redact(
                    f"vLLM server at {self.endpoint} rejected the API key "
                    f"({_http_error(status, raw)}); set LOCALIZE_API_KEY"
                )
            )
        if self._model is not None:
            return  # reachable is all we need; some servers lack /models
        try:
            if status != 200:
                raise ValueError
            self._model = json.loads(raw)["data"][0]["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BackendUnavailable(
                self._redact(
                    f"vLLM server at {self.endpoint} names no model at GET /models "
                    f"({_http_error(status, raw)}); give the model name explicitly"
                )
            ) from None

    async def _batch(self, requests: list[GenerationRequest], on_result) -> list[Generation]:
        await self._ensure_ready()
        results: list[Generation | None] = [None] * len(requests)
        todo = iter(enumerate(requests))

        # A pool of workers, not one task per request: 100k queued tasks would
        # cost memory for nothing while only max_in_flight can run.
        async def worker():
            for i, req in todo:
                gen = await self._one(req)
                results[i] = gen
                if on_result is not None:
                    on_result(i, gen)

        workers = [
            asyncio.ensure_future(worker())
            for _ in range(min(self.max_in_flight, len(requests)))
        ]
        try:
            await asyncio.gather(*workers)
        except BaseException as exc:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if isinstance(exc, _ServerGone):
                raise self._stopped_answering(str(exc)) from None
            raise
        return results  # type: ignore[return-value]

    async def _one(self, request: GenerationRequest) -> Generation:
        payload = build_chat_payload(request, self._model)
        body = json.dumps(payload, ensure_ascii=False).encode()  # once; retries reuse it
        reply = await self._send("POST", self._url, body)
        if reply.status is None:
            return Generation(None, error=reply.error, attempts=reply.attempts)
        if reply.status in (401, 403):  # the key was revoked or rotated mid-run: every request would fail
            raise _ServerGone(f"the server now refuses the API key: {_http_error(reply.status, reply.raw)}")
        if reply.status != 200:  # other 4xx: this request is wrong; retrying won't help
            error = self._redact(_http_error(reply.status, reply.raw))
            return Generation(None, error=error, attempts=reply.attempts)
        gen = _parse_completion(reply.raw)
        gen.attempts = reply.attempts
        return gen

    async def _send(self, method: str, url: str, body: bytes | None = None, *, timeout=None,
                    refused_is_final: bool = False) -> _Reply:
        """One HTTP request with up to `max_retries` retries on 429, 5xx, connection
        errors and timeouts. Returns the first other answer, or a _Reply with
        status None once the retries are used up.

        The breaker: a request that used up its retries while no request
        anywhere succeeded since its first attempt, with at least `trip_after`
        failed attempts in a row, raises _ServerGone. A server that is down
        would otherwise cost every remaining row a full retry span and leave
        thousands of failed rows; under partial faults other requests keep
        succeeding and the breaker never trips.
        """
        aiohttp = self._aiohttp
        extra = {"timeout": timeout} if timeout is not None else {}
        error, retry_after, started = "not attempted", None, None
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(backoff_delay(attempt - 1, self.backoff_base, retry_after))
                retry_after = None
            try:
                async with self._sem:
                    started = started or time.monotonic()
                    async with self._session.request(method, url, data=body, **extra) as resp:
                        status, raw = resp.status, await resp.read()
                        retry_after = resp.headers.get("Retry-After")
            except aiohttp.ClientConnectorError as exc:  # refused, unknown host: nothing listens
                if refused_is_final:
                    raise _Refused(f"{type(exc).__name__}: {exc}") from None
                error = f"connection error: {exc}"
            except asyncio.TimeoutError as exc:
                if isinstance(exc, aiohttp.ConnectionTimeoutError):
                    error = "connection error: connect timed out"
                else:  # the server took the request and never answered in time (or hangs)
                    error = f"timed out after {self.timeout:g}s"
            except aiohttp.ClientConnectionError as exc:  # reset, disconnected mid-answer
                error = f"connection error: {exc or type(exc).__name__}"
            except aiohttp.ClientError as exc:  # e.g. a truncated body
                error = f"{type(exc).__name__}: {exc}"
            else:
                if status != 429 and status < 500:
                    if status < 400:
                        self._last_success = time.monotonic()
                        self._failed_in_a_row = 0
                    return _Reply(status, raw, attempt + 1)
                error = _http_error(status, raw)
            self._failed_in_a_row += 1

        if self._last_success < started and self._failed_in_a_row >= self.trip_after:
            raise _ServerGone(
                f"no request succeeded in the last {time.monotonic() - started:.0f} s "
                f"({self._failed_in_a_row} failed attempts in a row, the last: {error})"
            )
        tries = "retry" if self.max_retries == 1 else "retries"
        return _Reply(None, b"", self.max_retries + 1,
                      self._redact(f"{error} (gave up after {self.max_retries} {tries})"))
