"""Benchmark scripts: each prints a table and exits non-zero when a ratio goal is missed."""
