"""Settings the vLLM fixtures and tests share (a module of its own: `conftest`
is a name two folders of tests use)."""

SERVED_NAME = "tiny-qwen2"
# Short, so a prompt longer than the context is cheap to build; long enough for localize's prompts.
MAX_MODEL_LEN = 2048
