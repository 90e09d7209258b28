"""In-process vLLM settings and its log redirection, without vLLM installed.

(tests/vllm_real runs the engine itself, in CI's vLLM stage.)
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from localize.backends import create_backend
from localize.backends.engine_log import vllm_logging_env
from localize.backends.vllm_offline import VLLMOfflineBackend
from localize.backends.vllm_settings import OFFLINE_SETTINGS, parse_offline_settings, parse_setting_pairs
from localize.errors import UsageError


def test_every_setting_the_issue_names_is_accepted_with_typed_values():
    settings = parse_offline_settings({
        "tensor_parallel_size": 2, "pipeline_parallel_size": 1, "dtype": "bfloat16", "quantization": "awq",
        "max_model_len": 8192, "gpu_memory_utilization": 0.85, "max_num_seqs": 512, "enable_prefix_caching": True,
    })
    assert settings == {
        "tensor_parallel_size": 2, "pipeline_parallel_size": 1, "dtype": "bfloat16", "quantization": "awq",
        "max_model_len": 8192, "gpu_memory_utilization": 0.85, "max_num_seqs": 512, "enable_prefix_caching": True,
    }


def test_command_line_text_and_vllm_serve_spelling_are_converted():
    assert parse_setting_pairs(["--tensor-parallel-size=4", "enable_prefix_caching=false", "dtype=BFloat16",
                                "gpu-memory-utilization=0.9"]) == {
        "tensor_parallel_size": 4, "enable_prefix_caching": False, "dtype": "bfloat16", "gpu_memory_utilization": 0.9,
    }


def test_unknown_key_is_a_usage_error_naming_the_closest_valid_key():
    with pytest.raises(UsageError, match=r"unknown vLLM setting 'tensor_paralel_size' \(did you mean "
                                         r"'tensor_parallel_size'\?\)"):
        parse_offline_settings({"tensor_paralel_size": 2})
    with pytest.raises(UsageError) as info:
        parse_offline_settings({"colour": "blue"})
    assert "did you mean" not in str(info.value)
    assert all(name in str(info.value) for name in OFFLINE_SETTINGS)


@pytest.mark.parametrize("key, value", [
    ("tensor_parallel_size", 0), ("tensor_parallel_size", "two"), ("tensor_parallel_size", True),
    ("max_model_len", 1.5), ("gpu_memory_utilization", 1.5), ("gpu_memory_utilization", 0),
    ("gpu_memory_utilization", "most"), ("dtype", "int3"), ("enable_prefix_caching", "maybe"),
    ("quantization", ""), ("quantization", 4),
])
def test_wrong_values_are_usage_errors_naming_the_setting(key, value):
    with pytest.raises(UsageError, match=key):
        parse_offline_settings({key: value})


def test_malformed_pair_is_a_usage_error():
    with pytest.raises(UsageError, match="name=value"):
        parse_setting_pairs(["tensor_parallel_size"])


def test_backend_validates_settings_before_vllm_is_needed(tmp_path):
    with pytest.raises(UsageError, match="max_num_seqs"):
        VLLMOfflineBackend("some/model", {"max_num_seq": 8})
    backend = create_backend("vllm-offline", model="some/model", offline_settings={"dtype": "half", "max_num_seqs": 8},
                             engine_log=tmp_path / "v.log")
    assert backend.settings == {"dtype": "half", "max_num_seqs": 8}
    assert backend.log_file == tmp_path / "v.log"
    assert str(tmp_path / "v.log") in backend.description


def test_store_key_holds_the_settings_that_change_text_only():
    plain = VLLMOfflineBackend("m").model_id
    assert VLLMOfflineBackend("m", {"max_num_seqs": 8, "tensor_parallel_size": 2}).model_id == plain
    assert VLLMOfflineBackend("m", {"dtype": "half"}).model_id != plain
    assert VLLMOfflineBackend("m", {"quantization": "awq"}).model_id != VLLMOfflineBackend("m").model_id


def test_default_log_lives_in_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALIZE_CACHE_DIR", str(tmp_path))
    assert VLLMOfflineBackend("m").log_file == tmp_path / "vllm-offline.log"
    assert "its log" not in VLLMOfflineBackend("m", verbose=True).description


_REDIRECTED_RUN = r"""
import os, subprocess, sys
from localize.backends.engine_log import output_to
print("before", file=sys.stderr, flush=True)
with output_to(sys.argv[1]):
    # A child started meanwhile keeps the redirected descriptors, as vLLM's engine process does.
    subprocess.run([sys.executable, "-c", "import os; os.write(2, b'child err\\n'); print('child out')"], check=True)
    os.write(2, b"parent fd write\n")
    print("parent print", file=sys.stderr)
    print("parent stdout")
print("after", file=sys.stderr, flush=True)
print("after stdout")
"""


def test_output_to_catches_child_processes_and_c_level_writes(tmp_path):
    # In a child process of its own: pytest replaces sys.stderr, the CLI does not.
    log = tmp_path / "engine.log"
    proc = subprocess.run([sys.executable, "-c", _REDIRECTED_RUN, str(log)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, check=True)
    assert proc.stderr.splitlines() == ["before", "after"]
    assert proc.stdout.splitlines() == ["after stdout"]
    assert log.read_text().splitlines() == ["child err", "child out", "parent fd write", "parent print",
                                            "parent stdout"]


def test_logging_env_points_vllm_logging_at_the_file(tmp_path):
    import json
    import logging.config

    log = tmp_path / "v.log"
    env = vllm_logging_env(log)
    config = json.loads(open(env["VLLM_LOGGING_CONFIG_PATH"]).read())
    logging.config.dictConfig(config)
    logger = logging.getLogger("vllm.engine.test")
    logger.info("engine ready")
    for handler in logging.getLogger("vllm").handlers:
        handler.flush()
        handler.close()
    logging.getLogger("vllm").handlers.clear()
    assert "engine ready" in log.read_text()
    assert env["VLLM_CONFIGURE_LOGGING"] == "1"


def test_a_failed_load_names_the_root_cause_from_the_log(tmp_path):
    from localize.backends.vllm_offline import VLLMOfflineBackend

    log = tmp_path / "v.log"
    log.write_text("INFO starting\nTraceback (most recent call last):\n  File x\n"
                   "ValueError: Available memory on node 0 (13.71/17.34 GiB) is less than desired\n"
                   "ERROR EngineCore failed to start.\n")
    backend = VLLMOfflineBackend("m", log_file=log)
    message = backend._load_failure(RuntimeError("Engine core initialization failed. See root cause above."))
    assert message == (f"vLLM could not load m: Engine core initialization failed. See root cause above.; "
                       f"ValueError: Available memory on node 0 (13.71/17.34 GiB) is less than desired "
                       f"(details in {log})")
