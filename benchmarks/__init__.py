"""Benchmarks of the platform spine: bus, codec, vault, state store, sandbox.

``python -m benchmarks`` (``make bench``) runs them all, prints a table and
writes docs/benchmarks.md. One module per benchmark; each ``measure_*``
function returns :class:`~benchmarks.results.Measurement` rows, each with its
target and the reason for it.
"""
