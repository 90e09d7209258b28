"""`localize eval`: translation quality that CI can gate on.

scores   corpus BLEU / chrF / chrF++ / TER through sacrebleu, each with its signature
checks   reference-free checks on every row: the checks layer's (localize.checks), one rule per code
gates    thresholds from a TOML file, validated strictly, evaluated to pass/fail
report   JSON, Markdown and a self-contained HTML report
run      inputs (dev set, line files, localized catalog), `--run`, and the whole evaluation

Nothing here imports an engine; sacrebleu, numpy and py3langid load on first use.
"""
