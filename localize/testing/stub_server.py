"""A loopback OpenAI-compatible server that answers instantly, for benchmarks
and tests of everything around the model (client throughput, faults, resume).

It is not a translator: the answer to a chat completion is the product text
found between the prompt's <<< and >>> delimiters, with "[xx] " put before
each text run (xx = the target locale named in the prompt), so an answer is a
pure function of its request, keeps HTML tags, numbers and placeholders, and
is never identical to its source. A follow-up turn (a repair or shorten
request, which carries no <<< >>> block) gets the previous answer back.

    python -m localize.testing.stub_server --port 0      # prints its URL on stdout

`--delay-ms` adds a fixed latency per request (a server doing work);
`--fail-rate` answers that share of requests with HTTP 500 (seeded).
GET /metrics reports requests served and the peak number in flight at once,
which is how a benchmark proves the client kept hundreds of requests open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import subprocess
import sys
from typing import Iterator

_SOURCE = re.compile(r"<<<\n?(.*?)\n?>>>", re.S)
_LOCALE = re.compile(r"\(([a-z]{2,3}(?:-[A-Za-z0-9]+)?)\)")
_TEXT_RUN = re.compile(r"(^|>)([^<]*[^<\s][^<]*)(?=<|$)")


def answer(messages: list[dict]) -> str:
    """The stub's deterministic 'translation' of the last user message."""
    last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    found = _SOURCE.search(last)
    if not found:  # a follow-up turn (repair, shorten): the stub stands by its previous answer
        previous = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "assistant"), None)
        if previous is not None:
            return previous
    source = found.group(1) if found else last
    loc = _LOCALE.search(last[found.end():] if found else last)
    tag = f"[{loc.group(1) if loc else 'xx'}] "
    return _TEXT_RUN.sub(lambda m: m.group(1) + tag + m.group(2).lstrip(), source)


def make_app(delay_ms: float = 0.0, fail_rate: float = 0.0, seed: int = 0):
    from aiohttp import web

    rng = random.Random(seed)
    state = {"requests": 0, "in_flight": 0, "peak_in_flight": 0}

    async def models(_request):
        return web.json_response({"object": "list", "data": [{"id": "stub", "object": "model"}]})

    async def chat(request):
        body = await request.json()
        state["requests"] += 1
        state["in_flight"] += 1
        state["peak_in_flight"] = max(state["peak_in_flight"], state["in_flight"])
        try:
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
        finally:
            state["in_flight"] -= 1
        if fail_rate and rng.random() < fail_rate:
            return web.json_response({"error": {"message": "stub: injected failure"}}, status=500)
        text = answer(body.get("messages", []))
        prompt_tokens = sum(len(m.get("content", "").split()) for m in body.get("messages", []))
        completion_tokens = len(text.split())
        return web.json_response({
            "id": f"stub-{state['requests']}",
            "object": "chat.completion",
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    async def metrics(_request):
        return web.Response(text=(
            f"stub_requests_total {state['requests']}\n"
            f"stub_requests_in_flight {state['in_flight']}\n"
            f"stub_requests_in_flight_peak {state['peak_in_flight']}\n"
        ))

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/metrics", metrics)
    return app


async def _serve(host: str, port: int, **kwargs) -> None:
    from aiohttp import web

    runner = web.AppRunner(make_app(**kwargs), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]
    print(f"http://{host}:{bound}/v1", flush=True)
    await asyncio.Event().wait()


@contextlib.contextmanager
def running_stub_server(*args: str) -> Iterator[str]:
    """Start the stub in a child process; yields its base URL (…/v1)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "localize.testing.stub_server", "--port", "0", *args],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"stub server did not start (exit {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args(argv)
    try:
        asyncio.run(_serve(a.host, a.port, delay_ms=a.delay_ms, fail_rate=a.fail_rate, seed=a.seed))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
