"""What goes over the wire to an OpenAI-compatible server, and what is made of its answers.

Pure functions, no I/O. A server's answer is untrusted data: a gateway may put
an HTML page or a truncated body behind a 200, a buggy server may send
`content` as a number, a list or an object, `usage` fields as strings, text
with lone surrogates, or megabytes for a two-word title. Every one of those
becomes a failed Generation with one line saying what was wrong (the segment
goes to the errors file and a rerun asks again); none raises, so one answer
never ends a run.
"""

from __future__ import annotations

import json
import re
from typing import Callable

from localize.backends.base import Generation, GenerationRequest

# A whole answer body is never read past this: the longest answer localize asks
# for (4,096 tokens) is well under 100 KB of JSON even with every character
# \\u-escaped. What is bigger is not an answer to our request.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
# A token is 3-5 characters of prose; runs of spaces or dashes can make a
# token longer, never this long on average. More characters than this per
# requested token means the server ignored max_tokens (or is not a model).
MAX_CHARS_PER_TOKEN = 8
_EXCERPT_CHARS = 200
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

Redact = Callable[[str], str]


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


def excerpt(raw: bytes | str, redact: Redact, limit: int = _EXCERPT_CHARS) -> str:
    """A short, one-line, printable piece of server text for an error message.
    Redacted before it is cut, so a key cut in half is never written."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = redact(_LONE_SURROGATE.sub("\ufffd", text))
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def http_error(status: int, raw: bytes, redact: Redact) -> str:
    """`HTTP 400: <message>` from an OpenAI-style (or older vLLM-style) error body."""
    msg = None
    try:
        data = json.loads(raw)
        err = data.get("error", data) if isinstance(data, dict) else None
        msg = err.get("message") if isinstance(err, dict) else err
    except (ValueError, RecursionError):
        pass
    if not isinstance(msg, str) or not msg.strip():
        msg = raw.decode("utf-8", "replace").strip() or "(empty body)"
    return f"HTTP {status}: {excerpt(msg, redact, 500)}"


class MalformedAnswer(ValueError):
    """A 200 answer that holds no usable text; the message says what was wrong."""


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string"


def _count(value) -> int:
    """A usage count as the server should have sent it, else 0 (it only feeds statistics)."""
    return value if type(value) is int and 0 <= value < 2**31 else 0


def _answer_text(raw: bytes, redact: Redact) -> tuple[str, dict, dict]:
    """(content, choice, usage) of a chat completion, or MalformedAnswer."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise MalformedAnswer("JSON nested too deeply") from None
    except ValueError:
        raise MalformedAnswer(f"not JSON: {excerpt(raw, redact) or '(empty body)'}") from None
    if not isinstance(data, dict):
        raise MalformedAnswer(f"the answer is {_json_type(data)}, not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedAnswer(f"no choices in the answer: {excerpt(raw, redact)}")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise MalformedAnswer(f"the choice has no message: {excerpt(raw, redact)}")
    content = message.get("content")
    if content is None:
        reason = choice.get("finish_reason")
        why = f" (finish_reason {excerpt(reason, redact, 40)})" if isinstance(reason, str) else ""
        raise MalformedAnswer(f"the answer has no content{why}")
    if not isinstance(content, str):
        raise MalformedAnswer(f"content is {_json_type(content)}, not text")
    if _LONE_SURROGATE.search(content):
        raise MalformedAnswer("content is not valid Unicode (a lone surrogate)")
    usage = data.get("usage")
    return content, choice, usage if isinstance(usage, dict) else {}


def parse_completion(raw: bytes, *, max_tokens: int | None = None, redact: Redact = lambda s: s) -> Generation:
    """The Generation of a 200 answer: its text, or a failure saying what was wrong with it."""
    try:
        content, choice, usage = _answer_text(raw, redact)
    except MalformedAnswer as exc:
        return Generation(None, error=f"malformed response: {exc}")
    if max_tokens and len(content) > MAX_CHARS_PER_TOKEN * max_tokens:
        return Generation(None, error=f"answer longer than requested: {len(content):,} characters "
                                      f"for at most {max_tokens:,} tokens")
    reason = choice.get("finish_reason")
    return Generation(
        redact(content),  # a gateway may echo the request's headers into the text itself
        completion_tokens=_count(usage.get("completion_tokens")),
        prompt_tokens=_count(usage.get("prompt_tokens")),
        finish_reason=reason if isinstance(reason, str) else None,
    )
