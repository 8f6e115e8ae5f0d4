"""Benchmarks of the engine's own overhead (``scalpchart bench``)."""
