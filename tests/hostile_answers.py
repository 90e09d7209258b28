"""Every way a server's answer can be wrong, generated from a seeded RNG.

tests/fault_proxy.py serves these in place of (or made from) the real
server's answer, and the property tests draw the RNG from hypothesis, so a
failure shrinks to a small case. Each kind says what the client must make of it:

- FAILING kinds: the segment fails (its cell empty, a line in the errors file), the run goes on;
- CLEANED kinds: the answer is usable once cleaned, and the cell is exactly the real answer;
- `status`: any HTTP status with any body (JSON error, HTML page, text, nothing).

Every body a server writes may repeat the request's headers (`echo`, the
Authorization header included), as some gateways do: the key must come out
redacted wherever the text goes.
"""

from __future__ import annotations

import json
import random

from localize.backends.openai_wire import MAX_ANSWER_BYTES, MAX_CHARS_PER_TOKEN

_NASTY = ["\x00", "\x07", "\x1b[31m", "\x1b[0m", "\x1b]0;title\x07", "\x08", "\x7f", "\x85", "\x9b2J",
          "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff", "\ufdd0", "\x0b", "\x0c", "\x1b"]


def json_value(rng: random.Random, depth: int = 0):
    """Any JSON value, nested a little: what a broken server may put where text belongs."""
    pick = rng.randrange(8 if depth < 3 else 5)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 7, 2**31, -(2**63), 10**30, rng.randrange(-1000, 1000)])
    if pick == 3:
        return rng.choice([0.5, -1e308, 1e-5, 3.0])
    if pick == 4:
        chars = ["a", "7", " ", "é", "\n", "\x00", "\\", '"', "\ud800"]
        return "".join(rng.choice(chars) for _ in range(rng.randrange(6)))
    if pick == 5:  # OpenAI "content parts", or any list
        if rng.random() < 0.5:
            return [{"type": "text", "text": "Bufanda roja"}]
        return [json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["text", "content", "a", ""]): json_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def _non_text(rng: random.Random):
    value = json_value(rng)
    while isinstance(value, str):
        value = json_value(rng)
    return value


def _no_content(value):
    """A message-like value that holds no text content (a dict may hold any other key)."""
    if isinstance(value, dict):
        value.pop("content", None)
    return value


def _dump(data) -> bytes:
    # ensure_ascii: a lone surrogate travels as a \ud800 escape, as a JSON server writes it.
    return json.dumps(data).encode()


def _with_content(answer: dict, content) -> dict:
    answer = json.loads(json.dumps(answer))
    answer["choices"][0]["message"]["content"] = content
    return answer


def _html(echo: str) -> bytes:
    return (f"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
            f"<pre>{echo}</pre></body></html>").encode()


# -- failing kinds: (rng, answer, max_tokens, echo) -> (status, content type, body) ------------------


def content_not_text(rng, answer, max_tokens, echo):
    content = _non_text(rng)
    if isinstance(content, dict) and rng.random() < 0.5:
        content["headers"] = echo
    body = _with_content(answer, content)
    if rng.random() < 0.2:
        del body["choices"][0]["message"]["content"]
    return 200, "application/json", _dump(body)


def content_null(rng, answer, max_tokens, echo):
    return 200, "application/json", _dump(_with_content(answer, None))


def no_choices(rng, answer, max_tokens, echo):
    shapes = [
        lambda: {**answer, "choices": []},
        lambda: {**answer, "choices": json_value(rng)},
        lambda: {k: v for k, v in answer.items() if k != "choices"},
        lambda: {**answer, "choices": [_non_text(rng)]},
        lambda: {**answer, "choices": [{"message": _no_content(_non_text(rng)), "finish_reason": "stop"}]},
        lambda: _non_text(rng),
        lambda: {"error": {"message": f"upstream failed; headers {echo}"}},
    ]
    return 200, "application/json", _dump(rng.choice(shapes)())


def lone_surrogate(rng, answer, max_tokens, echo):
    text = answer["choices"][0]["message"]["content"]
    at = rng.randrange(len(text) + 1)
    surrogate = chr(rng.choice([0xD800, 0xDBFF, 0xDC00, 0xDFFF, rng.randrange(0xD800, 0xE000)]))
    return 200, "application/json", _dump(_with_content(answer, text[:at] + surrogate + text[at:]))


def truncated(rng, answer, max_tokens, echo):
    body = _dump({**answer, "echo": echo})
    return 200, "application/json", body[: rng.randrange(len(body))]


def html_page(rng, answer, max_tokens, echo):
    return 200, rng.choice(["text/html", "application/json"]), _html(echo)


def not_utf8(rng, answer, max_tokens, echo):
    body = _dump(answer)
    at = rng.randrange(len(body))
    return 200, "application/json", body[:at] + bytes([rng.choice([0xFF, 0xC3, 0x80, 0xED])]) + body[at:]


def deep(rng, answer, max_tokens, echo):
    depth = rng.choice([10_000, 100_000])
    return 200, "application/json", b'{"choices": ' + b"[" * depth + b"]" * depth + b"}"


def huge_body(rng, answer, max_tokens, echo):
    pad = "x" * (MAX_ANSWER_BYTES + rng.randrange(1, 2**20))
    return 200, "application/json", _dump({**answer, "padding": pad})


def too_long(rng, answer, max_tokens, echo):
    text = answer["choices"][0]["message"]["content"]
    times = MAX_CHARS_PER_TOKEN * max_tokens // max(len(text), 1) + 1 + rng.randrange(50)
    return 200, "application/json", _dump(_with_content(answer, (text + " ") * times))


FAILING = {f.__name__: f for f in (content_not_text, content_null, no_choices, lone_surrogate, truncated,
                                   html_page, not_utf8, deep, huge_body, too_long)}

# -- cleaned kinds: usable once cleaned ------------------------------------------------------------


def usage_any(rng, answer, max_tokens, echo):
    usage = {k: json_value(rng) for k in ("prompt_tokens", "completion_tokens", "total_tokens")
             if rng.random() < 0.8}
    body = {**answer, "usage": usage if rng.random() < 0.8 else json_value(rng)}
    if rng.random() < 0.3:
        body["choices"] = [{**answer["choices"][0], "finish_reason": json_value(rng)}]
    return 200, "application/json", _dump(body)


def control_chars(rng, answer, max_tokens, echo):
    """Junk between the characters of the real answer (not inside other junk:
    an ESC inside a terminal sequence starts a new one, and what a terminal
    would then show is no longer the answer)."""
    text = answer["choices"][0]["message"]["content"]
    junk = {rng.randrange(len(text) + 1): rng.choice(_NASTY) for _ in range(rng.randrange(1, 6))}
    # A lone ESC before "[" or "]" starts a sequence of the answer's own characters.
    junk = {i: j for i, j in junk.items() if not (j == "\x1b" and text[i:i + 1] in ("[", "]"))}
    text = "".join(junk.get(i, "") + ch for i, ch in enumerate(text)) + junk.get(len(text), "")
    return 200, "application/json", _dump(_with_content(answer, text))


CLEANED = {f.__name__: f for f in (usage_any, control_chars)}

# -- any status ----------------------------------------------------------------------------------------


def status(rng, answer, max_tokens, echo):
    """Any status but 200, 401 and 403 (a refused key stops the run by design), with any body."""
    code = rng.choice([c for c in range(202, 600) if c not in (401, 403)] + [400, 404, 422, 429, 500, 502, 503])
    bodies = [
        lambda: _dump({"error": {"message": f"rejected; request headers: {echo}", "code": code}}),
        lambda: _dump({"object": "error", "message": f"The model `x` does not exist. {echo}"}),
        lambda: _html(echo),
        lambda: echo.encode(),
        lambda: b"",
        lambda: _dump(json_value(rng)),
    ]
    return code, rng.choice(["application/json", "text/html", "text/plain"]), rng.choice(bodies)()


KINDS = {**FAILING, **CLEANED, "status": status}


def hostile_answer(kind: str, rng: random.Random, answer: dict, max_tokens: int, echo: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of the `kind` made from the server's real `answer`."""
    return KINDS[kind](rng, answer, max_tokens, echo)
