"""Benchmarks: `make bench` runs them; figures and commands go to bench/RESULTS.md."""
