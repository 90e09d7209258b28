"""Product text is data: keep it from steering the model.

A catalog cell can carry text written by someone else (a supplier feed, a
marketplace import, a scraped description): "ignore previous instructions",
fake chat-role tags, a hidden HTML comment for the model. Before the prompt,
`defuse` breaks chat-template control tokens in product text
(`<|im_start|>system`, `[INST]`) with an invisible word joiner, because
llama.cpp, vLLM and transformers tokenize message content with special-token
parsing on, so the literal text would become a real system turn (llama.cpp
issue #26532). Our own `<<<`/`>>>` delimiters are broken the same way, and
invisible Unicode tag characters ("ASCII smuggling") are dropped. The prompt
also says the text is data. `strip_hidden` takes what the model echoes of it
back out of its answer.

What a steered model writes is kept out of the shop by the checks layer
(localize.checks: new markup, links, codes, prompt echo, length, language;
`localize.checks.vetting.vet` applies the policy).
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"  # invisible, no width: splits a special token without changing what a person reads
# Chat-template control tokens: ChatML/Qwen/Llama 3/Phi `<|...|>`, Llama 2/Mistral `[INST]` and `<<SYS>>`,
# Gemma `<start_of_turn>`. (`<s>` is left alone: it is also HTML's strikethrough tag.)
_CONTROL_TOKEN = re.compile(
    r"<\|[A-Za-z0-9_.:/-]{0,40}\|?>|\[/?(?:INST|SYS|AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS)\]"
    r"|<</?SYS>>|</?(?:start_of_turn|end_of_turn|think|tool_call)>",
    re.I,
)
_DELIMITER = re.compile(r"<<<|>>>")
# Unicode tag characters: invisible in a shop, read as ASCII by some models.
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
# Bidi overrides and isolates can make a text read differently from how it is stored.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def defuse(text: str) -> str:
    """Product text as it goes into a prompt: control tokens and our delimiters broken, tag characters dropped."""
    text = _TAG_CHARS.sub("", text)
    text = _CONTROL_TOKEN.sub(lambda m: m.group(0)[0] + WORD_JOINER + m.group(0)[1:], text)
    return _DELIMITER.sub(lambda m: m.group(0)[0] + WORD_JOINER + m.group(0)[1:], text)


def strip_hidden(output: str, source: str) -> tuple[str, bool]:
    """Remove word joiners (ours, echoed back), tag characters and bidi controls the source did not have.
    Returns the text and whether anything but our word joiners was removed."""
    hidden = False
    if WORD_JOINER in output and WORD_JOINER not in source:
        output = output.replace(WORD_JOINER, "")
    for pattern in (_TAG_CHARS, _BIDI):
        if pattern.search(output) and not pattern.search(source):
            output, hidden = pattern.sub("", output), True
    return output, hidden
