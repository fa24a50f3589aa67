"""Benchmarks for microweb (run them as scripts; see benchmarks/README.md)."""
