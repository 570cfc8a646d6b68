"""Benchmarks: run against a real server, not part of the test suite (see the Makefile's bench)."""
