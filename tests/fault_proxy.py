"""A fault-injecting HTTP proxy on loopback, between localize and a real server.

    with FaultProxy("http://127.0.0.1:PORT", rate=0.05, seed=1) as proxy:
        run localize with --endpoint proxy.url
        proxy.attempts      # how many times each request body arrived

Each request is read in full, then, with probability `rate` (seeded RNG), one
fault is injected instead of forwarding it:

- `429`: Too Many Requests with `Retry-After: <retry_after>`;
- `500`, `503`: an OpenAI-style error body;
- `reset`: the connection is reset (RST) after the request was read, half
  the time after a truncated 200 response had begun;
- `hang`: the request is accepted and never answered, until the client gives up;
- any kind of tests/hostile_answers.py (`HOSTILE`): the request goes to the
  upstream server and its answer comes back made hostile (content as a number,
  a list or an object, usage fields of any type, lone surrogates, control
  characters, truncated JSON, HTML pages, invalid UTF-8, megabytes, answers
  longer than max_tokens allows), or any status code with any body; every
  such body may repeat the request's headers, the API key included.

Everything else goes to the upstream server unchanged and its answer comes
back. The proxy counts requests per body (sha256), the faults it injected and
when each attempt arrived, so a test can check the client's retry cap and
Retry-After on the proxy's own word rather than the client's.

HTTP/1.1 with Content-Length bodies and keep-alive: what aiohttp's client sends.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import random
import socket
import struct
import threading
import time

from hostile_answers import KINDS, hostile_answer  # noqa: E402 - tests/ is on sys.path

FAULTS = ("429", "500", "503", "reset", "hang")
HOSTILE = tuple(KINDS)
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        rate: float,
        *,
        seed: int = 0,
        faults: tuple[str, ...] = FAULTS,
        retry_after: str = "1",
        chat_only: bool = False,
        fail_marker: str | None = None,
        fail_after: int | None = None,
        echo_headers: bool = False,
    ):
        """`upstream`: the real server's base URL (with or without /v1). `chat_only`:
        faults only on chat completions, so discovery (GET /models) always works.
        `fail_marker`: a request body containing it is answered 503 every time.
        `fail_after`: once this many chat requests were forwarded, every request
        faults (a server that goes down mid-run). `echo_headers`: injected error
        bodies repeat the request's headers, as some servers and gateways do."""
        self.upstream = upstream.rstrip("/").removesuffix("/v1")
        self.rate = rate
        self.rng = random.Random(seed)
        self.faults = faults
        self.retry_after = retry_after
        self.chat_only = chat_only
        self.fail_marker = fail_marker.encode() if fail_marker else None
        self.fail_after = fail_after
        self.echo_headers = echo_headers
        self.attempts: collections.Counter[str] = collections.Counter()  # body sha256 -> chat requests seen
        self.injected: collections.Counter[str] = collections.Counter()  # fault -> times injected
        self.arrivals: dict[str, list[tuple[float, str | None]]] = collections.defaultdict(list)
        self.authorization: set[str | None] = set()  # Authorization headers seen
        self.forwarded = 0  # chat requests answered by the upstream server
        self.models_answer: bytes | None = None  # when set, GET /models is answered 200 with these bytes
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server = None
        self._session = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.url = ""

    # -- lifecycle (from the test's thread) ----------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _start(self) -> str:
        import aiohttp

        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=2048)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def _stop(self) -> None:
        self._server.close()
        for writer in list(self._connections):
            writer.close()
        await self._session.close()

    # -- per connection -------------------------------------------------------

    def _decide(self, method: str, path: str, body: bytes) -> str | None:
        fault = self._draw(method, path, body)
        is_chat = method == "POST" and path.endswith("/chat/completions")
        return None if fault in KINDS and not is_chat else fault  # hostile answers are chat answers

    def _draw(self, method: str, path: str, body: bytes) -> str | None:
        is_chat = method == "POST" and path.endswith("/chat/completions")
        if is_chat and self.fail_marker and self.fail_marker in body:
            return "503"
        if self.chat_only and not is_chat:
            return None
        if self.fail_after is not None and self.forwarded >= self.fail_after:
            return self.rng.choice(self.faults)
        if self.rate and self.rng.random() < self.rate:
            return self.rng.choice(self.faults)
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.authorization.add(headers.get("authorization"))
                fault = self._decide(method, path, body)
                is_chat = method == "POST" and path.endswith("/chat/completions")
                if is_chat:
                    digest = hashlib.sha256(body).hexdigest()
                    self.attempts[digest] += 1
                    self.arrivals[digest].append((time.monotonic(), fault))
                if fault is not None:
                    self.injected[fault] += 1
                if fault == "reset":
                    if self.rng.random() < 0.5:  # a 200 that breaks off mid-body
                        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: 400\r\n\r\n{\"choices\": [")
                        await writer.drain()
                    _reset(writer)
                    return
                if fault == "hang":  # never answer; wait until the client closes
                    await reader.read()
                    return
                if fault in KINDS:
                    await self._hostile(writer, fault, method, path, headers, body)
                    continue
                if fault is not None:
                    status = int(fault)
                    extra = {"Retry-After": self.retry_after} if status == 429 else {}
                    message = f"fault proxy: injected {status}"
                    if self.echo_headers:
                        message += f"; request headers: {headers}"
                    payload = json.dumps({"error": {"message": message}}).encode()
                    await _respond(writer, status, payload, "application/json", extra)
                    continue
                if self.models_answer is not None and path.endswith("/models"):
                    await _respond(writer, 200, self.models_answer, "application/json")
                    continue
                await self._forward(writer, method, path, headers, body)
                self.forwarded += is_chat
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _forward(self, writer, method: str, path: str, headers: dict, body: bytes) -> None:
        status, raw, ctype = await self._upstream(method, path, headers, body)
        await _respond(writer, status, raw, ctype)

    async def _upstream(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, bytes, str]:
        keep = {k: v for k, v in headers.items() if k in ("content-type", "authorization")}
        async with self._session.request(method, self.upstream + path, data=body or None, headers=keep) as resp:
            raw = await resp.read()
            return resp.status, raw, resp.headers.get("Content-Type", "application/json")

    async def _hostile(self, writer, kind: str, method: str, path: str, headers: dict, body: bytes) -> None:
        """The upstream's real answer to this request, made hostile (tests/hostile_answers.py)."""
        answer, max_tokens = {}, 512
        if kind != "status":
            _, raw, _ = await self._upstream(method, path, headers, body)
            answer = json.loads(raw)
            max_tokens = json.loads(body).get("max_tokens") or max_tokens
        # Authorization first, so even an excerpt of the echo carries the key.
        echo = f"request headers: { {'authorization': headers.get('authorization'), **headers} }"
        status, ctype, payload = hostile_answer(kind, self.rng, answer, max_tokens, echo)
        await _respond(writer, status, payload, ctype)


async def _respond(writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str, extra: dict | None = None):
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (extra or {}).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, not a FIN: SO_LINGER with a zero timeout."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
