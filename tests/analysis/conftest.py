"""Fixtures of the transport-analysis tests live in tests/conftest.py (shared with tests/cli)."""
