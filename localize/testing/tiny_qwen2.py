"""A tiny random-weight Qwen2 chat model, built in a fraction of a second, for
tests and benchmarks of the vLLM paths on machines with no model hub.

Its answers are garbage (random weights): it proves wiring, never quality. It
is shaped for vLLM's CPU attention, which supports a head dimension of 64 but
crashes on 16 ("Unsupported CPU attention configuration", ../shared/MODELS.md):
hidden_size 128 over 2 attention heads, 1 key/value head. The tokenizer is a
byte-level BPE trained on a few product texts (any Unicode text encodes), with
Qwen's chat markers and chat template, so /v1/chat/completions and
`vllm.LLM.chat` work as with a real Qwen model.

Needs `tokenizers`, `transformers` and `torch` (all vLLM dependencies).
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CORPUS = [
    "Merino Base Layer Crew for Men, Black. Waterproof hiking jacket with taped seams.",
    "Chaqueta impermeable de senderismo. Veste de randonnée imperméable. Su geçirmez yürüyüş ceketi.",
    "<p>Soft, warm and <strong>lightweight</strong>.</p><ul><li>100% merino</li></ul>",
    "Translate the product text into Spanish, French or Turkish. Keep HTML tags and numbers.",
    "Reply with the translation only, between <<< and >>>. Size: 42 EU, 750 ml, 300 lm.",
]


def build_tiny_qwen2(folder: Path, *, vocab_size: int = 600, max_position_embeddings: int = 2048,
                     seed: int = 0) -> Path:
    """Write a tokenizer and a random Qwen2ForCausalLM (~1.5 MB) into `folder`; return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator(_CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE,
        model_max_length=max_position_embeddings,
    )
    tokenizer.save_pretrained(folder)

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tie_word_embeddings=True, torch_dtype="float32",
        # With the usual 0.02 the logits are nearly flat and greedy decoding writes
        # "\n" forever (an empty answer to localize); 0.2 gives varied garbage.
        initializer_range=0.2,
    )
    torch.manual_seed(seed)
    Qwen2ForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder
