"""The checks layer: every report code, defined once, below both a run
(localize.pipeline) and `localize eval` (localize.eval), so a run's report and
an evaluation of the same output give the same verdict per code.

registry     every code: description, withheld or not, hard or not, its function
pair         a (source, output) pair and its shared views (plain text, "is it HTML?")
structure    empty output, tag skeleton, numbers, market length limit, copy of the source
content      units, model numbers and SKUs, URLs kept as written
markup       what markup a text holds (localize's tokenizer)
html_safety  new markup (two parsers) and the sanitizer
injection    new links, new codes, words of the prompt or of its worked example
length       a length far outside what a translation gives
language     the one rule for `untranslated` and `wrong_language`
langid       the offline language identifier (py3langid)
vetting      a run's call per cell: withhold, sanitize, review

Nothing here imports localize.pipeline, localize.eval or localize.cli
(pyproject.toml's import-linter contracts; tests/test_layers.py).
"""

from localize.checks.html_safety import markup_findings, sanitize_html
from localize.checks.pair import Pair, blocks, is_html, plain_text
from localize.checks.registry import CODES, FILE_CODES, REGISTRY, WITHHELD, Check, describe, check_pair
from localize.checks.structure import problems
from localize.checks.vetting import forget_verdicts, review, validate_output, vet, vet_cell

__all__ = [
    "CODES", "FILE_CODES", "REGISTRY", "WITHHELD", "Check", "Pair", "blocks", "describe", "forget_verdicts",
    "is_html", "markup_findings", "plain_text", "problems", "review", "check_pair", "sanitize_html",
    "validate_output", "vet", "vet_cell",
]
