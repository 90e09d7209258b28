"""Tests against vLLM itself (a package, so its conftest is not the `conftest` module tests/ imports from)."""
