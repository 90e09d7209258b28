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
BackendUnavailable rather than failing every remaining row. A server that
answers but never usefully (a wrong model name: 404 on every chat; 400 on
every request; no content anywhere) trips a second breaker (breakers.py).

Answers are untrusted: openai_wire.py turns each into a text or a failure,
and every server text is redacted (redaction.py) before it goes anywhere.

aiohttp is imported lazily so `localize --help` stays fast.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import NamedTuple, Sequence

from localize.backends.base import Backend, Generation, GenerationRequest, OnResult
from localize.backends.breakers import NOTHING_USABLE_AFTER, DownBreaker, NothingUsable, ServerGone, UselessBreaker
from localize.backends.http_retry import backoff_delay, probe, raise_fd_limit, read_bounded, retryable
from localize.backends.openai_wire import MAX_ANSWER_BYTES, build_chat_payload, http_error, parse_completion
from localize.backends.redaction import API_KEY_VARS, redact, redact_api_keys, resolve_api_key
from localize.errors import BackendUnavailable, LocalizeError, MissingDependency

# Public names callers have always imported from here.
__all__ = ["API_KEY_VARS", "DEFAULT_ENDPOINT", "NOTHING_USABLE_AFTER", "OpenAIServerBackend", "backoff_delay",
           "build_chat_payload", "probe", "redact_api_keys"]

DEFAULT_ENDPOINT = "http://127.0.0.1:8000/v1"

_CONNECT_TIMEOUT = 10.0  # a blackholed host fails in seconds, not `timeout` minutes
_DISCOVERY_TIMEOUT = 10.0


def _import_aiohttp():
    try:
        import aiohttp
    except ImportError:
        raise MissingDependency("aiohttp", "vllm") from None
    return aiohttp


class _Refused(Exception):
    """Nothing accepts connections at the endpoint (discovery does not retry that)."""


class _Reply(NamedTuple):
    status: int | None  # None: every attempt failed with a retryable error
    raw: bytes
    attempts: int
    error: str | None = None  # with a status: the answer could not be read (too large)


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
        self._api_key = resolve_api_key(api_key)  # never in messages or repr
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
        self._down = DownBreaker(self.trip_after)  # breakers.py: when the run stops
        self._useless = UselessBreaker()

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

    def _no_usable_answer(self, reason: str) -> BackendUnavailable:
        return BackendUnavailable(
            self._redact(
                f"vLLM server at {self.endpoint} gave no usable answer: {reason}; "
                f"check the model name ({self._model or 'none given'}) and the server's log"
            )
        )

    def _redact(self, text: str) -> str:
        # Servers and gateways may echo request headers in any answer.
        return redact(text, (self._api_key,))

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
                raise_fd_limit(self.max_in_flight)
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
        except (_Refused, ServerGone) as exc:
            raise self._unavailable(str(exc)) from None
        if reply.status is None:
            raise self._unavailable(reply.error)
        status, raw = reply.status, reply.raw
        if status in (401, 403):
            raise BackendUnavailable(
                self._redact(
                    f"vLLM server at {self.endpoint} rejected the API key "
                    f"({http_error(status, raw, self._redact)}); set LOCALIZE_API_KEY"
                )
            )
        if self._model is not None:
            return  # reachable is all we need; some servers lack /models
        try:
            if status != 200 or reply.error:
                raise ValueError
            model = json.loads(raw)["data"][0]["id"]
            # The name goes into messages, the summary and the store's keys: one printable line, no key.
            if not (isinstance(model, str) and model.strip() and model.isprintable() and self._redact(model) == model):
                raise ValueError
            self._model = model
        except (ValueError, KeyError, IndexError, TypeError, RecursionError):
            raise BackendUnavailable(
                self._redact(
                    f"vLLM server at {self.endpoint} names no model at GET /models "
                    f"({reply.error or http_error(status, raw, self._redact)}); give the model name explicitly"
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
            self._useless.judge_batch(results)
        except BaseException as exc:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if isinstance(exc, ServerGone):
                raise self._stopped_answering(str(exc)) from None
            if isinstance(exc, NothingUsable):
                raise self._no_usable_answer(str(exc)) from None
            raise
        return results  # type: ignore[return-value]

    async def _one(self, request: GenerationRequest) -> Generation:
        payload = build_chat_payload(request, self._model)
        try:
            body = json.dumps(payload, ensure_ascii=False).encode()  # once; retries reuse it
        except UnicodeEncodeError:
            return Generation(None, error="the request holds text that is not valid Unicode (a lone surrogate)")
        reply = await self._send("POST", self._url, body)
        if reply.status is None:  # retries used up: the DownBreaker's business (in _send)
            return Generation(None, error=reply.error, attempts=reply.attempts)
        if reply.status in (401, 403):  # the key was revoked or rotated mid-run: every request would fail
            raise ServerGone(f"the server now refuses the API key: {http_error(reply.status, reply.raw, self._redact)}")
        if reply.error:
            gen = Generation(None, error=reply.error)
        elif reply.status != 200:  # other 4xx: this request is wrong; retrying won't help
            gen = Generation(None, error=http_error(reply.status, reply.raw, self._redact))
        else:
            gen = parse_completion(reply.raw, max_tokens=request.max_tokens, redact=self._redact)
        gen.attempts = reply.attempts
        self._useless.judge(gen)
        return gen

    async def _send(self, method: str, url: str, body: bytes | None = None, *, timeout=None,
                    refused_is_final: bool = False) -> _Reply:
        """One HTTP request with up to `max_retries` retries on 429, 5xx, connection
        errors and timeouts. Returns the first other answer, or a _Reply with
        status None once the retries are used up, unless the DownBreaker trips.
        """
        aiohttp = self._aiohttp
        # No redirects: a gateway's 3xx is not followed anywhere with our key.
        extra = {"timeout": timeout, "allow_redirects": False} if timeout is not None else {"allow_redirects": False}
        error, retry_after, started = "not attempted", None, None
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(backoff_delay(attempt - 1, self.backoff_base, retry_after))
                retry_after = None
            try:
                async with self._sem:
                    started = started or time.monotonic()
                    async with self._session.request(method, url, data=body, **extra) as resp:
                        status = resp.status
                        raw, complete = await read_bounded(resp, MAX_ANSWER_BYTES)
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
                if not retryable(status):
                    if status < 400:
                        self._down.succeeded()
                    too_large = None if complete or status != 200 else (
                        f"answer larger than {MAX_ANSWER_BYTES // 2**20} MB, not read")
                    return _Reply(status, raw, attempt + 1, too_large)
                error = http_error(status, raw, self._redact)
            self._down.failed_attempt()

        self._down.gave_up(started, error)
        tries = "retry" if self.max_retries == 1 else "retries"
        return _Reply(None, b"", self.max_retries + 1,
                      self._redact(f"{error} (gave up after {self.max_retries} {tries})"))
